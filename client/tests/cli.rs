//! The `stratus` binary as a requester meets it, without a node: help with examples, the keystore,
//! and everything refused before a connection is even tried (the endpoint given is a port nothing
//! listens on, so a command that got as far as the chain would fail with a connection error
//! instead of the message asserted).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::{
	io::Write,
	path::Path,
	process::{Command, Output, Stdio},
};

const DEAD: &str = "ws://127.0.0.1:9";

fn stratus(keystore: &Path, args: &[&str], stdin: Option<&str>) -> Output {
	let mut child = Command::new(env!("CARGO_BIN_EXE_stratus"))
		.arg("--endpoint")
		.arg(DEAD)
		.arg("--keystore")
		.arg(keystore)
		.args(args)
		.env_remove("STRATUS_ACCOUNT")
		.env("STRATUS_PASSPHRASE", "cli test passphrase")
		.env_remove("STRATUS_ENDPOINTS")
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	let mut input = child.stdin.take().unwrap();
	if let Some(text) = stdin {
		input.write_all(text.as_bytes()).unwrap();
	}
	drop(input);
	child.wait_with_output().unwrap()
}

fn text(out: &Output) -> (String, String) {
	(
		String::from_utf8_lossy(&out.stdout).into_owned(),
		String::from_utf8_lossy(&out.stderr).into_owned(),
	)
}

#[test]
fn help_shows_examples() {
	let dir = tempfile::tempdir().unwrap();
	let out = stratus(&dir.path().join("k.toml"), &["--help"], None);
	let (stdout, _) = text(&out);
	assert!(out.status.success());
	assert!(stdout.contains("Examples:") && stdout.contains("stratus job submit job.toml"));
	let out = stratus(&dir.path().join("k.toml"), &["job", "submit", "--help"], None);
	assert!(text(&out).0.contains("--detach"));
}

#[test]
fn accounts_come_from_stdin_into_a_private_encrypted_keystore() {
	let dir = tempfile::tempdir().unwrap();
	let keystore = dir.path().join("keys");
	let out = stratus(&keystore, &["account", "import", "alice"], Some("//Alice\n"));
	let (stdout, stderr) = text(&out);
	assert!(out.status.success(), "{stderr}");
	let alice = stratus_client::ss58(&stratus_client::account_of(
		&stratus_client::keypair("//Alice").unwrap(),
	));
	assert!(stdout.contains(&alice), "{stdout}");
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		let file = keystore.join("alice.json");
		assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
	}
	// The key file is encrypted (polkadot-js JSON), and exports as it is.
	let out = stratus(&keystore, &["account", "export", "alice"], None);
	let exported = text(&out).0;
	assert!(exported.contains("xsalsa20-poly1305") && !exported.contains("Alice\""), "{exported}");
	let other = dir.path().join("other");
	let file = dir.path().join("alice.json");
	std::fs::write(&file, &exported).unwrap();
	let out = stratus(
		&other,
		&["account", "import", "mine", "--from-json", file.to_str().unwrap()],
		None,
	);
	assert!(text(&out).0.contains(&alice), "{:?}", text(&out));
	let out = stratus(&keystore, &["account", "new", "fresh"], None);
	let (stdout, stderr) = text(&out);
	assert!(out.status.success(), "{stderr}");
	let phrase = stdout.lines().last().unwrap().trim();
	assert_eq!(phrase.split_whitespace().count(), 12, "{stdout}");

	let out = stratus(&keystore, &["--json", "account", "list"], None);
	let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
	assert_eq!(list[0]["name"], "alice");
	assert_eq!(list[0]["address"], alice.as_str());
	assert_eq!(list[1]["name"], "fresh");
	// Secrets never show in the listing.
	assert!(!String::from_utf8_lossy(&out.stdout).contains(phrase));

	let out = stratus(&keystore, &["account", "import", "empty"], Some(""));
	assert!(!out.status.success());
	assert!(text(&out).1.contains("no secret on standard input"));
	let out = stratus(&keystore, &["account", "import", "alice"], Some("//Bob\n"));
	assert!(text(&out).1.contains("already has an account named \"alice\""));

	// An earlier CLI's unencrypted keystore file is refused with the command that migrates it,
	// and migrating it encrypts its accounts and deletes it.
	let legacy = dir.path().join("keystore.toml");
	let bob = stratus_client::ss58(&stratus_client::account_of(
		&stratus_client::keypair("//Bob").unwrap(),
	));
	std::fs::write(
		&legacy,
		format!("[[account]]\nname = \"bob\"\naddress = \"{bob}\"\nsecret = \"//Bob\"\n"),
	)
	.unwrap();
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		std::fs::set_permissions(&legacy, std::fs::Permissions::from_mode(0o600)).unwrap();
	}
	let out = stratus(&legacy, &["account", "list"], None);
	assert!(text(&out).1.contains("stratus account migrate --from"), "{:?}", text(&out));
	let out = stratus(&keystore, &["account", "migrate", "--from", legacy.to_str().unwrap()], None);
	assert!(out.status.success(), "{:?}", text(&out));
	assert!(!legacy.exists());
	let out = stratus(&keystore, &["account", "list"], None);
	assert!(text(&out).0.contains(&bob));
}

#[test]
fn bad_manifests_and_programs_are_refused_before_connecting() {
	let dir = tempfile::tempdir().unwrap();
	let keystore = dir.path().join("keys");
	assert!(stratus(&keystore, &["account", "import", "me"], Some("//Alice\n")).status.success());
	let good = "program = \"0x1111111111111111111111111111111111111111111111111111111111111111\"\n\
	            input = { text = \"hi\" }\nmax_price = \"1000 planck\"\nmax_units = 1000\n\
	            deadline = \"10m\"\n";
	let manifest = dir.path().join("job.toml");
	for (text_of, expected) in [
		(good.replace("max_units = 1000\n", ""), "missing field `max_units`"),
		(format!("{good}max_unit = 5\n"), "unknown field `max_unit`"),
		(good.replace("\"1000 planck\"", "\"lots\""), "is not an amount"),
		(good.replace("\"10m\"", "\"soon\""), "is not a time"),
	] {
		std::fs::write(&manifest, &text_of).unwrap();
		let out = stratus(&keystore, &["job", "submit", manifest.to_str().unwrap()], None);
		let (_, stderr) = text(&out);
		assert!(!out.status.success());
		assert!(stderr.contains(expected), "{text_of}\n→ {stderr}");
		assert!(!stderr.contains("could not connect"), "{stderr}");
	}

	let bad = wat::parse_str(
		r#"(module (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))
		   (memory (export "memory") 1) (func (export "run")))"#,
	)
	.unwrap();
	let file = dir.path().join("bad.wasm");
	std::fs::write(&file, bad).unwrap();
	let out = stratus(&keystore, &["program", "register", file.to_str().unwrap()], None);
	let (_, stderr) = text(&out);
	assert!(!out.status.success());
	assert!(stderr.contains("imports `wasi_snapshot_preview1`.`random_get`"), "{stderr}");
	std::fs::write(&file, "{ \"version\": 1 }").unwrap();
	let out = stratus(&keystore, &["program", "register", file.to_str().unwrap()], None);
	assert!(text(&out).1.contains("is not a CUDA job manifest"), "{}", text(&out).1);
}

#[test]
fn connection_errors_name_the_endpoints_tried() {
	let dir = tempfile::tempdir().unwrap();
	let out = stratus(&dir.path().join("k.toml"), &["job", "status", "1"], None);
	let (_, stderr) = text(&out);
	assert!(!out.status.success());
	assert!(stderr.contains("could not connect") && stderr.contains(DEAD), "{stderr}");
}

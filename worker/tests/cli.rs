//! The `stratus-worker` binary driven as a provider would: `detect`, `init`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{os::unix::fs::PermissionsExt, path::PathBuf, process::Command};

fn worker() -> Command {
	let mut command = Command::new(env!("CARGO_BIN_EXE_stratus-worker"));
	command.env_remove("STRATUS_WORKER_CONFIG");
	command
}

fn tempdir(name: &str) -> PathBuf {
	let dir =
		std::env::temp_dir().join(format!("stratus-worker-cli-{name}-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&dir);
	dir
}

#[test]
fn detect_reports_the_host() {
	let output = worker().arg("detect").output().unwrap();
	assert!(output.status.success());
	let text = String::from_utf8(output.stdout).unwrap();
	assert!(text.starts_with("CPU: "), "{text}");
	assert!(text.contains("GPU"), "{text}");
}

#[test]
fn init_writes_config_and_private_keys_and_never_overwrites() {
	let dir = tempdir("init");
	let config = dir.join("worker.toml");
	let output = worker()
		.args(["--config", config.to_str().unwrap(), "init", "--region", "276"])
		.args(["--endpoint", "ws://127.0.0.1:9944", "--endpoint", "ws://127.0.0.1:9955"])
		.output()
		.unwrap();
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let stdout = String::from_utf8(output.stdout).unwrap();
	assert!(stdout.contains("operator account: "), "{stdout}");
	let text = std::fs::read_to_string(&config).unwrap();
	assert!(text.contains(r#"endpoints = ["ws://127.0.0.1:9944", "ws://127.0.0.1:9955"]"#));
	assert!(text.contains("region = 276"));
	let keys = dir.join("keys.toml");
	assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o600);
	let secrets = std::fs::read_to_string(&keys).unwrap();
	// The secret phrase is nowhere in what the command printed.
	let phrase = secrets.lines().find(|l| l.starts_with("operator")).unwrap();
	let phrase = phrase.split('"').nth(1).unwrap();
	assert!(!stdout.contains(phrase));

	let again = worker().args(["--config", config.to_str().unwrap(), "init"]).output().unwrap();
	assert!(!again.status.success());
	assert!(String::from_utf8_lossy(&again.stderr).contains("pass --force"));
	assert_eq!(std::fs::read_to_string(&keys).unwrap(), secrets);
}

#[test]
fn unknown_commands_and_flags_are_refused() {
	let output = worker().arg("frobnicate").output().unwrap();
	assert!(!output.status.success());
	let output = worker().args(["init", "--region", "many"]).output().unwrap();
	assert!(!output.status.success());
	assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value"));
}

//! The `stratus-worker` binary driven as a provider would: `detect`, `init`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{os::unix::fs::PermissionsExt, path::PathBuf, process::Command};

fn worker() -> Command {
	let mut command = Command::new(env!("CARGO_BIN_EXE_stratus-worker"));
	command.env_remove("STRATUS_WORKER_CONFIG").env_remove("STRATUS_WORKER_SURI");
	command.env("STRATUS_WORKER_PASSPHRASE", "cli test passphrase");
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
fn init_writes_config_and_an_encrypted_worker_key_and_never_overwrites() {
	let dir = tempdir("init");
	let config = dir.join("worker.toml");
	let operator = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
	let output = worker()
		.args(["--config", config.to_str().unwrap(), "init", "--region", "276"])
		.args(["--endpoint", "ws://127.0.0.1:9944", "--endpoint", "ws://127.0.0.1:9955"])
		.args(["--operator", operator])
		.output()
		.unwrap();
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let stdout = String::from_utf8(output.stdout).unwrap();
	assert!(stdout.contains("worker key: ") && stdout.contains(operator), "{stdout}");
	let text = std::fs::read_to_string(&config).unwrap();
	assert!(text.contains(r#"endpoints = ["ws://127.0.0.1:9944", "ws://127.0.0.1:9955"]"#));
	assert!(text.contains("region = 276"));
	assert!(text.contains(&format!("operator = \"{operator}\"")), "{text}");
	let keys = dir.join("worker-key.json");
	assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o600);
	let secrets = std::fs::read_to_string(&keys).unwrap();
	assert!(secrets.contains("xsalsa20-poly1305"), "{secrets}");

	let again = worker().args(["--config", config.to_str().unwrap(), "init"]).output().unwrap();
	assert!(!again.status.success());
	assert!(String::from_utf8_lossy(&again.stderr).contains("pass --force"));
	assert_eq!(std::fs::read_to_string(&keys).unwrap(), secrets);

	// Without a passphrase (none in the environment, and no terminal: a session of its own has
	// no controlling terminal) nothing is written, and the error says where it comes from.
	let fresh = tempdir("init-no-passphrase");
	let mut command = worker();
	command
		.env_remove("STRATUS_WORKER_PASSPHRASE")
		.args(["--config", fresh.join("worker.toml").to_str().unwrap(), "init"])
		.stdin(std::process::Stdio::null());
	// SAFETY: setsid is async-signal-safe and touches no memory of the parent.
	unsafe {
		std::os::unix::process::CommandExt::pre_exec(&mut command, || {
			nix::unistd::setsid().map(drop).map_err(std::io::Error::from)
		});
	}
	let output = command.output().unwrap();
	assert!(!output.status.success());
	assert!(String::from_utf8_lossy(&output.stderr).contains("STRATUS_WORKER_PASSPHRASE"));
	assert!(!fresh.join("worker-key.json").exists());
}

#[test]
fn unknown_commands_and_flags_are_refused() {
	let output = worker().arg("frobnicate").output().unwrap();
	assert!(!output.status.success());
	let output = worker().args(["init", "--region", "many"]).output().unwrap();
	assert!(!output.status.success());
	assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value"));
}

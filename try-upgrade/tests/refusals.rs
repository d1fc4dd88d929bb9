//! What an operator who gets the command wrong sees: a state the tool cannot load (a file that is
//! not a snapshot, a snapshot that is not there, no node at the endpoint) exits with status 2 and
//! says what to check, and a malformed block hash is refused before anything is loaded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn try_upgrade(args: &[&str]) -> Output {
	Command::new(env!("CARGO_BIN_EXE_stratus-try-upgrade"))
		.args(args)
		.output()
		.expect("stratus-try-upgrade runs")
}

fn stderr(output: &Output) -> String {
	String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_file_that_is_not_a_snapshot_exits_2_and_says_what_to_check() {
	let dir = std::env::temp_dir().join(format!("stratus-try-upgrade-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let bad = dir.join("not-a-snapshot");
	std::fs::write(&bad, b"these bytes are not a snapshot").unwrap();
	let output = try_upgrade(&["check", "--snapshot", bad.to_str().unwrap()]);
	std::fs::remove_dir_all(&dir).unwrap();
	assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
	assert!(stderr(&output).contains("could not load the chain's state"), "{}", stderr(&output));
}

#[test]
fn a_snapshot_that_is_not_there_exits_2() {
	let output = try_upgrade(&["check", "--snapshot", "/nonexistent/stratus.snap"]);
	assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
	assert!(stderr(&output).contains("could not load the chain's state"), "{}", stderr(&output));
}

#[test]
fn no_node_at_the_endpoint_exits_2() {
	// Port 9 (discard) on the loopback: nothing listens there.
	let output = try_upgrade(&["check", "--uri", "ws://127.0.0.1:9"]);
	assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
	assert!(stderr(&output).contains("is a node serving JSON-RPC"), "{}", stderr(&output));
}

#[test]
fn a_malformed_block_hash_is_refused_and_named() {
	let output = try_upgrade(&["check", "--at", "0x1234"]);
	assert!(!output.status.success());
	assert!(stderr(&output).contains("32 bytes"), "{}", stderr(&output));
}

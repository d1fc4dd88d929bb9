//! The command line refuses bad input clearly instead of panicking.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{dev_command, free_port, run, Node};
use std::{net::TcpListener, time::Duration};

fn stderr(output: &std::process::Output) -> String {
	String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_refused(output: &std::process::Output, expected: &str) {
	let err = stderr(output);
	assert!(!output.status.success(), "the node accepted it:\n{err}");
	assert!(err.contains(expected), "expected `{expected}` in:\n{err}");
	assert!(!err.contains("panicked"), "the node panicked:\n{err}");
}

/// Runs `stratus-node --dev` to completion with the given ports (free ones where `None`).
fn run_dev_on(
	rpc: Option<u16>,
	p2p: Option<u16>,
	prometheus: Option<u16>,
	extra: &[&str],
) -> std::process::Output {
	let port = |p: Option<u16>| p.unwrap_or_else(free_port);
	dev_command(port(rpc), port(p2p), port(prometheus), extra)
		.output()
		.expect("the node binary runs")
}

/// A listener that holds a port until dropped.
fn occupy(address: &str) -> (TcpListener, u16) {
	let listener = TcpListener::bind(address).unwrap();
	let port = listener.local_addr().unwrap().port();
	(listener, port)
}

#[test]
fn help_lists_the_subcommands() {
	let output = run(&["--help"]);
	assert!(output.status.success());
	let help = String::from_utf8_lossy(&output.stdout);
	for subcommand in ["export-chain-spec", "key", "purge-chain", "--network-backend"] {
		assert!(help.contains(subcommand), "--help does not mention {subcommand}");
	}
	// libp2p is Stratus' default network backend.
	assert!(help.contains("[default: libp2p]"), "{help}");
}

#[test]
fn version_is_printed() {
	let output = run(&["--version"]);
	assert!(output.status.success());
	assert!(String::from_utf8_lossy(&output.stdout).starts_with("stratus-node "));
}

#[test]
fn unknown_chain_name_is_refused() {
	let output = run(&["--chain", "mainnet", "--tmp"]);
	assert_refused(&output, "unknown chain `mainnet`: expected one of dev, local, testnet");
}

#[test]
fn corrupted_chain_spec_file_is_refused() {
	let dir = std::env::temp_dir().join(format!("stratus-cli-test-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let path = dir.join("corrupted.json");
	let exported = run(&["export-chain-spec", "--chain", "local"]);
	assert!(exported.status.success());
	// Cut the spec in half: no longer valid JSON.
	let half = &exported.stdout[..exported.stdout.len() / 2];
	std::fs::write(&path, half).unwrap();
	let output = run(&["--chain", path.to_str().unwrap(), "--tmp"]);
	assert_refused(&output, "cannot load the chain spec");
	std::fs::remove_dir_all(dir).ok();
}

#[test]
fn occupied_rpc_port_is_refused() {
	let (_held, port) = occupy("127.0.0.1:0");
	let output = run_dev_on(Some(port), None, None, &[]);
	assert_refused(&output, "cannot open the JSON-RPC server");
	assert_refused(&output, "Address already in use");
}

#[test]
fn occupied_prometheus_port_is_refused() {
	let (_held, port) = occupy("127.0.0.1:0");
	let output = run_dev_on(None, None, Some(port), &[]);
	assert_refused(&output, "cannot open the Prometheus exporter");
	assert_refused(&output, "--prometheus-port");
}

#[test]
fn occupied_p2p_port_is_refused() {
	let (_held, port) = occupy("0.0.0.0:0");
	let output = run_dev_on(None, Some(port), None, &[]);
	assert_refused(&output, "cannot open the p2p listener");
}

#[test]
fn invalid_flag_value_is_refused() {
	let output = run(&["--rpc-port", "not-a-port", "--dev"]);
	assert_refused(&output, "invalid value 'not-a-port'");
}

#[test]
fn a_grandpa_gossip_duration_out_of_range_is_refused() {
	// Help names it with its default; a timer too short to gossip a vote, or a typo in seconds
	// instead of milliseconds, is refused with the range.
	let help = run(&["--help"]);
	assert!(String::from_utf8_lossy(&help.stdout).contains("--grandpa-gossip-ms <MS>"));
	for value in ["10", "60000", "fast"] {
		let output = run(&["--dev", "--tmp", "--grandpa-gossip-ms", value]);
		assert_refused(&output, &format!("invalid value '{value}' for '--grandpa-gossip-ms <MS>'"));
	}
}

#[test]
fn a_second_node_on_the_same_database_is_refused() {
	let dir = std::env::temp_dir().join(format!("stratus-db-test-{}", std::process::id()));
	let base = dir.to_str().unwrap().to_owned();
	let mut first = Node::start_dev(&["--base-path", &base]);
	first.wait_for(Duration::from_secs(120), "block #1", |n| {
		n.block_number(false).filter(|&b| b >= 1)
	});
	let output = run_dev_on(None, None, None, &["--base-path", &base]);
	assert_refused(&output, "Database file is in use");
	first.stop();
	std::fs::remove_dir_all(dir).ok();
}

#[test]
fn key_subcommands_generate_and_inspect_keys() {
	let output = run(&["key", "generate", "--scheme", "sr25519", "--output-type", "json"]);
	assert!(output.status.success(), "{}", stderr(&output));
	let key: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
	let public = key["publicKey"].as_str().unwrap();
	assert!(public.starts_with("0x") && public.len() == 66, "{key}");

	let output = run(&["key", "inspect", "--output-type", "json", "//Alice"]);
	assert!(output.status.success(), "{}", stderr(&output));
	let alice: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
	assert_eq!(
		alice["publicKey"],
		"0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
	);

	let dir = std::env::temp_dir().join(format!("stratus-key-test-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let file = dir.join("node-key");
	let output = run(&["key", "generate-node-key", "--file", file.to_str().unwrap()]);
	assert!(output.status.success(), "{}", stderr(&output));
	let output = run(&["key", "inspect-node-key", "--file", file.to_str().unwrap()]);
	assert!(output.status.success(), "{}", stderr(&output));
	assert!(String::from_utf8_lossy(&output.stdout).trim().starts_with("12D3KooW"));
	std::fs::remove_dir_all(dir).ok();
}

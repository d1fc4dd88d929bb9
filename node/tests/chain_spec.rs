//! The chain specs committed in `chain-spec/` are exactly what the node exports today.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

fn assert_fresh(chain: &str, raw: bool, file: &str) {
	let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../chain-spec").join(file);
	let committed = std::fs::read_to_string(&path)
		.unwrap_or_else(|e| panic!("{}: {e}; run scripts/export-chain-specs", path.display()));
	let mut args = vec!["export-chain-spec", "--chain", chain];
	if raw {
		args.push("--raw");
	}
	let output = common::run(&args);
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let exported = String::from_utf8(output.stdout).unwrap();
	let committed_json: serde_json::Value = serde_json::from_str(&committed).unwrap();
	let exported_json: serde_json::Value = serde_json::from_str(&exported).unwrap();
	assert!(
		committed_json == exported_json,
		"chain-spec/{file} is stale: the node exports something else. Run scripts/export-chain-specs \
		 and commit the result."
	);
}

#[test]
fn local_testnet_specs_are_fresh() {
	assert_fresh("local", false, "local_testnet.json");
	assert_fresh("local", true, "local_testnet-raw.json");
}

#[test]
fn testnet_specs_are_fresh() {
	assert_fresh("testnet", false, "testnet.json");
	assert_fresh("testnet", true, "testnet-raw.json");
}

#[test]
fn committed_raw_spec_loads() {
	// The raw spec a validator would download must be loadable as-is.
	let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../chain-spec/local_testnet-raw.json");
	let output = common::run(&["export-chain-spec", "--chain", path.to_str().unwrap()]);
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let spec: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
	assert_eq!(spec["id"], "stratus_local_testnet");
	assert_eq!(spec["properties"]["tokenSymbol"], "STRAT");
}

//! The chain specs committed in `chain-spec/` are what the node exports today.
//!
//! Every field is compared as JSON except the runtime's wasm bytes: rustc mangles symbol names
//! with hashes of the crates' absolute paths, so two clones in different folders build wasm that
//! differs in its symbol table and function order, yet not in behaviour. The wasm is compared by a
//! fingerprint instead: its runtime version, its runtime APIs, its imports, exports, types and
//! number of functions (see docs/build.md).

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

mod common;

use serde_json::Value;
use std::path::Path;

/// The storage key of the runtime's code, `:code`, in a raw spec.
const CODE_KEY: &str = "0x3a636f6465";

fn leb128(bytes: &[u8], pos: &mut usize) -> usize {
	let (mut value, mut shift) = (0usize, 0);
	loop {
		let byte = bytes[*pos];
		*pos += 1;
		value |= usize::from(byte & 0x7f) << shift;
		shift += 7;
		if byte < 0x80 {
			return value;
		}
	}
}

/// What identifies a runtime's wasm independently of where it was built.
fn fingerprint(hex_code: &str) -> String {
	let wasm = hex::decode(hex_code.trim_start_matches("0x")).expect("hex code");
	assert_eq!(&wasm[..4], b"\0asm", "the code is an uncompressed wasm module");
	let mut pos = 8;
	let mut parts = Vec::new();
	while pos < wasm.len() {
		let id = wasm[pos];
		pos += 1;
		let size = leb128(&wasm, &mut pos);
		let payload = &wasm[pos..pos + size];
		pos += size;
		match id {
			// Types, imports, exports: the runtime's interface.
			1 | 2 | 7 => parts.push(format!("section {id}: {}", hex::encode(payload))),
			// Functions: only how many (their order follows symbol hashes).
			3 => parts.push(format!("functions: {}", leb128(payload, &mut 0))),
			0 => {
				let mut at = 0;
				let len = leb128(payload, &mut at);
				let name = std::str::from_utf8(&payload[at..at + len]).unwrap();
				let body = &payload[at + len..];
				match name {
					"runtime_version" => parts.push(format!("version: {}", hex::encode(body))),
					"runtime_apis" => {
						let mut apis: Vec<_> = body.chunks(12).map(hex::encode).collect();
						apis.sort();
						parts.push(format!("apis: {}", apis.join(",")));
					},
					_ => {},
				}
			},
			_ => {},
		}
	}
	parts.join("\n")
}

/// The spec with its wasm replaced by the wasm's fingerprint.
fn normalized(mut spec: Value) -> Value {
	for pointer in
		["/genesis/runtimeGenesis/code".to_owned(), format!("/genesis/raw/top/{CODE_KEY}")]
	{
		if let Some(code) = spec.pointer_mut(&pointer) {
			*code = Value::String(fingerprint(code.as_str().expect("code is a hex string")));
		}
	}
	spec
}

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
	let committed = normalized(serde_json::from_str(&committed).unwrap());
	let exported = normalized(serde_json::from_slice(&output.stdout).unwrap());
	assert!(
		committed.pointer("/genesis/runtimeGenesis/code").is_some()
			|| committed.pointer(&format!("/genesis/raw/top/{CODE_KEY}")).is_some(),
		"chain-spec/{file} holds no runtime code"
	);
	assert!(
		committed == exported,
		"chain-spec/{file} is stale: the node exports something else. Run \
		 scripts/export-chain-specs and commit the result."
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
fn a_changed_genesis_is_caught() {
	// The comparison is not vacuous: one changed balance makes the specs differ.
	let exported = common::run(&["export-chain-spec", "--chain", "local"]);
	let spec: Value = serde_json::from_slice(&exported.stdout).unwrap();
	let mut changed = spec.clone();
	let balance = changed
		.pointer_mut("/genesis/runtimeGenesis/patch/balances/balances/0/1")
		.expect("the local spec endows accounts");
	*balance = serde_json::json!(1);
	assert_ne!(normalized(spec.clone()), normalized(changed));
	// …and so does a different runtime version.
	let mut other_code = spec.clone();
	let code = other_code.pointer_mut("/genesis/runtimeGenesis/code").unwrap();
	// The SCALE-encoded `spec_name: "stratus", impl_name: "stratus-node"` of the
	// `runtime_version` section, renamed to "stratut".
	let version = "1c7374726174757330737472617475732d6e6f6465";
	let renamed = "1c7374726174757430737472617475732d6e6f6465";
	let patched = code.as_str().unwrap().replacen(version, renamed, 1);
	assert_ne!(code.as_str().unwrap(), patched, "the code carries its runtime version");
	*code = Value::String(patched);
	assert_ne!(normalized(spec), normalized(other_code));
}

#[test]
fn committed_raw_spec_loads() {
	// The raw spec a validator would download must be loadable as-is.
	let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../chain-spec/local_testnet-raw.json");
	let output = common::run(&["export-chain-spec", "--chain", path.to_str().unwrap()]);
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let spec: Value = serde_json::from_slice(&output.stdout).unwrap();
	assert_eq!(spec["id"], "stratus_local_testnet");
	assert_eq!(spec["properties"]["tokenSymbol"], "STRAT");
}

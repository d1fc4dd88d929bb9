//! The chain specs committed in `chain-spec/` are what the node exports today.
//!
//! Every field is compared as JSON except the runtime's wasm bytes: cargo hashes the absolute path
//! of the runtime crate into symbol names inside the wasm build, so two clones in different folders
//! build wasm that differs in its name section, its function order, its type order and even in
//! inlining decisions (one function more or less), yet not in behaviour. The wasm is compared by
//! what identifies it independently of the folder: its runtime version, its runtime APIs, its
//! imports (host functions with their signatures) and its exports, all as sorted lists (see
//! docs/architecture.md).

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

fn name<'a>(bytes: &'a [u8], pos: &mut usize) -> &'a str {
	let len = leb128(bytes, pos);
	let name = std::str::from_utf8(&bytes[*pos..*pos + len]).unwrap();
	*pos += len;
	name
}

/// A wasm limits record, as text.
fn limits(bytes: &[u8], pos: &mut usize) -> String {
	let flags = bytes[*pos];
	*pos += 1;
	let min = leb128(bytes, pos);
	if flags & 1 == 1 {
		format!("{min}..{}", leb128(bytes, pos))
	} else {
		format!("{min}..")
	}
}

/// The function signatures of the type section, as text (`i32,i64->i64`).
fn signatures(payload: &[u8]) -> Vec<String> {
	let mut pos = 0;
	let count = leb128(payload, &mut pos);
	(0..count)
		.map(|_| {
			assert_eq!(payload[pos], 0x60, "a function type");
			pos += 1;
			let mut list = || {
				let n = leb128(payload, &mut pos);
				let items: Vec<_> =
					payload[pos..pos + n].iter().map(|t| format!("{t:02x}")).collect();
				pos += n;
				items.join(",")
			};
			let params = list();
			format!("{params}->{}", list())
		})
		.collect()
}

/// What identifies a runtime's wasm independently of where it was built.
fn fingerprint(hex_code: &str) -> String {
	let wasm = hex::decode(hex_code.trim_start_matches("0x")).expect("hex code");
	assert_eq!(&wasm[..4], b"\0asm", "the code is an uncompressed wasm module");
	let mut sections = std::collections::BTreeMap::new();
	let mut customs = Vec::new();
	let mut pos = 8;
	while pos < wasm.len() {
		let id = wasm[pos];
		pos += 1;
		let size = leb128(&wasm, &mut pos);
		let payload = &wasm[pos..pos + size];
		pos += size;
		if id == 0 {
			customs.push(payload);
		} else {
			sections.insert(id, payload);
		}
	}
	let types = sections.get(&1).map(|types| signatures(types)).unwrap_or_default();
	let mut parts = Vec::new();

	let mut imports = Vec::new();
	if let Some(payload) = sections.get(&2) {
		let mut at = 0;
		for _ in 0..leb128(payload, &mut at) {
			let module = name(payload, &mut at);
			let field = name(payload, &mut at);
			let kind = payload[at];
			at += 1;
			let what = match kind {
				0 => format!("fn {}", types[leb128(payload, &mut at)]),
				1 => {
					at += 1;
					format!("table {}", limits(payload, &mut at))
				},
				2 => format!("memory {}", limits(payload, &mut at)),
				3 => {
					at += 2;
					"global".to_owned()
				},
				other => panic!("unknown import kind {other}"),
			};
			imports.push(format!("{module}.{field}: {what}"));
		}
	}
	imports.sort();
	parts.push(format!("imports: {}", imports.join("; ")));

	let mut exports = Vec::new();
	if let Some(payload) = sections.get(&7) {
		let mut at = 0;
		for _ in 0..leb128(payload, &mut at) {
			let field = name(payload, &mut at);
			let kind = payload[at];
			at += 1;
			leb128(payload, &mut at);
			exports.push(format!("{field}/{kind}"));
		}
	}
	exports.sort();
	parts.push(format!("exports: {}", exports.join(",")));

	for payload in customs {
		let mut at = 0;
		let section = name(payload, &mut at);
		let body = &payload[at..];
		match section {
			"runtime_version" => parts.push(format!("version: {}", hex::encode(body))),
			"runtime_apis" => {
				let mut apis: Vec<_> = body.chunks(12).map(hex::encode).collect();
				apis.sort();
				parts.push(format!("apis: {}", apis.join(",")));
			},
			_ => {},
		}
	}
	// Custom sections come in the order the linker met them.
	parts.sort();
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

//! Chain specifications: the named networks, and loading a spec from a file.

use sc_service::{ChainType, Properties};
use stratus_runtime::{
	genesis_config_presets::TESTNET_RUNTIME_PRESET, SS58_PREFIX, TOKEN_DECIMALS, TOKEN_SYMBOL,
	WASM_BINARY,
};

/// A chain spec of Stratus: the runtime's genesis presets plus the node's own fields.
pub type ChainSpec = sc_service::GenericChainSpec;

/// The names `--chain` accepts besides a path to a chain-spec file.
pub const CHAIN_NAMES: &str = "dev, local, testnet";

/// The token and address format wallets show: `tokenSymbol`, `tokenDecimals`, `ss58Format`.
pub fn properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), TOKEN_SYMBOL.into());
	properties.insert("tokenDecimals".into(), TOKEN_DECIMALS.into());
	properties.insert("ss58Format".into(), SS58_PREFIX.into());
	properties
}

fn wasm_binary() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| "the runtime's wasm binary is not available: rebuild the node".into())
}

/// A spec of the embedded runtime with the genesis preset `preset` and Stratus' properties.
fn spec(name: &str, id: &str, chain_type: ChainType, preset: &str) -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name(name)
		.with_id(id)
		.with_protocol_id(id)
		.with_chain_type(chain_type)
		.with_genesis_config_preset_name(preset)
		.with_properties(properties())
		.build())
}

/// `dev`: one validator (Alice), sudo, instant start.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	spec(
		"Stratus Development",
		"stratus_dev",
		ChainType::Development,
		sp_genesis_builder::DEV_RUNTIME_PRESET,
	)
}

/// `local`: four validators (Alice, Bob, Charlie, Dave) on localhost.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	spec(
		"Stratus Local Testnet",
		"stratus_local_testnet",
		ChainType::Local,
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET,
	)
}

/// `testnet`: the public test network template (replace its keys before launch).
pub fn testnet_chain_spec() -> Result<ChainSpec, String> {
	spec("Stratus Testnet", "stratus_testnet", ChainType::Live, TESTNET_RUNTIME_PRESET)
}

/// Resolves `--chain`: a known network name, or else the path of a chain-spec JSON file.
pub fn load(id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
	Ok(match id {
		"dev" | "development" => Box::new(development_chain_spec()?),
		"" | "local" | "local_testnet" => Box::new(local_chain_spec()?),
		"testnet" => Box::new(testnet_chain_spec()?),
		path => {
			let path = std::path::PathBuf::from(path);
			if !path.is_file() {
				return Err(format!(
					"unknown chain `{id}`: expected one of {CHAIN_NAMES}, or the path of a \
					 chain-spec JSON file"
				));
			}
			let spec = ChainSpec::from_json_file(path.clone())
				.map_err(|e| format!("cannot load the chain spec `{}`: {e}", path.display()))?;
			Box::new(spec)
		},
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn unknown_chain_names_are_refused_with_the_known_ones() {
		let err = load("mainnet").expect_err("no such chain");
		assert!(err.contains("unknown chain `mainnet`"), "{err}");
		assert!(err.contains(CHAIN_NAMES), "{err}");
	}

	#[test]
	fn a_corrupted_chain_spec_file_is_refused() {
		let dir = std::env::temp_dir().join(format!("stratus-spec-{}", std::process::id()));
		std::fs::create_dir_all(&dir).expect("temp dir");
		let path = dir.join("broken.json");
		std::fs::write(&path, b"{ \"name\": \"Stratus\", \"genesis\": ").expect("write");
		let err = load(path.to_str().expect("utf-8 path")).expect_err("corrupted spec");
		assert!(err.contains("cannot load the chain spec"), "{err}");
		std::fs::remove_dir_all(dir).ok();
	}

	#[test]
	fn properties_name_the_token() {
		let spec = development_chain_spec().expect("dev spec");
		let props = sc_service::ChainSpec::properties(&spec);
		assert_eq!(props.get("tokenSymbol").and_then(|v| v.as_str()), Some(TOKEN_SYMBOL));
		assert_eq!(
			props.get("tokenDecimals").and_then(|v| v.as_u64()),
			Some(u64::from(TOKEN_DECIMALS))
		);
		assert_eq!(props.get("ss58Format").and_then(|v| v.as_u64()), Some(u64::from(SS58_PREFIX)));
	}
}

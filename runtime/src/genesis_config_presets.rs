//! Genesis presets: the initial state of each Stratus network, as runtime code.
//!
//! - `development`: Alice alone validates; well-known accounts are endowed; Alice holds sudo;
//!   referenda take minutes (the `Fast` profile), as in `local_testnet`.
//! - `local_testnet`: Alice, Bob, Charlie and Dave validate; well-known accounts are endowed;
//!   Alice holds sudo. Four validators tolerate one failure.
//! - `testnet`: a template for a public test network. Validators and the faucet are given by
//!   public keys only (no well-known keys), and there is no sudo key: Root is reached only by a
//!   referendum on the Root track, with the `Live` profile's periods. Operators replace the keys
//!   below with their own (`docs/operators.md`) before launching.

use crate::{
	AccountId, BalancesConfig, GovernanceConfig, RuntimeGenesisConfig, SlashingConfig, SudoConfig,
	UNIT,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_core::{ed25519, sr25519};
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// The `testnet` preset's name.
pub const TESTNET_RUNTIME_PRESET: &str = "testnet";

/// What each endowed account of the development networks starts with: one million STRAT.
pub const DEV_ENDOWMENT: u128 = 1_000_000 * UNIT;

/// What the `testnet` faucet starts with: one hundred million STRAT.
pub const TESTNET_FAUCET_ENDOWMENT: u128 = 100_000_000 * UNIT;

/// What each `testnet` validator account starts with, to pay its fees.
pub const TESTNET_VALIDATOR_ENDOWMENT: u128 = 10_000 * UNIT;

/// One validator of the `testnet` template, as raw public keys: its sr25519 key, which is both its
/// account and its Aura key, and its GRANDPA key (ed25519). These are placeholders: arbitrary
/// bytes for which nobody holds a secret key, so a network launched without replacing them never
/// produces a block.
struct TestnetValidator {
	sr25519: [u8; 32],
	ed25519: [u8; 32],
}

const TESTNET_VALIDATORS: [TestnetValidator; 4] = [
	TestnetValidator {
		sr25519: sp_core::hex2array!(
			"6c1f5a0e8d6f35cb4a0a5b1d86d3b5ab0b1bda0f0e6c1d3c7f6a3e7e5c2b8a11"
		),
		ed25519: sp_core::hex2array!(
			"0b7a1e7b0f6b0ad3e2c8dd0c3e4e7f7a5f3d2c1b0a9e8d7c6b5a4f3e2d1c0b01"
		),
	},
	TestnetValidator {
		sr25519: sp_core::hex2array!(
			"2a9c4e1b7d3f5a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d1f3a5c7e9b0d2f4a22"
		),
		ed25519: sp_core::hex2array!(
			"1c8b2f7e4a6d9c3b5e0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e02"
		),
	},
	TestnetValidator {
		sr25519: sp_core::hex2array!(
			"4e2d8c6a0b3f7e1d5c9a2b4f6e8d0c3a5b7f9e1d2c4a6b8f0e3d5c7a9b1f2e33"
		),
		ed25519: sp_core::hex2array!(
			"3d7c1a9e5b2f8d4c0a6e3b9f1d7c5a2e8b4f0d6c3a9e5b1f7d2c8a4e0b6f3d03"
		),
	},
	TestnetValidator {
		sr25519: sp_core::hex2array!(
			"7b5f3d1c9e7a5c3b1f9d7e5a3c1b9f7d5e3a1c9b7f5d3e1a9c7b5f3d1e9a7c44"
		),
		ed25519: sp_core::hex2array!(
			"5e9a3c7b1f5d9e3a7c1b5f9d3e7a1c5b9f3d7e1a5c9b3f7d1e5a9c3b7f1d5e04"
		),
	},
];

/// The `testnet` faucet account (sr25519 public key; placeholder like the validators').
pub(crate) const TESTNET_FAUCET: [u8; 32] =
	sp_core::hex2array!("8f1e3d5c7b9a2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7f9e2d4c6b8a0f55");

/// The genesis state every preset is built from.
fn stratus_genesis(
	initial_authorities: Vec<(AuraId, GrandpaId)>,
	endowed_accounts: Vec<(AccountId, u128)>,
	root: Option<AccountId>,
) -> Value {
	// The fee account exists from genesis, so fees smaller than the existential deposit land.
	let mut balances = endowed_accounts;
	balances.push((crate::configs::FeeAccount::get(), crate::EXISTENTIAL_DEPOSIT));
	// The development presets (the ones with sudo) run referenda and defer slashes for minutes,
	// not days.
	let profile = match root {
		Some(_) => pallet_governance::NetworkProfile::Fast,
		None => pallet_governance::NetworkProfile::Live,
	};
	let slash_params = root.as_ref().map(|_| {
		let mut params = <crate::Runtime as pallet_slashing::Config>::DefaultParams::get();
		params.defer_period = crate::configs::DEV_DEFER_PERIOD;
		params
	});
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig { balances },
		aura: pallet_aura::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| (x.1.clone(), 1)).collect::<Vec<_>>(),
		},
		slashing: SlashingConfig { params: slash_params },
		governance: GovernanceConfig { profile },
		sudo: SudoConfig { key: root },
	})
}

/// The validators' keys of a development network, from the well-known keyring.
fn dev_authority(sr25519: Sr25519Keyring, ed25519: Ed25519Keyring) -> (AuraId, GrandpaId) {
	(sr25519.public().into(), ed25519.public().into())
}

/// The well-known accounts every development network endows.
fn dev_endowed_accounts() -> Vec<(AccountId, u128)> {
	Sr25519Keyring::iter()
		.filter(|k| k != &Sr25519Keyring::One && k != &Sr25519Keyring::Two)
		.map(|k| (k.to_account_id(), DEV_ENDOWMENT))
		.collect()
}

/// The `development` preset: Alice validates alone.
pub fn development_config_genesis() -> Value {
	stratus_genesis(
		vec![dev_authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		dev_endowed_accounts(),
		Some(Sr25519Keyring::Alice.to_account_id()),
	)
}

/// The `local_testnet` preset: Alice, Bob, Charlie and Dave validate.
pub fn local_testnet_config_genesis() -> Value {
	stratus_genesis(
		vec![
			dev_authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			dev_authority(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			dev_authority(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
			dev_authority(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
		],
		dev_endowed_accounts(),
		Some(Sr25519Keyring::Alice.to_account_id()),
	)
}

/// The `testnet` template: explicit public keys, no sudo.
pub fn testnet_config_genesis() -> Value {
	let authorities = TESTNET_VALIDATORS
		.iter()
		.map(|v| {
			(
				AuraId::from(sr25519::Public::from_raw(v.sr25519)),
				GrandpaId::from(ed25519::Public::from_raw(v.ed25519)),
			)
		})
		.collect();
	let mut endowed: Vec<(AccountId, u128)> = TESTNET_VALIDATORS
		.iter()
		.map(|v| (AccountId::from(v.sr25519), TESTNET_VALIDATOR_ENDOWMENT))
		.collect();
	endowed.push((AccountId::from(TESTNET_FAUCET), TESTNET_FAUCET_ENDOWMENT));
	stratus_genesis(authorities, endowed, None)
}

/// The JSON patch of the preset named `id`, or `None` for an unknown name.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_config_genesis(),
		TESTNET_RUNTIME_PRESET => testnet_config_genesis(),
		_ => return None,
	};
	// Serialising a `serde_json::Value` cannot fail.
	serde_json::to_vec(&patch).ok()
}

/// The names of all presets.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
		PresetId::from(TESTNET_RUNTIME_PRESET),
	]
}

/// Merges a genesis JSON patch into a full config, as the node's chain-spec builder does.
#[cfg(feature = "std")]
fn merge(base: &mut Value, patch: Value) {
	match (base, patch) {
		(Value::Object(base), Value::Object(patch)) => {
			for (key, value) in patch {
				merge(base.entry(key).or_insert(Value::Null), value);
			}
		},
		(base, patch) => *base = patch,
	}
}

/// The full genesis config of the preset `name` (the default config with the preset's patch
/// applied), for tests and the runtime fuzzer; `None` for an unknown name. Panics if the patch
/// does not deserialise: `RuntimeGenesisConfig` denies unknown fields, so a misspelt key in a
/// preset fails here.
#[cfg(feature = "std")]
#[allow(clippy::expect_used)]
pub fn preset_config(name: &str) -> Option<RuntimeGenesisConfig> {
	let patch = get_preset(&name.into())?;
	let patch: Value = serde_json::from_slice(&patch).expect("a preset is valid JSON");
	let mut config =
		serde_json::to_value(RuntimeGenesisConfig::default()).expect("the default config encodes");
	merge(&mut config, patch);
	Some(serde_json::from_value(config).expect("the preset is a valid genesis config"))
}

//! Runtime tests: every genesis preset builds, and a block can be built and executed on it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use codec::Encode;
use frame_support::traits::fungible::Inspect;
use sp_consensus_aura::{Slot, AURA_ENGINE_ID};
use sp_core::Pair;
use sp_keyring::Sr25519Keyring;
use sp_runtime::{
	generic::Era,
	traits::{Block as BlockT, Header as HeaderT},
	Digest, DigestItem,
};

fn preset_externalities(name: &str) -> sp_io::TestExternalities {
	sp_io::TestExternalities::new(
		genesis_config_presets::preset_config(name)
			.unwrap_or_else(|| panic!("preset {name} exists"))
			.build_storage()
			.unwrap(),
	)
}

fn signed_transfer(
	from: Sr25519Keyring,
	to: AccountId,
	value: Balance,
	nonce: Nonce,
) -> UncheckedExtrinsic {
	let call = RuntimeCall::Balances(BalancesCall::transfer_keep_alive { dest: to.into(), value });
	let tx_ext = tx_extension(nonce, Era::Immortal, 0);
	let payload = SignedPayload::new(call.clone(), tx_ext.clone()).unwrap();
	let signature = payload.using_encoded(|bytes| from.pair().sign(bytes));
	UncheckedExtrinsic::new_signed(
		call,
		from.to_account_id().into(),
		Signature::Sr25519(signature),
		tx_ext,
	)
}

/// Builds block #1 on the preset's genesis with a timestamp and, when `value` is given, a
/// transfer of `value` from Alice to Bob, as a block author would, and returns it.
fn build_block(ext: &mut sp_io::TestExternalities, value: Option<Balance>) -> Block {
	ext.execute_with(|| {
		let slot = 1_000u64;
		let digest = Digest {
			logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, Slot::from(slot).encode())],
		};
		let parent_hash = frame_system::BlockHash::<Runtime>::get(0);
		let header = Header::new(1, Default::default(), Default::default(), parent_hash, digest);
		Executive::initialize_block(&header);

		let timestamp = UncheckedExtrinsic::new_bare(RuntimeCall::Timestamp(TimestampCall::set {
			now: slot * SLOT_DURATION,
		}));
		let mut extrinsics = vec![timestamp];
		if let Some(value) = value {
			let to = Sr25519Keyring::Bob.to_account_id();
			extrinsics.push(signed_transfer(Sr25519Keyring::Alice, to, value, 0));
		}
		for xt in &extrinsics {
			Executive::apply_extrinsic(xt.clone()).unwrap().unwrap();
		}
		let header = Executive::finalize_block();
		Block::new(header, extrinsics)
	})
}

#[test]
fn every_preset_builds_a_genesis() {
	let names = genesis_config_presets::preset_names();
	assert_eq!(names.len(), 3);
	for name in names {
		let name = core::str::from_utf8(name.as_ref()).unwrap().to_owned();
		preset_externalities(&name).execute_with(|| {
			let authorities = pallet_aura::Authorities::<Runtime>::get();
			assert!(!authorities.is_empty(), "{name}: no Aura authority");
			assert_eq!(
				authorities.len(),
				pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(),
				"{name}: every validator has both keys"
			);
			assert!(Balances::total_issuance() > 0, "{name}: nothing is endowed");
		});
	}
}

#[test]
fn development_presets_have_expected_validators_and_sudo() {
	preset_externalities("development").execute_with(|| {
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 1);
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(Sr25519Keyring::Alice.to_account_id()));
	});
	preset_externalities("local_testnet").execute_with(|| {
		let expected: Vec<_> = [
			Sr25519Keyring::Alice,
			Sr25519Keyring::Bob,
			Sr25519Keyring::Charlie,
			Sr25519Keyring::Dave,
		]
		.iter()
		.map(|k| sp_consensus_aura::sr25519::AuthorityId::from(k.public()))
		.collect();
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().into_inner(), expected);
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(Sr25519Keyring::Alice.to_account_id()));
	});
}

#[test]
fn testnet_preset_has_no_sudo_and_no_well_known_keys() {
	preset_externalities("testnet").execute_with(|| {
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), None);
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 4);
		for key in Sr25519Keyring::iter() {
			assert_eq!(Balances::balance(&key.to_account_id()), 0, "{key:?} is endowed");
			let aura = sp_consensus_aura::sr25519::AuthorityId::from(key.public());
			assert!(!pallet_aura::Authorities::<Runtime>::get().contains(&aura));
		}
	});
}

#[test]
fn unknown_preset_is_none() {
	assert!(genesis_config_presets::get_preset(&"mainnet".into()).is_none());
}

#[test]
fn an_empty_block_is_built_and_executed_on_every_preset() {
	for name in genesis_config_presets::preset_names() {
		let name = core::str::from_utf8(name.as_ref()).unwrap().to_owned();
		let block = build_block(&mut preset_externalities(&name), None);
		preset_externalities(&name).execute_with(|| {
			Executive::execute_block(block.clone().into());
			assert_eq!(System::block_number(), 1, "{name}");
			assert_eq!(pallet_timestamp::Now::<Runtime>::get(), 1_000 * SLOT_DURATION, "{name}");
		});
	}
}

#[test]
fn a_block_with_a_transfer_is_built_and_executed_on_the_dev_presets() {
	for name in ["development", "local_testnet"] {
		let amount = 42 * UNIT;
		let block = build_block(&mut preset_externalities(name), Some(amount));
		assert_eq!(*block.header().number(), 1);

		// A second node imports the block from the same genesis: same extrinsics, same state root.
		let mut importer = preset_externalities(name);
		importer.execute_with(|| {
			let bob_before = Balances::balance(&Sr25519Keyring::Bob.to_account_id());
			Executive::execute_block(block.clone().into());
			assert_eq!(System::block_number(), 1);
			assert_eq!(
				Balances::balance(&Sr25519Keyring::Bob.to_account_id()),
				bob_before + amount,
				"{name}: Bob receives exactly the amount"
			);
			assert_eq!(System::account_nonce(Sr25519Keyring::Alice.to_account_id()), 1);
		});
	}
}

#[test]
#[should_panic(expected = "Storage root must match that calculated")]
fn a_tampered_block_is_rejected() {
	let mut block = build_block(&mut preset_externalities("development"), Some(UNIT));
	// Claim a different state root: importing must fail.
	block.header.state_root = Default::default();
	preset_externalities("development").execute_with(|| Executive::execute_block(block.into()));
}

#[test]
fn block_limits_match_the_three_second_block() {
	assert_eq!(MILLI_SECS_PER_BLOCK, 3000);
	let weights = configs::RuntimeBlockWeights::get();
	assert_eq!(
		weights.max_block.ref_time(),
		frame_support::weights::constants::WEIGHT_REF_TIME_PER_SECOND
	);
	let length = configs::RuntimeBlockLength::get();
	let normal = *length.max.get(frame_support::dispatch::DispatchClass::Normal);
	let operational = *length.max.get(frame_support::dispatch::DispatchClass::Operational);
	assert_eq!(operational, 5 * 1024 * 1024);
	assert_eq!(normal, operational / 4 * 3);
}

/// The base weight leaves out what the transaction extensions are charged apart, and never
/// charges a signed remark less than `benchmark overhead` measured it to take, nor its
/// signature's check less than measured.
#[test]
fn a_signed_remark_is_charged_at_least_what_it_was_measured_to_take() {
	use frame_support::dispatch::{DispatchClass, GetDispatchInfo};
	use sp_runtime::traits::TransactionExtension;
	use weights::{
		extrinsic_weights::ExtrinsicBaseWeight, signature_weights::SignatureVerificationWeight,
	};
	let base = configs::RuntimeBlockWeights::get().get(DispatchClass::Normal).base_extrinsic;
	assert_eq!(base, configs::extrinsic_base_weight());
	assert!(base.ref_time() >= SignatureVerificationWeight::get().ref_time());
	assert!(SignatureVerificationWeight::get().ref_time() > 0);
	let remark = RuntimeCall::System(frame_system::Call::remark { remark: vec![0; 32] });
	let extensions = tx_extension(0, Era::Immortal, 0).weight(&remark);
	assert!(extensions.ref_time() > 0, "the extensions are charged their benchmarked weights");
	let charged = base + extensions + remark.get_dispatch_info().call_weight;
	assert!(charged.ref_time() >= ExtrinsicBaseWeight::get().ref_time());
	// Not the measured remark again on top of its extensions (polkadot-sdk#9981).
	assert!(base.ref_time() < ExtrinsicBaseWeight::get().ref_time());
}

#[test]
fn chain_identity_is_stratus() {
	assert_eq!(VERSION.spec_name, "stratus");
	assert_eq!(<Runtime as frame_system::Config>::SS58Prefix::get(), SS58_PREFIX);
	assert!(Runtime::metadata_versions().contains(&15));
}

#[test]
fn presets_register_no_providers_and_create_the_fee_account() {
	for preset in ["development", "local_testnet", "testnet"] {
		preset_externalities(preset).execute_with(|| {
			assert_eq!(pallet_provider_staking::Providers::<Runtime>::iter().count(), 0);
			assert_eq!(pallet_market::Offers::<Runtime>::iter().count(), 0);
			let fee_account = configs::FeeAccount::get();
			assert_eq!(Balances::balance(&fee_account), EXISTENTIAL_DEPOSIT, "{preset}");
		});
	}
}

#[test]
fn market_constants_are_consistent() {
	preset_externalities("testnet").execute_with(market_constants_hold);
	preset_externalities("local_testnet").execute_with(market_constants_hold);
}

#[allow(clippy::arithmetic_side_effects)]
fn market_constants_hold() {
	use frame_support::traits::{Get, Hooks};
	// The pallets' own sanity checks on their configuration.
	Market::integrity_test();
	// A whole job's life fits in its longest allowed deadline.
	let shortest = configs::AckWindow::get() + 1 + configs::RevealWindow::get();
	assert!(shortest < configs::MaxJobDuration::get());
	// Deadline handling may not take the whole block.
	let limit = configs::RuntimeBlockWeights::get().max_block;
	assert!(configs::MaxDeadlineWeight::get().all_lt(limit));
}

#[test]
fn slashed_stake_is_still_held_when_its_slash_applies() {
	use frame_support::traits::Hooks;
	Slashing::integrity_test();
	// A provider that misbehaves in the last block of the longest job and unbonds at once still
	// holds that stake when the longest deferred slash applies.
	let defer = <Runtime as pallet_slashing::Config>::DefaultParams::get().defer_period;
	assert!(defer <= configs::MaxDeferPeriod::get());
	assert!(
		configs::UnbondingPeriod::get()
			>= configs::MaxJobDuration::get() + configs::MaxDeferPeriod::get()
	);
	assert!(configs::DEV_DEFER_PERIOD <= configs::MaxDeferPeriod::get());
}

/// The metadata clients compile against (`client/metadata/stratus.scale`, the `stratus-client`
/// library's subxt types, used by the worker and the CLI) is this runtime's. `STRATUS_WRITE_METADATA=1` rewrites the file
/// (`scripts/export-metadata`).
#[test]
fn committed_metadata_is_the_runtimes() {
	// Constants backed by parameters and by the network's profile read storage: the file holds
	// a fresh chain's (`Live`) values; subxt checks the names and types, not the values.
	let metadata = sp_io::TestExternalities::default().execute_with(|| {
		Runtime::metadata_at_version(16).expect("the runtime serves metadata v16")
	});
	let bytes: &[u8] = &metadata;
	let path =
		std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/metadata/stratus.scale");
	if std::env::var_os("STRATUS_WRITE_METADATA").is_some() {
		std::fs::create_dir_all(path.parent().unwrap()).unwrap();
		std::fs::write(&path, bytes).unwrap();
	}
	let committed = std::fs::read(&path)
		.unwrap_or_else(|e| panic!("{}: {e}; run scripts/export-metadata", path.display()));
	assert!(
		committed == bytes,
		"{} is not this runtime's metadata: run scripts/export-metadata and commit the result",
		path.display()
	);
}

#[test]
fn the_upgrade_to_spec_112_migrates_reputation_records() {
	use frame_support::traits::{GetStorageVersion, StorageVersion};
	use pallet_reputation::migrations::v1::{self, v0};
	let mut ext = preset_externalities(sp_genesis_builder::DEV_RUNTIME_PRESET);
	ext.execute_with(|| {
		// A chain of spec 111: reputation at storage version 0, with a record in its layout.
		StorageVersion::new(0).put::<Reputation>();
		let provider: AccountId = Sr25519Keyring::Eve.to_account_id();
		let old = v0::Record { agreed: 5, failed: 1, consecutive_valid: 4, updated_at: 0u32 };
		v0::Reputations::<Runtime>::insert(&provider, stratus_primitives::JobKind::Wasm, old);
		let state = v1::pre_check::<Runtime>();

		Executive::execute_on_runtime_upgrade();

		assert_eq!(v1::post_check::<Runtime>(state), Ok(()));
		let record = pallet_reputation::Reputations::<Runtime>::get(
			&provider,
			stratus_primitives::JobKind::Wasm,
		)
		.expect("the record is kept");
		assert_eq!((record.consecutive_valid, record.best_streak, record.agreed), (4, 4, 5));
		assert_eq!(Reputation::on_chain_storage_version(), StorageVersion::new(1));
		// Listed once more (the next upgrade), it does nothing.
		let before: Vec<_> = pallet_reputation::Reputations::<Runtime>::iter().collect();
		Executive::execute_on_runtime_upgrade();
		let after: Vec<_> = pallet_reputation::Reputations::<Runtime>::iter().collect();
		assert_eq!(before, after);
	});
}

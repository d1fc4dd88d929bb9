//! `stratus-try-upgrade`: checks the runtime this build carries against the state of a live
//! Stratus chain before that runtime is enacted there (`docs/reliability.md`).
//!
//! The state comes from a node over JSON-RPC (its safe methods: `state_getKeysPaged`,
//! `state_getStorage`, `chain_getHeader`) through `frame-remote-externalities`, which checks the
//! downloaded state against the block's state root, or from a snapshot file it wrote earlier.
//! On that state, natively and with the runtime's `try-runtime` checks compiled in, it:
//!
//! 1. runs `Executive::try_runtime_upgrade` with every check: each migration's and each pallet's
//!    `pre_upgrade`/`post_upgrade`, then every pallet's `try_state` invariants; the upgrade's
//!    weight must fit in one block;
//! 2. checks that the upgrade lost no money: every account's balance and every hold are the same
//!    after it, and the total issuance still equals the sum of all accounts;
//! 3. runs the upgrade a second time, which must pass its checks again and change nothing (a
//!    migration that ran must not run twice), as try-runtime-cli's idempotency check does.
//!
//! A failed check exits with status 1 and a message that names it; a state that could not be
//! loaded (no node at the endpoint, a bad snapshot file) exits with status 2.

use clap::{Parser, Subcommand};
use codec::Encode;
use frame_remote_externalities::{Builder, Mode, OfflineConfig, OnlineConfig, SnapshotConfig};
use frame_support::traits::{GetStorageVersion, PalletInfoAccess, StorageVersion};
use frame_try_runtime::UpgradeCheckSelect;
use sp_runtime::traits::Header as _;
use std::{collections::BTreeMap, path::PathBuf, process::ExitCode};
use stratus_runtime::{Block, Executive, Runtime};

#[derive(Parser)]
#[command(
	version,
	about = "Checks this build's runtime upgrade against a live Stratus chain's state"
)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Downloads a node's state at a block into a snapshot file.
	Snapshot {
		#[command(flatten)]
		node: Node,
		/// The snapshot file to write.
		#[arg(long)]
		out: PathBuf,
	},
	/// Runs the upgrade's checks on a node's state (or a snapshot's).
	Check {
		#[command(flatten)]
		node: Node,
		/// Check a snapshot file written by `snapshot` instead of asking a node.
		#[arg(long, conflicts_with = "uri")]
		snapshot: Option<PathBuf>,
	},
}

#[derive(clap::Args)]
struct Node {
	/// The node's WebSocket JSON-RPC endpoint.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	uri: String,
	/// The block whose state to take (0x-prefixed hash); the latest finalized one if left out.
	#[arg(long, value_parser = parse_hash)]
	at: Option<sp_core::H256>,
}

fn parse_hash(text: &str) -> Result<sp_core::H256, String> {
	let hex = text.strip_prefix("0x").ok_or("a block hash starts with 0x")?;
	let bytes = sp_core::bytes::from_hex(hex).map_err(|e| format!("not hex: {e}"))?;
	if bytes.len() != 32 {
		return Err(format!("a block hash is 32 bytes, this is {}", bytes.len()));
	}
	Ok(sp_core::H256::from_slice(&bytes))
}

fn online(node: &Node, snapshot: Option<PathBuf>) -> OnlineConfig<sp_core::H256> {
	OnlineConfig {
		transport_uris: vec![node.uri.clone()],
		at: node.at,
		state_snapshot: snapshot.map(SnapshotConfig::new),
		..Default::default()
	}
}

#[tokio::main]
async fn main() -> ExitCode {
	sp_tracing::try_init_simple();
	let cli = Cli::parse();
	let mode = match &cli.command {
		Command::Snapshot { node, out } => Mode::Online(online(node, Some(out.clone()))),
		Command::Check { snapshot: Some(path), .. } => {
			Mode::Offline(OfflineConfig { state_snapshot: SnapshotConfig::new(path.clone()) })
		},
		Command::Check { node, .. } => Mode::Online(online(node, None)),
	};
	let mut ext = match Builder::<Block>::new().mode(mode).build().await {
		Ok(ext) => ext,
		Err(e) => {
			eprintln!(
				"error: could not load the chain's state: {e} (is a node serving JSON-RPC at the \
				 --uri given, or is the --snapshot file one that `snapshot` wrote?)"
			);
			return ExitCode::from(2);
		},
	};
	let number = *ext.header.number();
	println!("state of block #{number} ({:?})", ext.header.hash());
	if let Command::Snapshot { out, .. } = &cli.command {
		println!("snapshot written to {}", out.display());
		return ExitCode::SUCCESS;
	}
	match ext.execute_with(check) {
		Ok(()) => {
			println!("try-upgrade: every check passed");
			ExitCode::SUCCESS
		},
		Err(e) => {
			eprintln!("try-upgrade: FAILED: {e}");
			ExitCode::FAILURE
		},
	}
}

/// Every account's balance data and holds, encoded, by account, read in one pass that also
/// checks that the total issuance equals the sum of every account's free and reserved balance.
fn money(when: &str) -> Result<BTreeMap<Vec<u8>, (Vec<u8>, Vec<u8>)>, String> {
	let mut sum: u128 = 0;
	let accounts = frame_system::Account::<Runtime>::iter()
		.map(|(who, info)| {
			sum = sum.saturating_add(info.data.free.saturating_add(info.data.reserved));
			let holds = pallet_balances::Holds::<Runtime>::get(&who).encode();
			(who.encode(), (info.data.encode(), holds))
		})
		.collect();
	let issuance = pallet_balances::TotalIssuance::<Runtime>::get();
	if issuance != sum {
		return Err(format!(
			"{when}: total issuance {issuance} is not the sum of all accounts' balances {sum}"
		));
	}
	println!("{when}: total issuance {issuance} = the sum of every account's balance");
	Ok(accounts)
}

/// The on-chain storage version of each Stratus pallet, and the one its code declares.
fn versions() -> Vec<(&'static str, StorageVersion, StorageVersion)> {
	macro_rules! of {
		($($pallet:ty),*) => {
			vec![$((
				<$pallet as PalletInfoAccess>::name(),
				<$pallet as GetStorageVersion>::on_chain_storage_version(),
				<$pallet as GetStorageVersion>::in_code_storage_version(),
			)),*]
		};
	}
	of!(
		stratus_runtime::Market,
		stratus_runtime::ProviderStaking,
		stratus_runtime::Verification,
		stratus_runtime::Slashing,
		stratus_runtime::Reputation
	)
}

fn print_versions(when: &str) {
	for (name, on_chain, in_code) in versions() {
		println!("{when}: {name} storage version {on_chain:?} on chain, {in_code:?} in this code");
	}
}

fn check() -> Result<(), String> {
	let spec = stratus_runtime::VERSION.spec_version;
	let from = frame_system::LastRuntimeUpgrade::<Runtime>::get()
		.map(|last| last.spec_version.0.to_string())
		.unwrap_or_else(|| "unknown".into());
	println!("upgrade: spec_version {from} on chain -> {spec} in this build");
	print_versions("before");
	let before = money("before")?;

	let max = <Runtime as frame_system::Config>::BlockWeights::get().max_block;
	let used = Executive::try_runtime_upgrade(UpgradeCheckSelect::All)
		.map_err(|e| format!("the upgrade's checks: {e:?}"))?;
	println!(
		"upgrade: migrations and every pallet's pre/post-upgrade and try_state checks passed; \
		 weight {} ref time, {} proof size ({:.2}% and {:.2}% of a block)",
		used.ref_time(),
		used.proof_size(),
		percent(used.ref_time(), max.ref_time()),
		percent(used.proof_size(), max.proof_size()),
	);
	if used.any_gt(max) {
		return Err(format!("the upgrade's weight {used:?} is more than a block's {max:?}"));
	}
	print_versions("after");
	if let Some((name, on_chain, in_code)) =
		versions().into_iter().find(|(_, on_chain, in_code)| on_chain != in_code)
	{
		return Err(format!(
			"{name}'s storage is at version {on_chain:?} after the upgrade, but its code is at \
			 {in_code:?}: a migration is missing from the runtime's Migrations"
		));
	}
	let after = money("after")?;
	if let Some(who) =
		before.keys().chain(after.keys()).find(|who| before.get(*who) != after.get(*who))
	{
		return Err(format!(
			"the upgrade changed the balance or holds of account 0x{}",
			sp_core::hexdisplay::HexDisplay::from(who)
		));
	}
	println!("upgrade: {} accounts, every balance and hold unchanged", after.len());

	let root = sp_io::storage::root(sp_runtime::StateVersion::V1);
	Executive::try_runtime_upgrade(UpgradeCheckSelect::PreAndPost)
		.map_err(|e| format!("the upgrade run a second time: {e:?}"))?;
	if sp_io::storage::root(sp_runtime::StateVersion::V1) != root {
		return Err("the upgrade run a second time changed the state: a migration ran twice".into());
	}
	println!("upgrade: a second run passes its checks and changes nothing");
	Ok(())
}

fn percent(part: u64, whole: u64) -> f64 {
	if whole == 0 {
		0.0
	} else {
		part as f64 * 100.0 / whole as f64
	}
}

#[cfg(test)]
mod tests {
	//! The checks fail where they should: on a state whose money does not add up, and on a pallet
	//! whose storage version no migration brings to its code's; and pass on a state this build
	//! wrote itself (a genesis), where there is nothing to migrate.
	#![allow(clippy::unwrap_used, clippy::expect_used)]

	use super::*;
	use sp_runtime::BuildStorage;

	fn genesis() -> sp_io::TestExternalities {
		let config = stratus_runtime::genesis_config_presets::preset_config("local_testnet")
			.expect("the local_testnet preset exists");
		let mut ext = sp_io::TestExternalities::new(config.build_storage().unwrap());
		ext.execute_with(|| frame_system::Pallet::<Runtime>::set_block_number(1));
		ext
	}

	#[test]
	fn a_chain_already_at_this_build_passes_every_check() {
		genesis().execute_with(|| check().unwrap());
	}

	#[test]
	fn an_issuance_that_is_not_the_sum_of_the_balances_fails() {
		genesis().execute_with(|| {
			pallet_balances::TotalIssuance::<Runtime>::mutate(|issuance| *issuance += 1);
			let error = check().unwrap_err();
			assert!(error.contains("total issuance"), "{error}");
		});
	}

	#[test]
	fn a_storage_version_no_migration_brings_to_this_code_fails() {
		// The market's storage at version 3 while its code is at 0 (a chain ahead of this build,
		// or a layout change shipped without its migration): nothing in Migrations moves it.
		genesis().execute_with(|| {
			StorageVersion::new(3).put::<stratus_runtime::Market>();
			let error = check().unwrap_err();
			assert!(error.to_lowercase().contains("storage version"), "{error}");
		});
	}
}

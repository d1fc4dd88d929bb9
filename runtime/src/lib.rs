//! # Stratus runtime
//!
//! The FRAME runtime of Stratus, a Substrate appchain for a decentralized compute market. This
//! crate holds only the runtime's types, its version and the composition of its pallets; each
//! pallet's configuration lives in [`configs`], the runtime APIs in [`apis`] and the genesis
//! presets in [`genesis_config_presets`].

#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;
pub mod weights;

#[cfg(test)]
mod governance_tests;
#[cfg(test)]
mod tests;

use alloc::{borrow::Cow, vec::Vec};
use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;
/// The trust pallets, for the node's `slashing_*` and `reputation_*` RPC methods (their runtime
/// APIs and views).
pub use {pallet_reputation, pallet_slashing};

/// Opaque types, for the node: it handles blocks and extrinsics without knowing their format, so
/// it keeps syncing across runtime upgrades that change them.
pub mod opaque {
	use super::*;
	use sp_runtime::traits::Hash as HashT;

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The keys a validator holds: Aura for block production, GRANDPA for finality.
	pub struct SessionKeys {
		pub aura: Aura,
		pub grandpa: Grandpa,
	}
}

/// The runtime's version. Bump `spec_version` with every change of runtime logic, and
/// `transaction_version` with every change of call indices or arguments.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: Cow::Borrowed("stratus"),
	impl_name: Cow::Borrowed("stratus-node"),
	authoring_version: 1,
	spec_version: 116,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 4,
	system_version: 1,
};

/// Block times. Changing the slot duration of a running chain bricks block production.
mod block_times {
	/// The targeted time between blocks: 3 seconds.
	pub const MILLI_SECS_PER_BLOCK: u64 = 3000;
	/// Aura's slot duration, equal to the block time.
	pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;
}
pub use block_times::*;

/// Blocks per minute.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
/// Blocks per hour.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;

/// How many recent block hashes are kept (and so the longest mortality of a transaction).
pub const BLOCK_HASH_COUNT: BlockNumber = 2400;

/// The token and address format, shared with off-chain code (the worker) through the primitives.
pub use stratus_primitives::{SS58_PREFIX, TOKEN_DECIMALS, TOKEN_SYMBOL};

/// One STRAT in planck.
pub const UNIT: Balance = stratus_primitives::PLANCK_PER_STRAT;
/// A thousandth of a STRAT.
pub const MILLI_UNIT: Balance = 1_000_000_000;
/// A millionth of a STRAT.
pub const MICRO_UNIT: Balance = 1_000_000;

/// The smallest balance an account may hold; below it the account is reaped.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// An account's signature: sr25519, ed25519 or ecdsa.
pub type Signature = MultiSignature;

/// An account id: the public key of the account's signing scheme.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// A balance, in planck.
pub type Balance = u128;

/// The number of transactions an account has sent.
pub type Nonce = u32;

/// A hash of some data used by the chain.
pub type Hash = sp_core::H256;

/// A block number.
pub type BlockNumber = u32;

/// The address format of calls: an account id or an index.
pub type Address = MultiAddress<AccountId, ()>;

/// Block header type as expected by this runtime.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// Block type as expected by this runtime.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// A block with its justifications.
pub type SignedBlock = generic::SignedBlock<Block>;

/// The transaction extensions every signed extrinsic carries, in order.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
	// Last: gives back what a call did not use of the weight it declared, once every extension
	// before it has run (the template's order).
	frame_system::WeightReclaim<Runtime>,
);

/// The transaction extensions of a signed extrinsic from an account at `nonce`, valid for `era`
/// and paying `tip` on top of its fee. Every signer built on the runtime's own types (the node's
/// benchmarks, the runtime's tests and weights) builds them here, so they cannot drift from
/// [`TxExtension`]; the worker and the CLI sign with subxt, which reads them from the metadata.
pub fn tx_extension(nonce: Nonce, era: sp_runtime::generic::Era, tip: Balance) -> TxExtension {
	(
		frame_system::AuthorizeCall::<Runtime>::new(),
		frame_system::CheckNonZeroSender::<Runtime>::new(),
		frame_system::CheckSpecVersion::<Runtime>::new(),
		frame_system::CheckTxVersion::<Runtime>::new(),
		frame_system::CheckGenesis::<Runtime>::new(),
		frame_system::CheckEra::<Runtime>::from(era),
		frame_system::CheckNonce::<Runtime>::from(nonce),
		frame_system::CheckWeight::<Runtime>::new(),
		pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(tip),
		frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
		frame_system::WeightReclaim::<Runtime>::new(),
	)
}

/// Unchecked extrinsic type as expected by this runtime.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// The payload being signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// The storage migrations the next upgrade runs, each versioned (it runs only from the storage
/// version it migrates and sets the next, so a listed migration that has run is one read).
/// `scripts/try-upgrade` runs their `try-runtime` checks against a live chain's state
/// (`docs/reliability.md`).
pub type Migrations = (
	// spec 112: reputation records keep the longest run of valid results.
	pallet_reputation::migrations::v1::MigrateV0ToV1<Runtime>,
	// spec 115: OpenGov's pallets arrive empty on a running chain; their storage versions are
	// written as their genesis would have (the profile stays `Live`: `docs/governance.md`).
	InitNewPallet<Scheduler>,
	InitNewPallet<Preimage>,
	InitNewPallet<Referenda>,
);

/// Writes the in-code storage version of a pallet added to a running chain, whose storage is
/// empty (a genesis would have written it); does nothing once any version is on chain.
pub struct InitNewPallet<P>(core::marker::PhantomData<P>);

impl<P> frame_support::traits::OnRuntimeUpgrade for InitNewPallet<P>
where
	P: frame_support::traits::GetStorageVersion<
			InCodeStorageVersion = frame_support::traits::StorageVersion,
		> + frame_support::traits::PalletInfoAccess,
{
	fn on_runtime_upgrade() -> frame_support::weights::Weight {
		use frame_support::traits::StorageVersion;
		let db = <Runtime as frame_system::Config>::DbWeight::get();
		if P::on_chain_storage_version() != StorageVersion::new(0) {
			return db.reads(1);
		}
		P::in_code_storage_version().put::<P>();
		db.reads_writes(1, 1)
	}
}

/// Executive: dispatches calls to the pallets and runs their hooks.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

/// The runtime, composed of its pallets. Indices are explicit and never reused: they are part of
/// every encoded call and storage key.
#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;

	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;

	// Sudo's key is set only by the `development` and `local_testnet` presets; governance
	// replaces it on public networks.
	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;

	// Hooks, and the genesis build, run in pallet-index order: the governance pallet (which
	// holds the network's profile) comes before every pallet whose timings read it, and the
	// scheduler before slashing, so that a cancellation enacted in a slash's own block lands
	// first. 8 is kept for BABE.
	#[runtime::pallet_index(7)]
	pub type Governance = pallet_governance;

	#[runtime::pallet_index(9)]
	pub type Scheduler = pallet_scheduler;

	// The market: 10.. (DESIGN.md).
	#[runtime::pallet_index(10)]
	pub type ProviderStaking = pallet_provider_staking;

	#[runtime::pallet_index(11)]
	pub type Market = pallet_market;

	#[runtime::pallet_index(12)]
	pub type Verification = pallet_verification;

	#[runtime::pallet_index(13)]
	pub type Slashing = pallet_slashing;

	#[runtime::pallet_index(14)]
	pub type Reputation = pallet_reputation;

	// OpenGov: 30.. (`docs/governance.md`).
	#[runtime::pallet_index(30)]
	pub type Preimage = pallet_preimage;

	#[runtime::pallet_index(31)]
	pub type Referenda = pallet_referenda;

	#[runtime::pallet_index(32)]
	pub type ConvictionVoting = pallet_conviction_voting;

	#[runtime::pallet_index(33)]
	pub type Treasury = pallet_treasury;

	// Written only through `Governance::set_parameter`, which checks each value's bounds.
	#[runtime::pallet_index(34)]
	#[runtime::disable_call]
	pub type Parameters = pallet_parameters;
}

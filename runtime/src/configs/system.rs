//! `frame_system`: block limits, account types and the chain's identity.

use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	weights::{constants::WEIGHT_REF_TIME_PER_SECOND, Weight},
};
use frame_system::limits::{BlockLength, BlockWeights};
use sp_runtime::Perbill;
use sp_version::RuntimeVersion;

use crate::{
	weights::{
		block_weights::BlockExecutionWeight, extrinsic_weights::ExtrinsicBaseWeight,
		paritydb_weights::constants::ParityDbWeight,
		signature_weights::SignatureVerificationWeight,
	},
	AccountId, Balance, Block, BlockNumber, Hash, Nonce, PalletInfo, Runtime, RuntimeCall,
	RuntimeEvent, RuntimeOrigin, RuntimeTask, BLOCK_HASH_COUNT, SS58_PREFIX, VERSION,
};

/// Share of a block's weight and length that ordinary (`Normal`) extrinsics may use; the rest is
/// kept for operational ones.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// The share of a block's weight that `on_initialize` hooks are expected to take on average.
const AVERAGE_ON_INITIALIZE_RATIO: Perbill = Perbill::from_percent(10);

/// The most compute a block may take: one second of reference time.
const MAXIMUM_BLOCK_WEIGHT: Weight = Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND, u64::MAX);

/// The share of `MAXIMUM_BLOCK_WEIGHT` that `Normal` extrinsics may fill.
fn normal_block_weight() -> Weight {
	Weight::from_parts(
		NORMAL_DISPATCH_RATIO.mul_floor(MAXIMUM_BLOCK_WEIGHT.ref_time()),
		NORMAL_DISPATCH_RATIO.mul_floor(MAXIMUM_BLOCK_WEIGHT.proof_size()),
	)
}

/// The weight every extrinsic is charged besides its call and its transaction extensions.
///
/// `benchmark overhead` times a block of signed `remark`s (`ExtrinsicBaseWeight`): each one whole,
/// its transaction extensions' work included. FRAME charges every extrinsic its extensions' own
/// benchmarked weights on top of the base, so taking the measured remark as the base charges the
/// extensions twice (polkadot-sdk#9981, open in stable2609). What is left to the base is the
/// measured remark less what its extensions and its call are charged, and never less than checking
/// its signature, which no extension pays for. A signed remark is so still charged at least what
/// it was measured to take (`runtime/src/tests.rs`).
pub fn extrinsic_base_weight() -> Weight {
	use frame_support::dispatch::GetDispatchInfo;
	use sp_runtime::traits::TransactionExtension;
	let remark = RuntimeCall::System(frame_system::Call::remark { remark: Default::default() });
	let extensions = crate::tx_extension(0, sp_runtime::generic::Era::Immortal, 0).weight(&remark);
	let call = remark.get_dispatch_info().call_weight;
	let measured = ExtrinsicBaseWeight::get();
	Weight::from_parts(
		measured
			.ref_time()
			.saturating_sub(extensions.ref_time())
			.saturating_sub(call.ref_time())
			.max(SignatureVerificationWeight::get().ref_time()),
		0,
	)
}

/// The most bytes a block may hold.
const MAX_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;

parameter_types! {
	pub const BlockHashCount: BlockNumber = BLOCK_HASH_COUNT;
	pub const Version: RuntimeVersion = VERSION;

	/// One second of compute per 3-second block: a block must be imported and its successor
	/// authored within the same slot on modest hardware. The base weights of a block and of an
	/// extrinsic are Stratus's own, measured by `benchmark overhead` (`scripts/bench-weights`);
	/// the extrinsic's without what its transaction extensions are charged apart
	/// ([`extrinsic_base_weight`]).
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::builder()
		.base_block(BlockExecutionWeight::get())
		.for_class(DispatchClass::all(), |weights| {
			weights.base_extrinsic = extrinsic_base_weight();
		})
		.for_class(DispatchClass::Normal, |weights| {
			weights.max_total = Some(normal_block_weight());
		})
		.for_class(DispatchClass::Operational, |weights| {
			weights.max_total = Some(MAXIMUM_BLOCK_WEIGHT);
			// Operational extrinsics (e.g. governance's emergency calls) always find room.
			weights.reserved = Some(MAXIMUM_BLOCK_WEIGHT.saturating_sub(normal_block_weight()));
		})
		.avg_block_initialization(AVERAGE_ON_INITIALIZE_RATIO)
		.build_or_panic();
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(MAX_BLOCK_LENGTH)
		.modify_max_length_for_class(DispatchClass::Normal, |max| {
			*max = NORMAL_DISPATCH_RATIO.mul_floor(*max)
		})
		.build();
	pub const SS58Prefix: u16 = SS58_PREFIX;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	/// Stratus nodes store their state in ParityDB only; its read and write weights are measured
	/// on a populated state by `benchmark storage` (`scripts/bench-weights`).
	type DbWeight = ParityDbWeight;
	/// What the transaction extensions (nonce, era, weight, …) cost each extrinsic, measured.
	type ExtensionsWeightInfo = crate::weights::frame_system_extensions::WeightInfo<Runtime>;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = frame_support::traits::ConstU32<16>;
}

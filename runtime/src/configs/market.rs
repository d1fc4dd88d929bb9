//! `pallet_market`: the order book. Windows are in blocks of 3 s.

use super::parameters::dynamic_params::market::{
	AckWindow, JobDeposit, MinJobValue, ProgramDepositBase, ProgramDepositPerByte, ProtocolFee,
	RecordRetention, ReplicatedSpotCheck,
};
use super::RuntimeBlockWeights;
use crate::{
	AccountId, Balances, BlockNumber, ProviderStaking, Runtime, RuntimeHoldReason, Verification,
	DAYS,
};
use frame_support::{
	parameter_types,
	traits::{tokens::imbalance::ResolveTo, ConstU32, ConstU8},
	weights::Weight,
};
use sp_runtime::traits::AccountIdConversion;

parameter_types! {
	/// The account protocol fees and slash remainders are paid into: the treasury's pot, spent
	/// only by referendum.
	pub FeeAccount: AccountId = super::governance::TreasuryPalletId::get().into_account_truncating();
	/// Deadlines may take a fifth of a block's weight; the rest waits for the next block.
	pub MaxDeadlineWeight: Weight = RuntimeBlockWeights::get().max_block.div(5);
	/// 30 s to reveal once the reveal window opens.
	pub const RevealWindow: BlockNumber = 10;
	pub const MaxJobDuration: BlockNumber = 7 * DAYS;
}

impl pallet_market::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Providers = ProviderStaking;
	type Verifier = Verification;
	type OnDispute = ();
	type OnOffence = crate::Slashing;
	type Reputation = crate::Reputation;
	/// The parent block's hash until consensus moves to BABE's VRF (`docs/market.md` says what it
	/// resists and what it does not).
	type Randomness = pallet_market::BlockHashRandomness<Runtime>;
	/// Three referees, who must all agree, decide a dispute: a ring with a share `s` of the stake
	/// outvotes an honest replica in a dispute with probability `s³` (`docs/market.md`).
	type Referees = ConstU8<3>;
	/// One replicated job in ten gets one more replica, drawn by stake after its first
	/// commitment, so that a ring holding all of a job's replicas cannot lie safely.
	type ReplicatedSpotCheck = ReplicatedSpotCheck;
	type FeeDestination = ResolveTo<FeeAccount, Balances>;
	// The fees, deposits and the acknowledgement window are parameters a `market_admin`
	// referendum may change (`super::parameters`); the rest size storage or fix live jobs'
	// windows.
	type ProtocolFee = ProtocolFee;
	type MinJobValue = MinJobValue;
	type JobDeposit = JobDeposit;
	/// A requester may have 64 jobs resting in the job book.
	type MaxRestingJobs = ConstU32<64>;
	type ProgramDepositBase = ProgramDepositBase;
	type ProgramDepositPerByte = ProgramDepositPerByte;
	/// 2 MiB: a program fits in one extrinsic with room to spare (blocks are 5 MiB).
	type MaxProgramSize = ConstU32<{ 2 * 1024 * 1024 }>;
	/// 64 KiB inline; larger inputs are served from a URL.
	type MaxInlineInput = ConstU32<{ 64 * 1024 }>;
	// What a worker holds by default (`max_output_mib = 64`): a provider may decline larger.
	type MaxOutputBytes = ConstU32<{ 64 * 1024 * 1024 }>;
	type MaxUrlLength = ConstU32<512>;
	type MaxRequirementItems = ConstU32<16>;
	type MaxReplication = ConstU8<5>;
	type MaxReplicasPerJob = ConstU32<16>;
	type MaxOffersPerProvider = ConstU32<32>;
	type MaxSlotsPerOffer = ConstU32<64>;
	type MaxMatchScan = ConstU32<64>;
	type MaxDeadlineWeight = MaxDeadlineWeight;
	type AckWindow = AckWindow;
	type RevealWindow = RevealWindow;
	type MaxJobDuration = MaxJobDuration;
	type RecordRetention = RecordRetention;
	type WeightInfo = crate::weights::pallet_market::WeightInfo<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = super::BenchmarkHelpers;
}

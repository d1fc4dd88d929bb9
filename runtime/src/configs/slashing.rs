//! `pallet_slashing`: deferred slashes for missed deadlines and outvoted results.

use crate::{Balances, BlockNumber, ProviderStaking, Runtime, DAYS, MINUTES};
use frame_support::{parameter_types, traits::ConstU32, weights::Weight};
use pallet_slashing::SlashParams;
use sp_runtime::Perbill;

use super::{
	market::{FeeAccount, MaxJobDuration},
	provider_staking::UnbondingPeriod,
	RuntimeBlockWeights,
};

parameter_types! {
	/// What each offence costs, as a share of one slot's stake (10 STRAT): a missed
	/// acknowledgement 1% (0.1 STRAT), a missed commit 5%, a missed reveal 10%, a result outside
	/// the quorum 100%. Applied a day after the offence unless Root or a `slash_canceller` referendum cancels it; half goes to the
	/// job's requester, 30% to the job's honest providers, the rest to the fee account.
	pub Defaults: SlashParams<BlockNumber> = SlashParams {
		missed_ack: Perbill::from_percent(1),
		missed_commit: Perbill::from_percent(5),
		missed_reveal: Perbill::from_percent(10),
		wrong_result: Perbill::from_percent(100),
		defer_period: DAYS,
		requester_share: Perbill::from_percent(50),
		honest_share: Perbill::from_percent(30),
	};
	/// `UnbondingPeriod − MaxJobDuration`: slashed stake is still held when its slash applies.
	pub MaxDeferPeriod: BlockNumber = UnbondingPeriod::get().saturating_sub(MaxJobDuration::get());
	/// Applying due slashes may take a tenth of a block; the rest waits for the next block.
	pub MaxApplyWeight: Weight = RuntimeBlockWeights::get().max_block.div(10);
}

/// The development presets' defer period: two minutes, so that a slash can be watched on a
/// local network.
pub const DEV_DEFER_PERIOD: BlockNumber = 2 * MINUTES;

impl pallet_slashing::Config for Runtime {
	type Currency = Balances;
	type Stake = ProviderStaking;
	/// Root, or a passed `slash_canceller` referendum, which is decided and enacted inside the
	/// shortest defer period.
	type CancelOrigin = super::governance::SlashCancelOrigin;
	/// Root, or a passed `staking_admin` referendum.
	type ParamsOrigin = super::governance::StakingAdminOrigin;
	type DefaultParams = Defaults;
	type FeeAccount = FeeAccount;
	type MinDeferPeriod = super::governance::MinDeferPeriod;
	type MaxDeferPeriod = MaxDeferPeriod;
	type MaxHonest = ConstU32<16>;
	type MaxSlashHistory = ConstU32<32>;
	type MaxApplyWeight = MaxApplyWeight;
	type WeightInfo = crate::weights::pallet_slashing::WeightInfo<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = super::BenchmarkHelpers;
}

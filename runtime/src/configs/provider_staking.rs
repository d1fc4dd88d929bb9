//! `pallet_provider_staking`: the provider registry and the stake behind every offered slot.

use crate::{Balance, Balances, BlockNumber, Runtime, RuntimeHoldReason, DAYS, UNIT};
use frame_support::{parameter_types, traits::ConstU32};

parameter_types! {
	/// Stake each concurrent slot a provider offers needs: 10 STRAT.
	pub const MinStakePerSlot: Balance = 10 * UNIT;
	/// Unbonded stake stays held (and slashable) for a day.
	pub const UnbondingPeriod: BlockNumber = DAYS;
}

impl pallet_provider_staking::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinStakePerSlot = MinStakePerSlot;
	type UnbondingPeriod = UnbondingPeriod;
	type MaxUnbondingChunks = ConstU32<16>;
	type WeightInfo = crate::weights::pallet_provider_staking::WeightInfo<Runtime>;
}

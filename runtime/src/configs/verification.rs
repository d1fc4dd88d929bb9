//! `pallet_verification`: commit-reveal of results; the market is told of every step.

use crate::{Market, Runtime};

impl pallet_verification::Config for Runtime {
	type Jobs = Market;
	type WeightInfo = crate::weights::pallet_verification::WeightInfo<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = super::BenchmarkHelpers;
}

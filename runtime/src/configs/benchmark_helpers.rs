//! What the market pallets' benchmarks need from the runtime, wired to the pallets that provide
//! it: the benchmark set-up stays off the production traits (`runtime-benchmarks` only).

use crate::{AccountId, Market, ProviderStaking};
use stratus_primitives::{CapabilityProfile, JobId, ReplicaIndex};

/// The market pallets' benchmark helpers.
pub struct BenchmarkHelpers;

impl pallet_market::BenchmarkHelper<AccountId> for BenchmarkHelpers {
	fn register_provider(who: &AccountId, profile: CapabilityProfile, slots: u32) {
		ProviderStaking::register_for_benchmarks(who, profile, slots);
	}
}

impl pallet_verification::BenchmarkHelper<AccountId> for BenchmarkHelpers {
	fn open_replica(
		replication: u8,
		revealing: bool,
	) -> (JobId, ReplicaIndex, AccountId, AccountId) {
		Market::prepare_for_benchmarks(replication, revealing)
	}
}

impl pallet_slashing::BenchmarkHelper<AccountId> for BenchmarkHelpers {
	fn stake(who: &AccountId, slots: u32) {
		ProviderStaking::register_for_benchmarks(
			who,
			CapabilityProfile::cpu_only(1, 1024, 0),
			slots,
		);
	}
}

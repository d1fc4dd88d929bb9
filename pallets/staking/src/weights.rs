//! The `WeightInfo` trait of this pallet, and weights for its unit tests (`()`). The runtime's
//! weights are generated from `benchmarking.rs` by `scripts/bench-weights` into
//! `runtime/src/weights/`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]
#![allow(dead_code)]

use frame_support::weights::{Weight, constants::RocksDbWeight};

/// Weight functions needed for `pallet_provider_staking`.
pub trait WeightInfo {
	fn register() -> Weight;
	fn bond_extra() -> Weight;
	fn unbond() -> Weight;
	fn withdraw_unbonded() -> Weight;
	fn rotate_worker_key() -> Weight;
	fn update_profile() -> Weight;
	fn deregister() -> Weight;
}


// For backwards compatibility and tests.
impl WeightInfo for () {
	/// Storage: `ProviderStaking::Providers` (r:2 w:1)
	/// Proof: `ProviderStaking::Providers` (`max_values`: None, `max_size`: Some(1529), added: 4004, mode: `MaxEncodedLen`)
	/// Storage: `ProviderStaking::WorkerKeys` (r:2 w:1)
	/// Proof: `ProviderStaking::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn register() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `245`
		//  Estimated: `4994`
		// Minimum execution time: 61_210_000 picoseconds.
		Weight::from_parts(63_480_000, 4994)
			.saturating_add(RocksDbWeight::get().reads(6_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	/// Storage: `ProviderStaking::Providers` (r:1 w:1)
	/// Proof: `ProviderStaking::Providers` (`max_values`: None, `max_size`: Some(1529), added: 4004, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn bond_extra() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1012`
		//  Estimated: `4994`
		// Minimum execution time: 44_530_000 picoseconds.
		Weight::from_parts(46_170_000, 4994)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	/// Storage: `ProviderStaking::Providers` (r:1 w:1)
	/// Proof: `ProviderStaking::Providers` (`max_values`: None, `max_size`: Some(1529), added: 4004, mode: `MaxEncodedLen`)
	fn unbond() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1592`
		//  Estimated: `4994`
		// Minimum execution time: 17_820_000 picoseconds.
		Weight::from_parts(18_640_000, 4994)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	/// Storage: `ProviderStaking::Providers` (r:1 w:1)
	/// Proof: `ProviderStaking::Providers` (`max_values`: None, `max_size`: Some(1529), added: 4004, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn withdraw_unbonded() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1714`
		//  Estimated: `4994`
		// Minimum execution time: 52_360_000 picoseconds.
		Weight::from_parts(54_090_000, 4994)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	/// Storage: `ProviderStaking::Providers` (r:2 w:1)
	/// Proof: `ProviderStaking::Providers` (`max_values`: None, `max_size`: Some(1529), added: 4004, mode: `MaxEncodedLen`)
	/// Storage: `ProviderStaking::WorkerKeys` (r:1 w:2)
	/// Proof: `ProviderStaking::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	fn rotate_worker_key() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1012`
		//  Estimated: `4994`
		// Minimum execution time: 23_970_000 picoseconds.
		Weight::from_parts(25_110_000, 4994)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	/// Storage: `ProviderStaking::Providers` (r:1 w:1)
	/// Proof: `ProviderStaking::Providers` (`max_values`: None, `max_size`: Some(1529), added: 4004, mode: `MaxEncodedLen`)
	fn update_profile() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1012`
		//  Estimated: `4994`
		// Minimum execution time: 19_460_000 picoseconds.
		Weight::from_parts(20_380_000, 4994)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	/// Storage: `ProviderStaking::Providers` (r:1 w:1)
	/// Proof: `ProviderStaking::Providers` (`max_values`: None, `max_size`: Some(1529), added: 4004, mode: `MaxEncodedLen`)
	/// Storage: `ProviderStaking::WorkerKeys` (r:0 w:1)
	/// Proof: `ProviderStaking::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	fn deregister() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1592`
		//  Estimated: `4994`
		// Minimum execution time: 19_050_000 picoseconds.
		Weight::from_parts(19_930_000, 4994)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
}

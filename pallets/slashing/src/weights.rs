//! The `WeightInfo` trait of this pallet, and weights for its unit tests (`()`). The runtime's
//! weights are generated from `benchmarking.rs` by `scripts/bench-weights` into
//! `runtime/src/weights/`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::weights::{Weight, constants::RocksDbWeight};

/// Weight functions needed for `pallet_slashing`.
pub trait WeightInfo {
	fn cancel_slash() -> Weight;
	fn set_params() -> Weight;
	fn apply_block() -> Weight;
	fn apply_slash(h: u32, ) -> Weight;
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn cancel_slash() -> Weight {
		Weight::from_parts(30_000_000, 6000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn set_params() -> Weight {
		Weight::from_parts(10_000_000, 1000)
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn apply_block() -> Weight {
		Weight::from_parts(5_000_000, 1000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn apply_slash(h: u32, ) -> Weight {
		Weight::from_parts(60_000_000, 12000)
			.saturating_add(Weight::from_parts(20_000_000, 3000).saturating_mul(h.into()))
			.saturating_add(RocksDbWeight::get().reads(5_u64))
			.saturating_add(RocksDbWeight::get().reads((2_u64).saturating_mul(h.into())))
			.saturating_add(RocksDbWeight::get().writes(6_u64))
			.saturating_add(RocksDbWeight::get().writes((2_u64).saturating_mul(h.into())))
	}
}

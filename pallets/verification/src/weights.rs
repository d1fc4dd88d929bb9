//! The `WeightInfo` trait of this pallet, and weights for its unit tests (`()`). The runtime's
//! weights are generated from `benchmarking.rs` by `scripts/bench-weights` into
//! `runtime/src/weights/`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::weights::{Weight, constants::RocksDbWeight};

/// Weight functions needed for `pallet_verification`.
pub trait WeightInfo {
	fn commit() -> Weight;
	fn reveal() -> Weight;
}


// For backwards compatibility and tests.
impl WeightInfo for () {
	fn commit() -> Weight {
		Weight::from_parts(50_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn reveal() -> Weight {
		Weight::from_parts(200_000_000, 20000)
			.saturating_add(RocksDbWeight::get().reads(12_u64))
			.saturating_add(RocksDbWeight::get().writes(12_u64))
	}
}

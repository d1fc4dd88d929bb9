//! The `WeightInfo` trait of this pallet, and weights for its unit tests (`()`). The runtime's
//! weights are generated from `benchmarking.rs` by `scripts/bench-weights` into
//! `runtime/src/weights/`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::weights::{Weight, constants::RocksDbWeight};

/// Weight functions needed for `pallet_governance`.
pub trait WeightInfo {
	fn set_parameter() -> Weight;
	fn settle_submission_deposit() -> Weight;
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn set_parameter() -> Weight {
		Weight::from_parts(15_000_000, 3500)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn settle_submission_deposit() -> Weight {
		Weight::from_parts(40_000_000, 4000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
}

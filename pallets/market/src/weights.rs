//! The `WeightInfo` trait of this pallet, and weights for its unit tests (`()`). The runtime's
//! weights are generated from `benchmarking.rs` by `scripts/bench-weights` into
//! `runtime/src/weights/`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::weights::{Weight, constants::RocksDbWeight};

/// Weight functions needed for `pallet_market`.
pub trait WeightInfo {
	fn register_program(l: u32) -> Weight;
	fn remove_program() -> Weight;
	fn post_offer(s: u32) -> Weight;
	fn update_offer(s: u32) -> Weight;
	fn cancel_offer() -> Weight;
	fn submit_job(r: u32) -> Weight;
	fn store_input(k: u32) -> Weight;
	fn match_walk(s: u32, e: u32) -> Weight;
	fn fill_offer() -> Weight;
	fn rest_job() -> Weight;
	fn cancel_job(r: u32) -> Weight;
	fn acknowledge() -> Weight;
	fn decline() -> Weight;
	fn reap_offer() -> Weight;
	fn reap_job() -> Weight;
	fn deadlines_block() -> Weight;
	fn deadline_ack(s: u32) -> Weight;
	fn deadline_commit(s: u32) -> Weight;
	fn deadline_commit_close(r: u32) -> Weight;
	fn deadline_reveal(r: u32) -> Weight;
}


// For backwards compatibility and tests.
impl WeightInfo for () {
	fn register_program(l: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(l.into()))
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
			.saturating_add(RocksDbWeight::get().reads(1_u64.saturating_mul(l.into())))
	}
	fn remove_program() -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn post_offer(s: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads(6_u64))
			.saturating_add(RocksDbWeight::get().writes(6_u64))
			.saturating_add(RocksDbWeight::get().reads(1_u64.saturating_mul(s.into())))
	}
	fn update_offer(s: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads(6_u64))
			.saturating_add(RocksDbWeight::get().writes(6_u64))
			.saturating_add(RocksDbWeight::get().reads(1_u64.saturating_mul(s.into())))
	}
	fn cancel_offer() -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn submit_job(r: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(r.into()))
			.saturating_add(RocksDbWeight::get().reads(8_u64))
			.saturating_add(RocksDbWeight::get().writes(7_u64))
			.saturating_add(RocksDbWeight::get().reads(1_u64.saturating_mul(r.into())))
	}
	fn store_input(k: u32) -> Weight {
		Weight::from_parts(5_000_000, 1000)
			.saturating_add(Weight::from_parts(500_000, 1024).saturating_mul(k.into()))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn match_walk(s: u32, e: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64.saturating_mul(s.into())))
			.saturating_add(RocksDbWeight::get().writes(4_u64.saturating_mul(e.into())))
	}
	fn fill_offer() -> Weight {
		Weight::from_parts(10_000_000, 3000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(5_u64))
	}
	fn rest_job() -> Weight {
		Weight::from_parts(20_000_000, 3000)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn cancel_job(r: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(r.into()))
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
			.saturating_add(RocksDbWeight::get().reads(1_u64.saturating_mul(r.into())))
	}
	fn acknowledge() -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn decline() -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(64))
			.saturating_add(RocksDbWeight::get().reads(72_u64))
			.saturating_add(RocksDbWeight::get().writes(8_u64))
	}
	fn reap_offer() -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn reap_job() -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn deadlines_block() -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn deadline_ack(s: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads(8_u64))
			.saturating_add(RocksDbWeight::get().writes(8_u64))
			.saturating_add(RocksDbWeight::get().reads(1_u64.saturating_mul(s.into())))
	}
	fn deadline_commit(s: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads(8_u64))
			.saturating_add(RocksDbWeight::get().writes(8_u64))
			.saturating_add(RocksDbWeight::get().reads(1_u64.saturating_mul(s.into())))
	}
	fn deadline_commit_close(r: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(r.into()))
			.saturating_add(RocksDbWeight::get().reads(6_u64))
			.saturating_add(RocksDbWeight::get().writes(6_u64))
			.saturating_add(RocksDbWeight::get().reads(1_u64.saturating_mul(r.into())))
	}
	fn deadline_reveal(r: u32) -> Weight {
		Weight::from_parts(40_000_000, 10000)
			.saturating_add(Weight::from_parts(10_000_000, 2000).saturating_mul(r.into()))
			.saturating_add(RocksDbWeight::get().reads(8_u64))
			.saturating_add(RocksDbWeight::get().writes(8_u64))
			.saturating_add(RocksDbWeight::get().reads(1_u64.saturating_mul(r.into())))
	}
}

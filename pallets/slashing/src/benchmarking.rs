//! Benchmarks: cancelling a slash, setting the parameters, the hook's per-block cost, and
//! applying a slash that pays `h` honest providers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{EnsureOrigin, Get, Hooks};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::Zero;
use stratus_primitives::{Offence, OffenceKind, OnOffence, StakeManager};

const SEED: u32 = 0;

/// A provider staked for ten slots and its wrong result reported, with `h` honest providers;
/// returns the provider and the slash's id.
fn reported<T: Config>(h: u32) -> (T::AccountId, SlashId) {
	let provider: T::AccountId = account("provider", 0, SEED);
	<T::BenchmarkHelper as crate::BenchmarkHelper<_>>::stake(&provider, 10);
	let requester: T::AccountId = account("requester", 0, SEED);
	<T::BenchmarkHelper as crate::BenchmarkHelper<_>>::stake(&requester, 1);
	let honest: Vec<T::AccountId> = (0..h)
		.map(|i| {
			let who: T::AccountId = account("honest", i, SEED);
			<T::BenchmarkHelper as crate::BenchmarkHelper<_>>::stake(&who, 1);
			who
		})
		.collect();
	let id = NextSlashId::<T>::get();
	Pallet::<T>::on_offence(Offence {
		provider: provider.clone(),
		job: 1,
		replica: 0,
		kind: OffenceKind::WrongResult,
		requester,
		honest,
	});
	assert!(PendingSlashes::<T>::contains_key(id), "the slash is pending");
	(provider, id)
}

#[benchmarks]
mod benches {
	use super::*;

	#[benchmark]
	fn cancel_slash() {
		let (provider, id) = reported::<T>(T::MaxHonest::get());
		let origin = T::CancelOrigin::try_successful_origin().unwrap();

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, id);

		assert!(PendingSlashes::<T>::get(id).is_none());
		assert!(T::Stake::frozen(&provider).is_zero());
	}

	#[benchmark]
	fn set_params() {
		let origin = T::ParamsOrigin::try_successful_origin().unwrap();
		let params = T::DefaultParams::get();

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, params);

		assert!(Params::<T>::get().is_some());
	}

	/// A block of the queue with nothing due.
	#[benchmark]
	fn apply_block() {
		let now = frame_system::Pallet::<T>::block_number() + 1u32.into();
		QueueCursor::<T>::put(now);

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		assert_eq!(QueueCursor::<T>::get(), Some(now + 1u32.into()));
	}

	/// A slash applied, paying its requester and `h` honest providers.
	#[benchmark]
	fn apply_slash(h: Linear<0, { T::MaxHonest::get() }>) {
		let (provider, id) = reported::<T>(h);
		let at: BlockNumberFor<T> = PendingSlashes::<T>::get(id).unwrap().apply_at;

		#[block]
		{
			Pallet::<T>::apply(id, at);
		}

		assert!(PendingSlashes::<T>::get(id).is_none());
		assert_eq!(AppliedSlashes::<T>::get(&provider).len(), 1);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

//! Benchmarks: one per call, each in its worst case (largest profile, fullest unbonding queue).

use super::*;
use crate::Pallet as ProviderStaking;
use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{
		fungible::{Inspect, Mutate},
		Get,
	},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::traits::{One, Saturating};
use stratus_primitives::{GpuSpec, JobKind, MAX_ENDPOINT_LEN, MAX_GPU_CLASSES, MAX_GPU_MODEL_LEN};

/// The largest profile there is: both job kinds, every GPU class with the longest model name,
/// and the longest endpoint.
fn max_profile() -> CapabilityProfile {
	let gpu = GpuSpec {
		model: BoundedVec::truncate_from(vec![b'G'; MAX_GPU_MODEL_LEN as usize]),
		vram_mib: 81_920,
		compute_capability: 90,
		driver_version: 55_054,
		cuda_version: 12_040,
		count: 8,
	};
	let mut endpoint = b"https://".to_vec();
	endpoint.resize(MAX_ENDPOINT_LEN as usize, b'e');
	CapabilityProfile {
		kinds: BoundedVec::truncate_from(vec![JobKind::Wasm, JobKind::Cuda]),
		gpus: BoundedVec::truncate_from(vec![gpu; MAX_GPU_CLASSES as usize]),
		cpu_cores: u16::MAX,
		memory_mib: u32::MAX,
		region: u16::MAX,
		endpoint: Some(BoundedVec::truncate_from(endpoint)),
	}
}

/// `slots` slots' worth of stake.
fn stake_for<T: Config>(slots: u32) -> BalanceOf<T> {
	T::MinStakePerSlot::get().saturating_mul(slots.into())
}

/// Give `who` `stake` to bond and then some.
fn fund<T: Config>(who: &T::AccountId, stake: BalanceOf<T>) {
	let margin = T::Currency::minimum_balance().saturating_mul(10u32.into());
	T::Currency::set_balance(who, stake.saturating_mul(2u32.into()).saturating_add(margin));
}

/// Register `who` with the largest profile and `slots` slots' worth of stake.
fn registered<T: Config>(who: &T::AccountId, slots: u32) -> Result<(), BenchmarkError> {
	let stake = stake_for::<T>(slots);
	fund::<T>(who, stake);
	ProviderStaking::<T>::do_register(who.clone(), who.clone(), max_profile(), stake)?;
	Ok(())
}

/// Fill all but `free` of `who`'s unbonding chunks, one slot's worth each, one block apart, and
/// leave the chain at the next block.
fn fill_unbonding<T: Config>(who: &T::AccountId, free: u32) -> Result<(), BenchmarkError> {
	for _ in 0..T::MaxUnbondingChunks::get().saturating_sub(free) {
		ProviderStaking::<T>::do_unbond(who.clone(), T::MinStakePerSlot::get())?;
		advance::<T>(One::one());
	}
	Ok(())
}

/// A new worker key and its consent to sign for `operator` on this chain.
fn consenting<T: Config>(operator: &T::AccountId) -> (T::AccountId, T::WorkerProof) {
	let payload =
		stratus_primitives::worker_key_payload(operator, &ProviderStaking::<T>::genesis_hash());
	T::BenchmarkHelper::worker_key(&payload)
}

fn advance<T: Config>(blocks: BlockNumberFor<T>) {
	let now = frame_system::Pallet::<T>::block_number();
	frame_system::Pallet::<T>::set_block_number(now.saturating_add(blocks));
}

fn assert_last_event<T: Config>(event: Event<T>) {
	frame_system::Pallet::<T>::assert_last_event(event.into());
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// With a worker key other than the operator, whose consent is checked.
	#[benchmark]
	fn register() {
		let caller: T::AccountId = whitelisted_caller();
		let (worker, proof) = consenting::<T>(&caller);
		let stake = stake_for::<T>(10);
		fund::<T>(&caller, stake);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), worker.clone(), max_profile(), stake, Some(proof));

		assert_last_event::<T>(Event::ProviderRegistered { provider: caller, worker, stake });
	}

	#[benchmark]
	fn bond_extra() -> Result<(), BenchmarkError> {
		let caller: T::AccountId = whitelisted_caller();
		registered::<T>(&caller, 1)?;
		let amount = stake_for::<T>(1);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), amount);

		assert_last_event::<T>(Event::StakeBonded { provider: caller, amount });
		Ok(())
	}

	#[benchmark]
	fn unbond() -> Result<(), BenchmarkError> {
		let caller: T::AccountId = whitelisted_caller();
		let chunks = T::MaxUnbondingChunks::get();
		registered::<T>(&caller, chunks.saturating_add(1))?;
		// The last free chunk is the one this unbond opens.
		fill_unbonding::<T>(&caller, 1)?;
		let amount = T::MinStakePerSlot::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), amount);

		let unlock_at =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		assert_last_event::<T>(Event::StakeUnbonding { provider: caller, amount, unlock_at });
		Ok(())
	}

	#[benchmark]
	fn withdraw_unbonded() -> Result<(), BenchmarkError> {
		// Worst case: a leaving provider withdrawing a full queue, which removes its record.
		let caller: T::AccountId = whitelisted_caller();
		let chunks = T::MaxUnbondingChunks::get();
		registered::<T>(&caller, chunks.saturating_add(1))?;
		fill_unbonding::<T>(&caller, 1)?;
		ProviderStaking::<T>::do_deregister(caller.clone())?;
		advance::<T>(T::UnbondingPeriod::get());

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		assert!(!Providers::<T>::contains_key(&caller));
		assert_last_event::<T>(Event::ProviderRemoved { provider: caller });
		Ok(())
	}

	#[benchmark]
	fn rotate_worker_key() -> Result<(), BenchmarkError> {
		let caller: T::AccountId = whitelisted_caller();
		registered::<T>(&caller, 1)?;
		let (new, proof) = consenting::<T>(&caller);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), new.clone(), Some(proof));

		assert_last_event::<T>(Event::WorkerKeyRotated {
			provider: caller.clone(),
			old: caller,
			new,
		});
		Ok(())
	}

	#[benchmark]
	fn update_profile() -> Result<(), BenchmarkError> {
		let caller: T::AccountId = whitelisted_caller();
		registered::<T>(&caller, 1)?;
		let mut profile = max_profile();
		profile.region = 1;

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), profile);

		assert_last_event::<T>(Event::ProfileUpdated { provider: caller });
		Ok(())
	}

	#[benchmark]
	fn deregister() -> Result<(), BenchmarkError> {
		let caller: T::AccountId = whitelisted_caller();
		let chunks = T::MaxUnbondingChunks::get();
		registered::<T>(&caller, chunks.saturating_add(1))?;
		fill_unbonding::<T>(&caller, 1)?;

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		let unlock_at =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		assert_last_event::<T>(Event::ProviderDeregistering { provider: caller, unlock_at });
		Ok(())
	}

	impl_benchmark_test_suite!(ProviderStaking, crate::mock::new_test_ext(), crate::mock::Test);
}

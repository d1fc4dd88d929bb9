//! Benchmarks: the costliest commit, and the reveal that completes a job of the largest
//! replication and settles it.

use super::*;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;
use sp_core::H256;

#[benchmarks]
mod benches {
	use super::*;

	#[benchmark]
	fn commit() {
		let (job, replica, signer, _) =
			<T::BenchmarkHelper as crate::BenchmarkHelper<_>>::open_replica(u8::MAX, false);
		let commitment = H256::repeat_byte(7);

		#[extrinsic_call]
		_(RawOrigin::Signed(signer), job, replica, commitment);

		assert_eq!(Commitments::<T>::get(job, replica), Some(commitment));
	}

	#[benchmark]
	fn reveal() {
		let (job, replica, signer, provider) =
			<T::BenchmarkHelper as crate::BenchmarkHelper<_>>::open_replica(u8::MAX, true);
		let digest = H256::repeat_byte(7);
		let salt = [1; 32];
		let units = 1_000;
		let genesis = Pallet::<T>::genesis_hash();
		let commitment = stratus_primitives::commitment(
			&genesis, job, replica, &provider, units, &digest, &salt,
		);
		Commitments::<T>::insert(job, replica, commitment);

		#[extrinsic_call]
		_(RawOrigin::Signed(signer), job, replica, digest, units, salt);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

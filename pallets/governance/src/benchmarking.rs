//! Benchmarks: setting a parameter (the runtime's benchmark parameter, `RuntimeParameters`'
//! `Default`, must lie inside its bounds).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::EnsureOriginWithArg;

#[benchmarks(where T::RuntimeParameters: Default)]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn set_parameter() {
		let key_value = T::RuntimeParameters::default();
		let (key, value) = key_value.clone().into_parts();
		let origin = T::ParameterOrigin::try_successful_origin(&key).unwrap();

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, key_value);

		assert_eq!(pallet_parameters::Parameters::<T>::get(&key), value);
	}

	#[benchmark]
	fn settle_submission_deposit() {
		let index = T::KeptDeposits::rejected_with_deposit();
		let caller: T::AccountId = whitelisted_caller();

		#[extrinsic_call]
		_(frame_system::RawOrigin::Signed(caller), index);

		assert!(T::KeptDeposits::settle(index).is_err(), "settled once");
	}
}

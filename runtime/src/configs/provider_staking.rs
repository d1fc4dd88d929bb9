//! `pallet_provider_staking`: the provider registry and the stake behind every offered slot.

use crate::{Balances, BlockNumber, Runtime, RuntimeHoldReason, DAYS};
use frame_support::{parameter_types, traits::ConstU32};

pub use super::parameters::dynamic_params::provider_staking::MinStakePerSlot;

parameter_types! {
	/// Unbonded stake stays held (and slashable) for eight days: the longest job (seven days)
	/// plus the longest slash defer period (a day), so that a provider cannot leave with the
	/// stake a slash is about to take.
	pub const UnbondingPeriod: BlockNumber = 8 * DAYS;
}

impl pallet_provider_staking::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	/// 10 STRAT by default; a `staking_admin` referendum may change it (`super::parameters`).
	/// Offers already made keep their slots until they are changed.
	type MinStakePerSlot = MinStakePerSlot;
	type UnbondingPeriod = UnbondingPeriod;
	type MaxUnbondingChunks = ConstU32<16>;
	type WeightInfo = crate::weights::pallet_provider_staking::WeightInfo<Runtime>;
	/// An sr25519, ed25519 or ecdsa signature by the worker key.
	type WorkerProof = crate::Signature;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = BenchmarkWorkerKeys;
}

/// Worker keys for the benchmarks: sr25519 keys made in the benchmark's keystore.
#[cfg(feature = "runtime-benchmarks")]
pub struct BenchmarkWorkerKeys;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_provider_staking::BenchmarkHelper<crate::AccountId, crate::Signature>
	for BenchmarkWorkerKeys
{
	// Benchmark set-up: a key the keystore cannot sign with is a broken benchmark, reported as such.
	#[allow(clippy::expect_used)]
	fn worker_key(payload: &[u8]) -> (crate::AccountId, crate::Signature) {
		use sp_core::crypto::key_types::ACCOUNT;
		let public = sp_io::crypto::sr25519_generate(ACCOUNT, None);
		let signature = sp_io::crypto::sr25519_sign(ACCOUNT, &public, payload)
			.expect("the keystore holds the key it has just made");
		(public.into(), signature.into())
	}
}

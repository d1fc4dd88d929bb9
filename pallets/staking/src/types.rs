//! The records this pallet stores.

use crate::Config;
use codec::{Decode, Encode, MaxEncodedLen};
use frame_support::{
	traits::fungible::Inspect, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use sp_runtime::traits::{Saturating, Zero};
use stratus_primitives::{CapabilityProfile, JobKind};

/// The balance type of the currency the stake is held in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Stake on its way out: still held, withdrawable from `unlock_at`.
#[derive(Clone, Copy, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEq, Eq, Debug)]
pub struct UnbondingChunk<Balance, BlockNumber> {
	/// How much is unbonding.
	pub amount: Balance,
	/// The first block at which `withdraw_unbonded` releases it.
	pub unlock_at: BlockNumber,
}

/// The unbonding chunk type of a runtime.
pub type UnbondingChunkOf<T> = UnbondingChunk<BalanceOf<T>, BlockNumberFor<T>>;

/// Where a provider is in its life.
#[derive(Clone, Copy, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEq, Eq, Debug)]
pub enum ProviderStatus {
	/// Registered and visible to the market.
	Active,
	/// Deregistered: invisible to the market, all stake unbonding; removed once withdrawn.
	Leaving,
}

/// A registered provider, keyed by its operator account.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound())]
pub struct ProviderInfo<T: Config> {
	/// The worker key that may sign market and verification calls for the provider.
	pub worker: T::AccountId,
	/// What the provider's machine can do.
	pub profile: CapabilityProfile,
	/// Active stake: bonded, held, and counted against reserved slots.
	pub stake: BalanceOf<T>,
	/// Stake unbonding, still held, in the order it was unbonded.
	pub unbonding: BoundedVec<UnbondingChunkOf<T>, T::MaxUnbondingChunks>,
	/// Slots the market holds against the active stake.
	pub reserved_slots: u32,
	/// Active or leaving.
	pub status: ProviderStatus,
	/// The block the provider registered in.
	pub registered_at: BlockNumberFor<T>,
	/// Stake frozen by pending slashes (`pallet-slashing`): it can neither unbond nor be
	/// withdrawn until each slash is applied or cancelled. At most the stake held.
	pub frozen: BalanceOf<T>,
	/// Stake taken by applied slashes, over the provider's life.
	pub slashed: BalanceOf<T>,
}

impl<T: Config> ProviderInfo<T> {
	/// Whether the provider is visible to the market.
	pub fn is_active(&self) -> bool {
		self.status == ProviderStatus::Active
	}

	/// Everything held: active stake and unbonding chunks.
	pub fn held(&self) -> BalanceOf<T> {
		self.stake.saturating_add(self.unbonding_total())
	}

	/// The stake still unbonding, in total.
	pub fn unbonding_total(&self) -> BalanceOf<T> {
		self.unbonding.iter().fold(Zero::zero(), |total, chunk| total.saturating_add(chunk.amount))
	}
}

/// Whether `profile` is well formed: it runs at least one job kind; it lists a GPU when it runs
/// CUDA; every GPU class has a model name, a count and memory; its endpoint, if any, is HTTP(S).
pub fn profile_is_valid(profile: &CapabilityProfile) -> bool {
	if profile.kinds.is_empty() {
		return false;
	}
	if profile.supports(JobKind::Cuda) && profile.gpus.is_empty() {
		return false;
	}
	let gpus_ok =
		profile.gpus.iter().all(|gpu| !gpu.model.is_empty() && gpu.count > 0 && gpu.vram_mib > 0);
	let endpoint_ok = profile.endpoint.as_ref().is_none_or(|endpoint| {
		endpoint.starts_with(b"http://") || endpoint.starts_with(b"https://")
	});
	gpus_ok && endpoint_ok
}

//! How other pallets see this one: the [`ProviderRegistry`] the market uses and the
//! [`StakeManager`] slashing uses.

use crate::*;
use frame_support::traits::Get;
use sp_runtime::traits::Saturating;
use sp_runtime::{traits::Zero, DispatchResult};
use stratus_primitives::StakeManager;

impl<T: Config> ProviderRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn profile(who: &T::AccountId) -> Option<CapabilityProfile> {
		Providers::<T>::get(who).filter(ProviderInfo::is_active).map(|info| info.profile)
	}

	fn stake(who: &T::AccountId) -> BalanceOf<T> {
		Providers::<T>::get(who)
			.filter(ProviderInfo::is_active)
			.map_or_else(Zero::zero, |info| info.stake)
	}

	fn standing(who: &T::AccountId) -> Option<Standing<BalanceOf<T>>> {
		let info = Providers::<T>::get(who).filter(ProviderInfo::is_active)?;
		// Stake under a pending slash is spoken for: it backs no new work.
		let backing = info.stake.saturating_sub(info.frozen);
		let slots_covered = Self::backs(backing, info.reserved_slots);
		Some(Standing { profile: info.profile, stake: backing, slots_covered })
	}

	fn provider_of(signer: &T::AccountId) -> Option<T::AccountId> {
		if Providers::<T>::get(signer).is_some_and(|info| info.is_active()) {
			return Some(signer.clone());
		}
		WorkerKeys::<T>::get(signer)
			.filter(|operator| Providers::<T>::get(operator).is_some_and(|info| info.is_active()))
	}

	fn reserved_slots(who: &T::AccountId) -> u32 {
		Providers::<T>::get(who).map_or(0, |info| info.reserved_slots)
	}

	fn can_serve(who: &T::AccountId, extra: u32) -> bool {
		Providers::<T>::get(who)
			.filter(ProviderInfo::is_active)
			.is_some_and(|info| Self::covers(&info, extra))
	}

	fn reserve_slots(who: &T::AccountId, slots: u32) -> DispatchResult {
		Providers::<T>::try_mutate(who, |maybe_info| {
			let info = maybe_info
				.as_mut()
				.filter(|info| info.is_active())
				.ok_or(Error::<T>::NotProvider)?;
			let reserved =
				info.reserved_slots.checked_add(slots).ok_or(Error::<T>::StakeTooLowForSlots)?;
			let required =
				Self::stake_for_slots(reserved).ok_or(Error::<T>::StakeTooLowForSlots)?;
			frame_support::ensure!(info.stake >= required, Error::<T>::StakeTooLowForSlots);
			info.reserved_slots = reserved;
			Ok(())
		})
	}

	fn release_slots(who: &T::AccountId, slots: u32) {
		Providers::<T>::mutate_extant(who, |info| {
			info.reserved_slots = info.reserved_slots.saturating_sub(slots);
		});
	}
}

impl<T: Config> Pallet<T> {
	/// Whether the provider's active stake covers its reserved slots plus `extra`.
	fn covers(info: &ProviderInfo<T>, extra: u32) -> bool {
		info.reserved_slots.checked_add(extra).is_some_and(|slots| Self::backs(info.stake, slots))
	}

	/// Whether `stake` covers `slots` slots.
	fn backs(stake: BalanceOf<T>, slots: u32) -> bool {
		Self::stake_for_slots(slots).is_some_and(|required| stake >= required)
	}
}

impl<T: Config> StakeManager<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn slot_stake() -> BalanceOf<T> {
		T::MinStakePerSlot::get()
	}

	fn freeze(who: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		let Some(mut info) = Providers::<T>::get(who) else { return Zero::zero() };
		let frozen = amount.min(info.held().saturating_sub(info.frozen));
		info.frozen = info.frozen.saturating_add(frozen);
		Providers::<T>::insert(who, info);
		frozen
	}

	fn thaw(who: &T::AccountId, amount: BalanceOf<T>) {
		Providers::<T>::mutate(who, |info| {
			if let Some(info) = info {
				info.frozen = info.frozen.saturating_sub(amount);
			}
		});
	}

	fn slash(who: &T::AccountId, amount: BalanceOf<T>, to: &T::AccountId) -> BalanceOf<T> {
		use frame_support::traits::{
			fungible::MutateHold,
			tokens::{Fortitude, Precision, Restriction},
		};
		let Some(mut info) = Providers::<T>::get(who) else { return Zero::zero() };
		let take = amount.min(info.frozen).min(info.held());
		if take.is_zero() {
			return take;
		}
		let Ok(paid) = T::Currency::transfer_on_hold(
			&Self::hold_reason(),
			who,
			to,
			take,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		) else {
			// The beneficiary cannot receive it (an account below the existential deposit): the
			// stake stays frozen and held, and the slashing pallet sends it elsewhere.
			return Zero::zero();
		};
		// Unbonding stake goes first (newest first), so that the stake behind running work is
		// touched last.
		let mut left = paid;
		for chunk in info.unbonding.iter_mut().rev() {
			let cut = left.min(chunk.amount);
			chunk.amount = chunk.amount.saturating_sub(cut);
			left = left.saturating_sub(cut);
		}
		info.unbonding.retain(|chunk| !chunk.amount.is_zero());
		info.stake = info.stake.saturating_sub(left);
		info.frozen = info.frozen.saturating_sub(paid);
		info.slashed = info.slashed.saturating_add(paid);
		Self::deposit_event(Event::StakeSlashed { provider: who.clone(), amount: paid });
		Self::store_or_remove(who.clone(), info);
		paid
	}

	fn frozen(who: &T::AccountId) -> BalanceOf<T> {
		Providers::<T>::get(who).map_or_else(Zero::zero, |info| info.frozen)
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl<T: Config> Pallet<T> {
	/// Registers `who` as a provider with `profile`, staked for `slots` slots: what other
	/// pallets' benchmark helpers call (`runtime-benchmarks` only).
	pub fn register_for_benchmarks(who: &T::AccountId, profile: CapabilityProfile, slots: u32) {
		use frame_support::traits::{
			fungible::{Inspect, Mutate},
			Get,
		};
		use sp_runtime::traits::Saturating;

		let stake = Self::stake_for_slots(slots.max(1)).unwrap_or_else(T::MinStakePerSlot::get);
		// Twice the existential deposit on top, so the account stays alive after the hold.
		let margin = T::Currency::minimum_balance().saturating_mul(2u32.into());
		T::Currency::set_balance(who, stake.saturating_add(margin));
		if let Err(error) = Self::do_register(who.clone(), who.clone(), profile, stake) {
			frame_support::defensive!(error, "registering a benchmark provider failed");
		}
	}
}

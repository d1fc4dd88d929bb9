//! Reporting, applying and cancelling slashes; the [`OnOffence`] the market reports to.

use crate::*;
use alloc::vec::Vec;
use frame_support::{pallet_prelude::*, weights::WeightMeter};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	traits::{CheckedDiv, One, Saturating, Zero},
	Perbill,
};
use stratus_primitives::{Offence, OnOffence, StakeManager};

impl<T: Config> OnOffence<T::AccountId> for Pallet<T> {
	fn on_offence(offence: Offence<T::AccountId>) {
		let Offence { provider, job, replica, kind, requester, honest } = offence;
		Self::deposit_event(Event::OffenceReported {
			provider: provider.clone(),
			job,
			replica,
			offence: kind,
		});
		let params = Self::params();
		let amount = params.fraction(kind).mul_floor(T::Stake::slot_stake());
		let amount = T::Stake::freeze(&provider, amount);
		if amount.is_zero() {
			// Nothing left to take (or a zero fraction): the offence stays on record only.
			return;
		}
		let now = frame_system::Pallet::<T>::block_number();
		let apply_at = now.saturating_add(params.defer_period.max(One::one()));
		let id = NextSlashId::<T>::get();
		NextSlashId::<T>::put(id.saturating_add(1));
		let pending = PendingSlash::<T> {
			provider: provider.clone(),
			job,
			replica,
			offence: kind,
			amount,
			reported_at: now,
			apply_at,
			requester,
			honest: BoundedVec::truncate_from(honest),
			requester_share: params.requester_share,
			honest_share: params.honest_share,
		};
		PendingSlashes::<T>::insert(id, pending);
		SlashQueue::<T>::insert(apply_at, id, ());
		ProviderPending::<T>::insert(&provider, id, ());
		Self::deposit_event(Event::SlashDeferred {
			id,
			provider,
			job,
			replica,
			offence: kind,
			amount,
			apply_at,
		});
	}
}

impl<T: Config> Pallet<T> {
	/// The parameters in force.
	pub fn params() -> SlashParams<BlockNumberFor<T>> {
		Params::<T>::get().unwrap_or_else(T::DefaultParams::get)
	}

	/// Whether the shares of `params` add up to at most the whole slash.
	pub(crate) fn params_are_valid(params: &SlashParams<BlockNumberFor<T>>) -> bool {
		params.requester_share.deconstruct().saturating_add(params.honest_share.deconstruct())
			<= Perbill::one().deconstruct()
	}

	/// Whether `defer_period` lies in `max(1, MinDeferPeriod) ..= MaxDeferPeriod`.
	pub(crate) fn check_defer_period(defer_period: BlockNumberFor<T>) -> DispatchResult {
		ensure!(
			!defer_period.is_zero() && defer_period >= T::MinDeferPeriod::get(),
			Error::<T>::DeferPeriodTooShort
		);
		ensure!(defer_period <= T::MaxDeferPeriod::get(), Error::<T>::BadDeferPeriod);
		Ok(())
	}

	/// Apply every slash due by `now`, within `MaxApplyWeight`.
	pub(crate) fn apply_due(now: BlockNumberFor<T>) -> Weight {
		let mut meter = WeightMeter::with_limit(T::MaxApplyWeight::get());
		let per_block = T::WeightInfo::apply_block();
		let per_slash = T::WeightInfo::apply_slash(T::MaxHonest::get());
		let mut block = QueueCursor::<T>::get().unwrap_or(now);
		while block <= now {
			if meter.try_consume(per_block).is_err() {
				break;
			}
			// Oldest first.
			let mut due: Vec<SlashId> = SlashQueue::<T>::iter_key_prefix(block).collect();
			due.sort_unstable();
			for id in due {
				if meter.try_consume(per_slash).is_err() {
					QueueCursor::<T>::put(block);
					return meter.consumed();
				}
				SlashQueue::<T>::remove(block, id);
				Self::apply(id, now);
			}
			block = block.saturating_add(One::one());
		}
		QueueCursor::<T>::put(block);
		meter.consumed()
	}

	/// Apply pending slash `id`: take its frozen stake and pay it out.
	pub(crate) fn apply(id: SlashId, now: BlockNumberFor<T>) {
		let Some(slash) = PendingSlashes::<T>::take(id) else { return };
		ProviderPending::<T>::remove(&slash.provider, id);
		let fee = T::FeeAccount::get();
		let provider = &slash.provider;
		// Pay `amount` to `to`, or to the fee account when `to` cannot receive it.
		let pay = |to: &T::AccountId, amount: BalanceOf<T>| -> (BalanceOf<T>, BalanceOf<T>) {
			if amount.is_zero() {
				return (Zero::zero(), Zero::zero());
			}
			let paid = T::Stake::slash(provider, amount, to);
			let rerouted = if paid < amount && to != &fee {
				T::Stake::slash(provider, amount.saturating_sub(paid), &fee)
			} else {
				Zero::zero()
			};
			(paid, rerouted)
		};
		let (to_requester, mut to_fee) =
			pay(&slash.requester, slash.requester_share.mul_floor(slash.amount));
		let mut to_honest = BalanceOf::<T>::zero();
		let honest_total = if slash.honest.is_empty() {
			Zero::zero()
		} else {
			slash.honest_share.mul_floor(slash.amount)
		};
		let count = BalanceOf::<T>::from(slash.honest.len() as u32);
		let each = honest_total.checked_div(&count).unwrap_or_else(Zero::zero);
		for honest in slash.honest.iter() {
			let (paid, rerouted) = pay(honest, each);
			to_honest = to_honest.saturating_add(paid);
			to_fee = to_fee.saturating_add(rerouted);
		}
		let rest = slash.amount.saturating_sub(to_requester).saturating_sub(to_honest);
		let rest = rest.saturating_sub(to_fee);
		to_fee = to_fee.saturating_add(T::Stake::slash(provider, rest, &fee));
		let taken = to_requester.saturating_add(to_honest).saturating_add(to_fee);
		// Whatever could not be taken (the stake was gone) is no longer frozen for this slash.
		T::Stake::thaw(provider, slash.amount.saturating_sub(taken));
		AppliedSlashes::<T>::mutate(provider, |history| {
			if history.is_full() {
				history.remove(0);
			}
			let _ = history.try_push(AppliedSlash {
				id,
				job: slash.job,
				replica: slash.replica,
				offence: slash.offence,
				amount: taken,
				applied_at: now,
			});
		});
		Self::deposit_event(Event::SlashApplied {
			id,
			provider: provider.clone(),
			amount: taken,
			to_requester,
			to_honest,
			to_fee,
		});
	}

	/// Cancel pending slash `id` and thaw its stake.
	pub(crate) fn do_cancel(id: SlashId) -> DispatchResult {
		let slash = PendingSlashes::<T>::take(id).ok_or(Error::<T>::UnknownSlash)?;
		SlashQueue::<T>::remove(slash.apply_at, id);
		ProviderPending::<T>::remove(&slash.provider, id);
		T::Stake::thaw(&slash.provider, slash.amount);
		Self::deposit_event(Event::SlashCancelled {
			id,
			provider: slash.provider,
			amount: slash.amount,
		});
		Ok(())
	}

	/// The pending slashes of `provider`, oldest first (runtime API).
	pub fn pending_slashes(
		provider: T::AccountId,
	) -> Vec<PendingSlashView<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		let mut ids: Vec<SlashId> = ProviderPending::<T>::iter_key_prefix(&provider).collect();
		ids.sort_unstable();
		ids.into_iter()
			.filter_map(|id| {
				PendingSlashes::<T>::get(id).map(|s| PendingSlashView {
					id,
					provider: s.provider,
					job: s.job,
					replica: s.replica,
					offence: s.offence,
					amount: s.amount,
					reported_at: s.reported_at,
					apply_at: s.apply_at,
				})
			})
			.collect()
	}

	/// The newest applied slashes of `provider`, oldest first (runtime API).
	pub fn applied_slashes(
		provider: T::AccountId,
	) -> Vec<AppliedSlash<BalanceOf<T>, BlockNumberFor<T>>> {
		AppliedSlashes::<T>::get(provider).into_inner()
	}
}

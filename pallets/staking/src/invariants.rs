//! The pallet's invariants, checked after every test (`mock.rs`), by `try-runtime` and by other
//! pallets' tests that use this one (so they are built with `std`, not only in this crate's tests).

use crate::*;
use sp_runtime::traits::Zero;

impl<T: Config> Pallet<T> {
	/// Checks the pallet's invariants:
	///
	/// 1. **Holds match records.** For every provider, the balance held under
	///    [`HoldReason::ProviderStake`] equals its active stake plus all its unbonding chunks.
	/// 2. **Worker keys are a bijection.** Every [`WorkerKeys`] entry points to an active provider
	///    whose `worker` is that key, and every active provider's `worker` is in [`WorkerKeys`]
	///    pointing back to it. Leaving providers have no worker key.
	/// 3. **Leaving providers hold nothing active.** A leaving provider has no reserved slots and
	///    zero active stake; only unbonding chunks remain.
	/// 4. **Slots are covered.** Every active provider's stake is at least
	///    `MinStakePerSlot × reserved_slots`, unless a slash took stake from it: matching then
	///    passes it over (its slots are not covered) until it bonds more.
	/// 6. **Frozen stake is held.** A provider's `frozen` stake is at most what it holds.
	/// 5. **Signers are unambiguous.** A worker key is never another provider's operator
	///    account, so [`ProviderRegistry::provider_of`] has one answer.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use frame_support::{ensure, traits::fungible::InspectHold};
		use sp_runtime::traits::Saturating;

		let reason = Self::hold_reason();
		for (who, info) in Providers::<T>::iter() {
			let held = T::Currency::balance_on_hold(&reason, &who);
			ensure!(
				held == info.stake.saturating_add(info.unbonding_total()),
				"(1) balance on hold differs from active plus unbonding stake"
			);
			ensure!(info.frozen <= info.held(), "(6) more stake frozen than held");
			match info.status {
				ProviderStatus::Active => {
					ensure!(
						WorkerKeys::<T>::get(&info.worker).as_ref() == Some(&who),
						"(2) an active provider's worker key does not point back to it"
					);
					let required = Self::stake_for_slots(info.reserved_slots)
						.ok_or("(4) stake needed for the reserved slots overflows")?;
					ensure!(
						info.stake >= required || !info.slashed.is_zero(),
						"(4) stake does not cover the reserved slots"
					);
				},
				ProviderStatus::Leaving => ensure!(
					info.reserved_slots == 0 && info.stake.is_zero(),
					"(3) a leaving provider has reserved slots or active stake"
				),
			}
		}
		for (worker, operator) in WorkerKeys::<T>::iter() {
			let info =
				Providers::<T>::get(&operator).ok_or("(2) a worker key points to no provider")?;
			ensure!(
				info.is_active() && info.worker == worker,
				"(2) a worker key points to a leaving provider or one with another key"
			);
			ensure!(
				worker == operator || !Providers::<T>::contains_key(&worker),
				"(5) a worker key is another provider's operator account"
			);
		}
		Ok(())
	}
}

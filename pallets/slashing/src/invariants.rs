//! The pallet's invariants, checked after every test (`mock.rs`), by `try-runtime` and by other
//! pallets' tests that use this one (so they are built with `std`, not only in this crate's tests).

use crate::*;
use frame_support::ensure;
use sp_runtime::traits::Saturating;
use stratus_primitives::StakeManager;

impl<T: Config> Pallet<T> {
	/// The pallet's invariants:
	///
	/// 1. **Indexed.** Every pending slash is in `SlashQueue` at its `apply_at` and in
	///    `ProviderPending` under its provider, and every entry of either is a pending slash.
	/// 2. **Not overdue.** No pending slash applies before the queue's cursor (the hook would
	///    never reach it).
	/// 3. **Frozen.** Each provider's frozen stake is at least the sum of its pending slashes.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		let cursor = QueueCursor::<T>::get();
		let mut owed: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (id, slash) in PendingSlashes::<T>::iter() {
			ensure!(SlashQueue::<T>::contains_key(slash.apply_at, id), "1: a slash not queued");
			ensure!(
				ProviderPending::<T>::contains_key(&slash.provider, id),
				"1: a slash not indexed by provider"
			);
			ensure!(cursor.is_none_or(|c| slash.apply_at >= c), "2: a slash the hook has passed");
			let total = owed.entry(slash.provider.clone()).or_default();
			*total = total.saturating_add(slash.amount);
		}
		for (_, id, ()) in SlashQueue::<T>::iter() {
			ensure!(PendingSlashes::<T>::contains_key(id), "1: a queued slash is not pending");
		}
		for (provider, id, ()) in ProviderPending::<T>::iter() {
			ensure!(
				PendingSlashes::<T>::get(id).is_some_and(|s| s.provider == provider),
				"1: a provider index without its slash"
			);
		}
		for (provider, total) in owed {
			ensure!(T::Stake::frozen(&provider) >= total, "3: less stake frozen than owed");
		}
		Ok(())
	}
}

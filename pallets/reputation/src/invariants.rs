//! The pallet's invariants, checked after every test, by `try-runtime` and by the runtime fuzzer
//! (so they are built with `std`, not only in this crate's tests).

use crate::*;
use frame_support::ensure;

impl<T: Config> Pallet<T> {
	/// The pallet's invariants:
	///
	/// 1. **Not from the future.** No record was discounted after the current block.
	/// 2. **Bounded.** Both counts are at most [`math::MAX_COUNT`].
	/// 3. **Best run.** A record's best run is at least its current one.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let now = frame_system::Pallet::<T>::block_number();
		for (_, _, record) in Reputations::<T>::iter() {
			ensure!(record.updated_at <= now, "1: a record updated after the current block");
			ensure!(
				record.agreed <= math::MAX_COUNT && record.failed <= math::MAX_COUNT,
				"2: a count above MAX_COUNT"
			);
			ensure!(record.best_streak >= record.consecutive_valid, "3: a run above the best");
		}
		Ok(())
	}
}

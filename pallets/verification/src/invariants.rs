//! The pallet's invariants, checked after every test (`mock.rs`) and by `try-runtime`.

use crate::*;
use alloc::collections::btree_map::BTreeMap;
use frame_support::ensure;
use sp_core::H256;
use stratus_primitives::{JobId, ReplicaIndex};

impl<T: Config> Pallet<T> {
	/// The pallet's invariants:
	///
	/// 1. **No copied commitment.** No two replicas of one job hold the same commitment (`commit`
	///    refuses a copy; a copy that got in would let one provider's result be claimed twice).
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let mut seen: BTreeMap<(JobId, H256), ReplicaIndex> = BTreeMap::new();
		for (job, replica, commitment) in Commitments::<T>::iter() {
			ensure!(
				seen.insert((job, commitment), replica).is_none(),
				"1: two replicas of one job hold the same commitment"
			);
		}
		Ok(())
	}
}

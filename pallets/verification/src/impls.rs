//! The [`Verifier`] the market judges results with.

use crate::{quorum, Commitments, Config, Pallet};
use sp_core::H256;
use stratus_primitives::{JobId, JobKind, Reveal, Verdict, Verifier};

impl<T: Config> Verifier for Pallet<T> {
	fn judge(kind: JobKind, replication: u8, reveals: &[Reveal]) -> Verdict {
		quorum::judge(kind, replication, reveals)
	}

	fn agrees(kind: JobKind, digest: H256, units: u64, reveal: &Reveal) -> bool {
		quorum::same_result(kind, &Reveal { replica: reveal.replica, digest, units }, reveal)
	}

	fn forget(job: JobId) {
		// At most 256 replicas per job (`ReplicaIndex` is a u8), so one call clears them all.
		let _ = Commitments::<T>::clear_prefix(job, u32::from(u8::MAX).saturating_add(1), None);
	}
}

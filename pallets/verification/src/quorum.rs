//! The quorum rule, as plain functions (property-tested in `tests.rs`).

use alloc::vec::Vec;
use sp_core::H256;
use stratus_primitives::{ReplicaIndex, Verdict};

/// How many agreeing replicas make a quorum for a job that asked for `replication` replicas: all
/// of them below three, a strict majority from three on.
pub fn quorum_size(replication: u8) -> u8 {
	if replication < 3 {
		replication.max(1)
	} else {
		(replication / 2).saturating_add(1)
	}
}

/// Judge `reveals` against [`quorum_size`]: the digest revealed by a quorum is canonical;
/// otherwise disagreement is a dispute and agreement among too few is inconclusive.
pub fn judge(replication: u8, reveals: &[(ReplicaIndex, H256)]) -> Verdict {
	let mut best: Option<(H256, usize)> = None;
	let mut distinct = 0usize;
	for (i, (_, digest)) in reveals.iter().enumerate() {
		// Count each digest once, at its first occurrence.
		if reveals.iter().take(i).any(|(_, d)| d == digest) {
			continue;
		}
		distinct = distinct.saturating_add(1);
		let count = reveals.iter().filter(|(_, d)| d == digest).count();
		if best.is_none_or(|(_, c)| count > c) {
			best = Some((*digest, count));
		}
	}
	match best {
		Some((digest, count)) if count >= usize::from(quorum_size(replication)) => {
			let agreeing: Vec<ReplicaIndex> =
				reveals.iter().filter(|(_, d)| *d == digest).map(|(r, _)| *r).collect();
			Verdict::Canonical { digest, agreeing }
		},
		_ if distinct > 1 => Verdict::Disputed,
		_ => Verdict::Inconclusive,
	}
}

/// The commitment a worker submits: `blake2_256(digest ‖ salt)`.
pub fn commitment(digest: &H256, salt: &[u8; 32]) -> H256 {
	let mut preimage = [0u8; 64];
	let (head, tail) = preimage.split_at_mut(32);
	head.copy_from_slice(digest.as_bytes());
	tail.copy_from_slice(salt);
	H256(sp_io::hashing::blake2_256(&preimage))
}

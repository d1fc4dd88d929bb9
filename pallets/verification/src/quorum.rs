//! The quorum rule, as plain functions (property-tested in `tests.rs`).

use alloc::vec::Vec;
use stratus_primitives::{JobKind, Reveal, Verdict};

/// How many agreeing replicas make a quorum for a job that asked for `replication` replicas: all
/// of them below three, a strict majority from three on.
pub fn quorum_size(replication: u8) -> u8 {
	if replication < 3 {
		replication.max(1)
	} else {
		(replication / 2).saturating_add(1)
	}
}

/// Whether two reveals report the same result: the same digest and, for WASM jobs (whose units
/// are deterministic), the same units. CUDA units are GPU milliseconds, which differ between
/// honest runs, so CUDA results agree on the digest alone.
pub fn same_result(kind: JobKind, a: &Reveal, b: &Reveal) -> bool {
	a.digest == b.digest && (kind == JobKind::Cuda || a.units == b.units)
}

/// The lower median of `units` (the smaller middle value of an even count); 0 for none.
pub fn lower_median(mut units: Vec<u64>) -> u64 {
	units.sort_unstable();
	let middle = units.len().saturating_sub(1) / 2;
	units.get(middle).copied().unwrap_or(0)
}

/// Judge `reveals` against [`quorum_size`]: the result ([`same_result`]) revealed by a quorum is
/// canonical, and pays its units (WASM: the units the quorum agreed on; CUDA: the quorum's
/// [`lower_median`]); otherwise disagreement is a dispute and agreement among too few is
/// inconclusive. A replica that revealed the timeout record
/// ([`stratus_primitives::abstains`]) abstains: a wall-clock timeout depends on the
/// provider's machine, so it is neither a result to agree with nor one to dispute.
pub fn judge(kind: JobKind, replication: u8, reveals: &[Reveal]) -> Verdict {
	let reveals: Vec<Reveal> =
		reveals.iter().filter(|r| !stratus_primitives::abstains(&r.digest)).copied().collect();
	let reveals = reveals.as_slice();
	let mut best: Option<(&Reveal, usize)> = None;
	let mut distinct = 0usize;
	for (i, reveal) in reveals.iter().enumerate() {
		// Count each result once, at its first occurrence.
		if reveals.iter().take(i).any(|r| same_result(kind, r, reveal)) {
			continue;
		}
		distinct = distinct.saturating_add(1);
		let count = reveals.iter().filter(|r| same_result(kind, r, reveal)).count();
		if best.is_none_or(|(_, c)| count > c) {
			best = Some((reveal, count));
		}
	}
	match best {
		Some((result, count)) if count >= usize::from(quorum_size(replication)) => {
			let quorum: Vec<&Reveal> =
				reveals.iter().filter(|r| same_result(kind, r, result)).collect();
			let units = match kind {
				JobKind::Wasm => result.units,
				JobKind::Cuda => lower_median(quorum.iter().map(|r| r.units).collect()),
			};
			Verdict::Canonical {
				digest: result.digest,
				units,
				agreeing: quorum.iter().map(|r| r.replica).collect(),
				outvoted: reveals
					.iter()
					.filter(|r| !same_result(kind, r, result))
					.map(|r| r.replica)
					.collect(),
			}
		},
		_ if distinct > 1 => Verdict::Disputed,
		_ => Verdict::Inconclusive,
	}
}

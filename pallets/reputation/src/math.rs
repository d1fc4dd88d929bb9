//! The reputation formula, as plain functions (property-tested in `tests.rs`).
//!
//! A provider's record for one job kind holds two discounted counts — of results that agreed with
//! a verified quorum, and of failures (results outvoted by one, missed deadlines, disputes) — and
//! BOINC's count of consecutive valid results:
//!
//! - **Score** (a Beta-distribution mean with a uniform prior, as Acurast uses):
//!   `(agreed + 1) / (agreed + failed + 2)`, in `(0, 1)`; a newcomer scores ½.
//! - **Discounting**: both counts are multiplied by `keep` for every whole `period` of blocks
//!   since the record was last updated, so old behaviour fades and the score drifts back towards
//!   ½: a record must be kept up to stay high.
//! - **Consecutive valid**: one more for every agreement, back to zero on any failure
//!   (BOINC's adaptive replication trusts a host after a run of valid results).
//!
//! Counts are fixed point, [`ONE`] per event, and capped at [`MAX_COUNT`], so nothing overflows.

use codec::{Decode, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::{
	traits::{Saturating, UniqueSaturatedInto},
	Perbill,
};

/// One event in the fixed-point counts.
pub const ONE: u64 = 1_000_000;
/// The most either count may hold: a million events.
pub const MAX_COUNT: u64 = ONE * 1_000_000;

/// What happened to one of a provider's results.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
	/// It agreed with the verified quorum.
	Agreed,
	/// It was outside a verified quorum (a wrong digest or wrong units).
	Outvoted,
	/// The replica missed a deadline (acknowledgement, commit or reveal).
	Missed,
	/// The replicas disagreed without a quorum; every replica records it.
	Disputed,
}

/// A provider's reputation for one job kind.
#[derive(Clone, Copy, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEq, Eq, Debug, Default)]
pub struct Record<BlockNumber> {
	/// Discounted count of results that agreed with a verified quorum (fixed point, [`ONE`] each).
	pub agreed: u64,
	/// Discounted count of failures: outvoted results weigh `wrong_weight`, missed deadlines
	/// one, disputes a half.
	pub failed: u64,
	/// Results in a row that agreed with their quorum.
	pub consecutive_valid: u32,
	/// When the counts were last discounted.
	pub updated_at: BlockNumber,
	/// The longest run of valid results the provider has had for this kind (never discounted:
	/// what a requester reads as its track record; storage version 1).
	pub best_streak: u32,
}

/// The discounting and weights the formula uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rules {
	/// Blocks per discount step.
	pub period: u32,
	/// The share of both counts kept per step.
	pub keep: Perbill,
	/// How many failures one outvoted result counts as.
	pub wrong_weight: u32,
}

/// `count` discounted over `steps` whole periods.
pub fn discount(count: u64, steps: u32, keep: Perbill) -> u64 {
	keep.saturating_pow(steps as usize).mul_floor(count)
}

/// The Beta score of two counts: `(agreed + 1) / (agreed + failed + 2)`.
pub fn score(agreed: u64, failed: u64) -> Perbill {
	let a = agreed.min(MAX_COUNT).saturating_add(ONE);
	let total = a.saturating_add(failed.min(MAX_COUNT)).saturating_add(ONE);
	Perbill::from_rational(a, total)
}

impl<BlockNumber: Copy + UniqueSaturatedInto<u64>> Record<BlockNumber> {
	/// The score of this record as of block `now` (discounted to then).
	pub fn score_at(&self, now: BlockNumber, rules: &Rules) -> Perbill {
		let steps = Self::steps(self.updated_at, now, rules);
		score(discount(self.agreed, steps, rules.keep), discount(self.failed, steps, rules.keep))
	}

	/// This record after `outcome` at block `now`.
	pub fn updated(self, outcome: Outcome, now: BlockNumber, rules: &Rules) -> Self {
		let steps = Self::steps(self.updated_at, now, rules);
		// Only whole periods are discounted; the remainder carries over by keeping the old
		// reference block while no whole period has passed.
		let updated_at = if steps == 0 { self.updated_at } else { now };
		let mut agreed = discount(self.agreed, steps, rules.keep);
		let mut failed = discount(self.failed, steps, rules.keep);
		let mut consecutive_valid = self.consecutive_valid;
		match outcome {
			Outcome::Agreed => {
				agreed = agreed.saturating_add(ONE);
				consecutive_valid = consecutive_valid.saturating_add(1);
			},
			Outcome::Outvoted => {
				failed = failed.saturating_add(ONE.saturating_mul(rules.wrong_weight.into()));
				consecutive_valid = 0;
			},
			Outcome::Missed => {
				failed = failed.saturating_add(ONE);
				consecutive_valid = 0;
			},
			Outcome::Disputed => failed = failed.saturating_add(ONE / 2),
		}
		Self {
			agreed: agreed.min(MAX_COUNT),
			failed: failed.min(MAX_COUNT),
			consecutive_valid,
			updated_at,
			best_streak: self.best_streak.max(consecutive_valid),
		}
	}

	/// Whole discount periods between `from` and `now`.
	fn steps(from: BlockNumber, now: BlockNumber, rules: &Rules) -> u32 {
		let (now, from): (u64, u64) = (now.unique_saturated_into(), from.unique_saturated_into());
		let elapsed = now.saturating_sub(from);
		let steps = elapsed.checked_div(u64::from(rules.period.max(1))).unwrap_or(0);
		u32::try_from(steps).unwrap_or(u32::MAX)
	}
}

/// The chance, in `(floor, 1]`, that a job given to a provider alone is spot-checked, from its
/// run of valid results: `max(floor, scale / (scale + consecutive_valid))`. It halves by
/// `scale` valid results in a row and never falls below `floor`.
pub fn spot_check_rate(consecutive_valid: u32, scale: u32, floor: Perbill) -> Perbill {
	let scale = u64::from(scale.max(1));
	let rate = Perbill::from_rational(scale, scale.saturating_add(consecutive_valid.into()));
	rate.max(floor)
}

#![allow(clippy::arithmetic_side_effects)]

use crate::{
	math::{self, Outcome, Record, Rules, ONE},
	mock::*,
	Event, Reputations,
};
use proptest::prelude::*;
use sp_runtime::Perbill;
use stratus_primitives::{JobKind, ReputationProvider, ResultOutcome};

const RULES: Rules = Rules { period: 100, keep: Perbill::from_percent(90), wrong_weight: 4 };

fn apply(outcomes: &[Outcome]) -> Record<u64> {
	outcomes.iter().fold(Record::default(), |r, o| r.updated(*o, 0, &RULES))
}

#[test]
fn a_newcomer_scores_a_half() {
	assert_eq!(Record::<u64>::default().score_at(0, &RULES), Perbill::from_percent(50));
	assert_eq!(math::score(0, 0), Perbill::from_percent(50));
}

#[test]
fn the_score_is_the_beta_mean() {
	// 8 agreements, 2 failures: (8 + 1) / (8 + 2 + 2) = 0.75.
	let mut outcomes = vec![Outcome::Agreed; 8];
	outcomes.extend([Outcome::Missed, Outcome::Missed]);
	let record = apply(&outcomes);
	assert_eq!(record.score_at(0, &RULES), Perbill::from_percent(75));
	// An outvoted result weighs four failures; a dispute half of one.
	assert_eq!(apply(&[Outcome::Outvoted]).failed, 4 * ONE);
	assert_eq!(apply(&[Outcome::Disputed]).failed, ONE / 2);
}

#[test]
fn the_run_of_valid_results_resets_on_any_failure_but_a_dispute() {
	let run = apply(&[Outcome::Agreed, Outcome::Agreed, Outcome::Agreed]);
	assert_eq!(run.consecutive_valid, 3);
	assert_eq!(run.updated(Outcome::Disputed, 0, &RULES).consecutive_valid, 3);
	assert_eq!(run.updated(Outcome::Missed, 0, &RULES).consecutive_valid, 0);
	assert_eq!(run.updated(Outcome::Outvoted, 0, &RULES).consecutive_valid, 0);
}

#[test]
fn counts_are_discounted_per_whole_period() {
	let record = apply(&[Outcome::Agreed; 10]);
	assert_eq!(record.agreed, 10 * ONE);
	// Half a period: nothing yet; one period: 90% kept; two: 81%.
	assert_eq!(record.updated(Outcome::Disputed, 50, &RULES).agreed, 10 * ONE);
	assert_eq!(record.updated(Outcome::Disputed, 100, &RULES).agreed, 9 * ONE);
	assert_eq!(record.updated(Outcome::Disputed, 250, &RULES).agreed, 81 * ONE / 10);
}

#[test]
fn the_spot_check_rate_falls_with_the_run_but_never_below_the_floor() {
	let floor = Perbill::from_percent(5);
	assert_eq!(math::spot_check_rate(0, 10, floor), Perbill::one());
	assert_eq!(math::spot_check_rate(10, 10, floor), Perbill::from_percent(50));
	assert_eq!(math::spot_check_rate(30, 10, floor), Perbill::from_percent(25));
	assert_eq!(math::spot_check_rate(10_000, 10, floor), floor);
}

#[test]
fn the_pallet_records_results_and_reports_them() {
	new_test_ext().execute_with(|| {
		let who = 7u64;
		assert_eq!(
			<Reputation as ReputationProvider<u64>>::score(&who, JobKind::Wasm),
			Perbill::from_percent(50)
		);
		for _ in 0..3 {
			<Reputation as ReputationProvider<u64>>::record_result(
				&who,
				JobKind::Wasm,
				ResultOutcome::Agreed,
			);
		}
		assert_eq!(
			<Reputation as ReputationProvider<u64>>::consecutive_valid(&who, JobKind::Wasm),
			3
		);
		// (3 + 1) / (3 + 2) = 0.8; the other job kind is untouched.
		assert_eq!(
			<Reputation as ReputationProvider<u64>>::score(&who, JobKind::Wasm),
			Perbill::from_percent(80)
		);
		assert_eq!(
			<Reputation as ReputationProvider<u64>>::score(&who, JobKind::Cuda),
			Perbill::from_percent(50)
		);
		assert!(Reputations::<Test>::get(who, JobKind::Cuda).is_none());
		System::assert_last_event(
			Event::ReputationUpdated {
				provider: who,
				kind: JobKind::Wasm,
				score: Perbill::from_percent(80),
				consecutive_valid: 3,
			}
			.into(),
		);
		let view = Reputation::reputation_of(who);
		assert_eq!(view.len(), 1);
		assert_eq!((view[0].agreed, view[0].failed, view[0].consecutive_valid), (3, 0, 3));
		// Ten periods later the score has drifted back towards a half.
		System::set_block_number(1 + 10 * u64::from(PERIOD));
		let later = <Reputation as ReputationProvider<u64>>::score(&who, JobKind::Wasm);
		assert!(
			later < Perbill::from_percent(80) && later > Perbill::from_percent(50),
			"{later:?}"
		);
	});
}

fn outcome() -> impl Strategy<Value = Outcome> {
	prop_oneof![
		Just(Outcome::Agreed),
		Just(Outcome::Outvoted),
		Just(Outcome::Missed),
		Just(Outcome::Disputed),
	]
}

proptest! {
	/// Bounded: any history scores strictly between 0 and 1 and its counts stay capped.
	#[test]
	fn scores_are_bounded(history in proptest::collection::vec((outcome(), 0u64..1_000), 0..200)) {
		let mut record = Record::<u64>::default();
		let mut now = 0u64;
		for (o, gap) in history {
			now += gap;
			record = record.updated(o, now, &RULES);
			let score = record.score_at(now, &RULES);
			prop_assert!(score > Perbill::zero() && score < Perbill::one());
			prop_assert!(record.agreed <= math::MAX_COUNT && record.failed <= math::MAX_COUNT);
		}
	}

	/// Monotone in agreements: one more agreement never lowers the score, one more failure never
	/// raises it.
	#[test]
	fn agreements_never_lower_the_score(
		history in proptest::collection::vec(outcome(), 0..100),
		now in 0u64..10_000,
	) {
		let record = apply(&history);
		let before = record.score_at(now, &RULES);
		prop_assert!(record.updated(Outcome::Agreed, now, &RULES).score_at(now, &RULES) >= before);
		for failure in [Outcome::Outvoted, Outcome::Missed, Outcome::Disputed] {
			prop_assert!(record.updated(failure, now, &RULES).score_at(now, &RULES) <= before);
		}
	}

	/// Decaying over time: without news, a score moves towards a half and never away from it.
	#[test]
	fn scores_decay_towards_a_half(
		history in proptest::collection::vec(outcome(), 0..100),
		first in 0u64..5_000,
		more in 0u64..5_000,
	) {
		let record = apply(&history);
		let half = Perbill::from_percent(50);
		let distance = |p: Perbill| if p > half { p - half } else { half - p };
		let earlier = record.score_at(first, &RULES);
		let later = record.score_at(first + more, &RULES);
		prop_assert!(distance(later) <= distance(earlier));
	}

	/// The spot-check rate never rises with a longer run and never falls below its floor.
	#[test]
	fn spot_checks_fall_with_the_run_to_the_floor(run in 0u32..1_000_000, more in 0u32..1_000) {
		let floor = Perbill::from_percent(5);
		let rate = math::spot_check_rate(run, 10, floor);
		prop_assert!(rate >= floor);
		prop_assert!(math::spot_check_rate(run.saturating_add(more), 10, floor) <= rate);
	}
}

#[test]
fn only_a_trusted_provider_runs_alone_and_one_outvoted_result_ends_that() {
	type R = Reputation;
	new_test_ext().execute_with(|| {
		let who = 9u64;
		let agree = |n: u32| {
			for _ in 0..n {
				<R as ReputationProvider<u64>>::record_result(
					&who,
					JobKind::Wasm,
					ResultOutcome::Agreed,
				);
			}
		};
		// A newcomer needs a second replica; 7 agreements (8/9 < 90%) still do.
		assert_eq!(<R as ReputationProvider<u64>>::spot_check_rate(&who, JobKind::Wasm), None);
		agree(7);
		assert_eq!(<R as ReputationProvider<u64>>::spot_check_rate(&who, JobKind::Wasm), None);
		// The eighth makes it trusted (9/10): checked at 10 / (10 + 8).
		agree(1);
		assert_eq!(
			<R as ReputationProvider<u64>>::spot_check_rate(&who, JobKind::Wasm),
			Some(math::spot_check_rate(8, 10, Perbill::from_percent(10)))
		);
		// A long run takes the rate to the floor, never under it.
		agree(500);
		assert_eq!(
			<R as ReputationProvider<u64>>::spot_check_rate(&who, JobKind::Wasm),
			Some(Perbill::from_percent(10))
		);
		// Trust is per job kind.
		assert_eq!(<R as ReputationProvider<u64>>::spot_check_rate(&who, JobKind::Cuda), None);
		// Outvoted once after 508 agreements: still trusted (509 / 514), but the run restarts, so
		// every job is checked again; a newcomer outvoted once is not trusted.
		<R as ReputationProvider<u64>>::record_result(&who, JobKind::Wasm, ResultOutcome::Outvoted);
		assert_eq!(
			<R as ReputationProvider<u64>>::spot_check_rate(&who, JobKind::Wasm),
			Some(Perbill::one())
		);
		let fresh = 10u64;
		<R as ReputationProvider<u64>>::record_result(&fresh, JobKind::Wasm, ResultOutcome::Agreed);
		<R as ReputationProvider<u64>>::record_result(
			&fresh,
			JobKind::Wasm,
			ResultOutcome::Outvoted,
		);
		assert_eq!(<R as ReputationProvider<u64>>::spot_check_rate(&fresh, JobKind::Wasm), None);
	});
}

#[test]
fn the_best_run_is_kept_through_a_failure() {
	let record = apply(&[Outcome::Agreed, Outcome::Agreed, Outcome::Agreed, Outcome::Missed]);
	assert_eq!((record.consecutive_valid, record.best_streak), (0, 3));
	let record = record.updated(Outcome::Agreed, 0, &RULES);
	assert_eq!((record.consecutive_valid, record.best_streak), (1, 3));
	let record = apply(&[Outcome::Agreed; 5]);
	assert_eq!(record.best_streak, 5);
}

#[test]
fn try_state_catches_a_run_above_the_best() {
	new_test_ext().execute_with(|| {
		assert_eq!(Reputation::do_try_state(), Ok(()));
		let record = Record { consecutive_valid: 4, best_streak: 3, ..Default::default() };
		Reputations::<Test>::insert(1, JobKind::Wasm, record);
		assert!(Reputation::do_try_state().is_err());
		let later = Record { updated_at: 99, best_streak: 4, ..record };
		Reputations::<Test>::insert(1, JobKind::Wasm, later);
		assert!(Reputation::do_try_state().is_err(), "a record from block 99 at block 1");
	});
}

mod migration_v1 {
	use super::*;
	use crate::migrations::v1::{self, v0, MigrateV0ToV1};
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

	fn old(run: u32, agreed: u64) -> v0::Record<u64> {
		v0::Record { agreed, failed: ONE, consecutive_valid: run, updated_at: 1 }
	}

	/// A chain at storage version 0 with three providers' records.
	fn at_v0() -> sp_io::TestExternalities {
		let mut ext = new_test_ext();
		ext.execute_with(|| {
			StorageVersion::new(0).put::<Reputation>();
			v0::Reputations::<Test>::insert(1, JobKind::Wasm, old(7, 9 * ONE));
			v0::Reputations::<Test>::insert(1, JobKind::Cuda, old(0, 0));
			v0::Reputations::<Test>::insert(2, JobKind::Wasm, old(3, 3 * ONE));
		});
		ext
	}

	#[test]
	fn keeps_every_record_and_starts_the_best_run_at_the_run() {
		at_v0().execute_with(|| {
			let state = v1::pre_check::<Test>();
			let weight = MigrateV0ToV1::<Test>::on_runtime_upgrade();
			assert_eq!(v1::post_check::<Test>(state), Ok(()));
			assert_eq!(Reputation::on_chain_storage_version(), StorageVersion::new(1));
			let record = Reputations::<Test>::get(1, JobKind::Wasm).unwrap();
			assert_eq!((record.consecutive_valid, record.best_streak), (7, 7));
			assert_eq!((record.agreed, record.failed, record.updated_at), (9 * ONE, ONE, 1));
			assert_eq!(Reputations::<Test>::iter().count(), 3);
			assert_eq!(Reputation::do_try_state(), Ok(()));
			// Three records read and written, plus the version's read and write.
			let db: frame_support::weights::RuntimeDbWeight =
				<Test as frame_system::Config>::DbWeight::get();
			assert_eq!(weight, db.reads_writes(3, 3) + db.reads_writes(1, 1));
			// The scores read the same: the new field changes no score.
			assert_eq!(
				Reputation::score(&1, JobKind::Wasm),
				math::score(9 * ONE, ONE),
				"a migrated record scores as before"
			);
		});
	}

	#[test]
	fn runs_once() {
		at_v0().execute_with(|| {
			MigrateV0ToV1::<Test>::on_runtime_upgrade();
			let before: Vec<_> = Reputations::<Test>::iter().collect();
			// Listed for a second upgrade, it reads the version and does nothing.
			let weight = MigrateV0ToV1::<Test>::on_runtime_upgrade();
			let db: frame_support::weights::RuntimeDbWeight =
				<Test as frame_system::Config>::DbWeight::get();
			assert_eq!(weight, db.reads(1));
			let after: Vec<_> = Reputations::<Test>::iter().collect();
			assert_eq!(before, after);
		});
	}

	#[test]
	fn the_checks_refuse_an_upgrade_that_loses_a_record() {
		at_v0().execute_with(|| {
			// A value that does not decode as a version-0 record (too short): `translate` would
			// drop it, and the checks say so.
			let key = v0::Reputations::<Test>::hashed_key_for(3, JobKind::Wasm);
			sp_io::storage::set(&key, &[1, 2, 3]);
			let state = v1::pre_check::<Test>();
			MigrateV0ToV1::<Test>::on_runtime_upgrade();
			assert!(v1::post_check::<Test>(state).is_err());
		});
	}

	#[test]
	fn the_post_check_sees_a_changed_record() {
		at_v0().execute_with(|| {
			let state = v1::pre_check::<Test>();
			MigrateV0ToV1::<Test>::on_runtime_upgrade();
			Reputations::<Test>::mutate(2, JobKind::Wasm, |r| {
				if let Some(r) = r {
					r.best_streak = 10
				}
			});
			assert!(v1::post_check::<Test>(state).is_err());
		});
	}
}

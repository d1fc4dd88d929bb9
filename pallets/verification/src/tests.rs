#![allow(clippy::arithmetic_side_effects)]

use crate::{mock::*, quorum, Commitments, Error, Event};
use frame_support::{assert_noop, assert_ok};
use proptest::prelude::*;
use sp_core::H256;
use sp_runtime::DispatchError;
use stratus_primitives::{Verdict, Verifier};

fn digest(n: u8) -> H256 {
	H256::repeat_byte(n)
}

#[test]
fn commit_then_reveal() {
	new_test_ext().execute_with(|| {
		let c = quorum::commitment(&digest(5), &[9; 32]);
		assert_ok!(Verification::commit(RuntimeOrigin::signed(PROVIDER), 1, 0, c, 42));
		assert_eq!(Commitments::<Test>::get(1, 0), Some(c));
		System::assert_last_event(
			Event::ResultCommitted { job: 1, replica: 0, commitment: c, units: 42 }.into(),
		);
		assert_eq!(COMMITS.with(|x| x.borrow().clone()), vec![(1, 0, 42)]);

		assert_ok!(Verification::reveal(RuntimeOrigin::signed(PROVIDER), 1, 0, digest(5), [9; 32]));
		System::assert_last_event(
			Event::ResultRevealed { job: 1, replica: 0, digest: digest(5) }.into(),
		);
		assert_eq!(REVEALS.with(|x| x.borrow().clone()), vec![(1, 0, digest(5))]);
	});
}

#[test]
fn second_commit_is_refused() {
	new_test_ext().execute_with(|| {
		let c = quorum::commitment(&digest(5), &[9; 32]);
		assert_ok!(Verification::commit(RuntimeOrigin::signed(PROVIDER), 1, 0, c, 42));
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(PROVIDER), 1, 0, digest(1), 1),
			Error::<Test>::AlreadyCommitted
		);
	});
}

#[test]
fn commit_the_market_refuses_stores_nothing() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(2), 1, 0, digest(1), 1),
			DispatchError::Other("not the replica's provider")
		);
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(PROVIDER), 1, 1, digest(1), 1),
			DispatchError::Other("no such replica")
		);
	});
}

#[test]
fn reveal_without_commit_is_refused() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(PROVIDER), 1, 0, digest(5), [9; 32]),
			Error::<Test>::NoCommitment
		);
	});
}

#[test]
fn reveal_that_does_not_match_is_refused() {
	new_test_ext().execute_with(|| {
		let c = quorum::commitment(&digest(5), &[9; 32]);
		assert_ok!(Verification::commit(RuntimeOrigin::signed(PROVIDER), 1, 0, c, 42));
		// Wrong digest, then wrong salt.
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(PROVIDER), 1, 0, digest(6), [9; 32]),
			Error::<Test>::RevealMismatch
		);
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(PROVIDER), 1, 0, digest(5), [8; 32]),
			Error::<Test>::RevealMismatch
		);
		assert!(REVEALS.with(|x| x.borrow().is_empty()));
	});
}

#[test]
fn forget_clears_a_jobs_commitments_only() {
	new_test_ext().execute_with(|| {
		Commitments::<Test>::insert(1, 0, digest(1));
		Commitments::<Test>::insert(1, 3, digest(1));
		Commitments::<Test>::insert(2, 0, digest(1));
		<Verification as Verifier>::forget(1);
		assert_eq!(Commitments::<Test>::iter().count(), 1);
		assert!(Commitments::<Test>::contains_key(2, 0));
	});
}

#[test]
fn quorum_sizes() {
	assert_eq!(quorum::quorum_size(1), 1);
	assert_eq!(quorum::quorum_size(2), 2);
	assert_eq!(quorum::quorum_size(3), 2);
	assert_eq!(quorum::quorum_size(4), 3);
	assert_eq!(quorum::quorum_size(5), 3);
}

#[test]
fn judge_cases() {
	let canonical = |d: u8, agreeing: Vec<u8>| Verdict::Canonical { digest: digest(d), agreeing };
	assert_eq!(quorum::judge(1, &[(0, digest(1))]), canonical(1, vec![0]));
	assert_eq!(quorum::judge(1, &[]), Verdict::Inconclusive);
	assert_eq!(quorum::judge(2, &[(0, digest(1)), (1, digest(1))]), canonical(1, vec![0, 1]));
	assert_eq!(quorum::judge(2, &[(0, digest(1))]), Verdict::Inconclusive);
	assert_eq!(quorum::judge(2, &[(0, digest(1)), (1, digest(2))]), Verdict::Disputed);
	assert_eq!(
		quorum::judge(3, &[(0, digest(1)), (1, digest(2)), (2, digest(1))]),
		canonical(1, vec![0, 2])
	);
	assert_eq!(quorum::judge(3, &[(0, digest(1)), (2, digest(1))]), canonical(1, vec![0, 2]));
	assert_eq!(quorum::judge(3, &[(0, digest(1)), (1, digest(2))]), Verdict::Disputed);
	assert_eq!(
		quorum::judge(3, &[(0, digest(1)), (1, digest(2)), (2, digest(3))]),
		Verdict::Disputed
	);
}

proptest! {
	/// A canonical verdict always has a quorum behind one digest, and every replica that revealed
	/// that digest is in it; a non-canonical one never leaves a digest with a quorum.
	#[test]
	fn judge_is_sound(replication in 1u8..8, picks in proptest::collection::vec(0u8..3, 0..8)) {
		let reveals: Vec<_> = picks.iter().enumerate().map(|(i, d)| (i as u8, digest(*d))).collect();
		let need = usize::from(quorum::quorum_size(replication));
		let count = |d: &H256| reveals.iter().filter(|(_, x)| x == d).count();
		match quorum::judge(replication, &reveals) {
			Verdict::Canonical { digest, agreeing } => {
				prop_assert!(agreeing.len() >= need);
				prop_assert_eq!(agreeing.len(), count(&digest));
			},
			Verdict::Disputed => {
				prop_assert!(reveals.iter().all(|(_, d)| count(d) < need));
				prop_assert!(reveals.iter().any(|(_, d)| *d != reveals[0].1));
			},
			Verdict::Inconclusive => {
				prop_assert!(reveals.iter().all(|(_, d)| count(d) < need));
				prop_assert!(reveals.iter().all(|(_, d)| *d == reveals[0].1));
			},
		}
	}

	/// A commitment opens only with its own digest and salt.
	#[test]
	fn commitment_binds(a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), s in any::<[u8; 32]>()) {
		let (da, db) = (H256(a), H256(b));
		prop_assert_eq!(quorum::commitment(&da, &s) == quorum::commitment(&db, &s), a == b);
	}
}

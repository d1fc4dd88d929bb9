#![allow(clippy::arithmetic_side_effects)]

use crate::{mock::*, quorum, Commitments, Error, Event, Pallet};
use frame_support::{assert_noop, assert_ok};
use proptest::prelude::*;
use sp_core::H256;
use sp_runtime::DispatchError;
use stratus_primitives::{JobKind, Reveal, Verdict, Verifier};

fn digest(n: u8) -> H256 {
	H256::repeat_byte(n)
}

/// The commitment of `provider` for replica `replica` of job 1.
fn commitment_of(provider: u64, replica: u8, units: u64, d: u8, salt: u8) -> H256 {
	let genesis = Pallet::<Test>::genesis_hash();
	stratus_primitives::commitment(&genesis, 1, replica, &provider, units, &digest(d), &[salt; 32])
}

fn commit(replica: u8, c: H256) -> frame_support::dispatch::DispatchResultWithPostInfo {
	Verification::commit(RuntimeOrigin::signed(PROVIDER), 1, replica, c)
}

fn reveal(
	replica: u8,
	d: u8,
	units: u64,
	salt: u8,
) -> frame_support::dispatch::DispatchResultWithPostInfo {
	Verification::reveal(RuntimeOrigin::signed(PROVIDER), 1, replica, digest(d), units, [salt; 32])
}

#[test]
fn commit_then_reveal() {
	ExtBuilder::build_and_execute(|| {
		let c = commitment_of(PROVIDER, 0, 42, 5, 9);
		assert_ok!(commit(0, c));
		assert_eq!(Commitments::<Test>::get(1, 0), Some(c));
		System::assert_last_event(
			Event::ReplicaCommitted { job: 1, replica: 0, commitment: c }.into(),
		);
		assert_eq!(COMMITS.with(|x| x.borrow().clone()), vec![(1, 0)]);

		assert_ok!(reveal(0, 5, 42, 9));
		System::assert_last_event(
			Event::ReplicaRevealed { job: 1, replica: 0, digest: digest(5), units: 42 }.into(),
		);
		assert_eq!(REVEALS.with(|x| x.borrow().clone()), vec![(1, 0, digest(5), 42)]);
	});
}

#[test]
fn the_genesis_hash_is_block_zeros() {
	ExtBuilder::build_and_execute(|| {
		let genesis = frame_system::Pallet::<Test>::block_hash(0);
		assert_eq!(Pallet::<Test>::genesis_hash(), genesis.0);
		assert_ne!(genesis, H256::zero());
	});
}

#[test]
fn second_commit_is_refused() {
	ExtBuilder::build_and_execute(|| {
		assert_ok!(commit(0, commitment_of(PROVIDER, 0, 42, 5, 9)));
		assert_noop!(commit(0, digest(1)), Error::<Test>::AlreadyCommitted);
	});
}

#[test]
fn a_copied_commitment_is_refused() {
	ExtBuilder::build_and_execute(|| {
		let c = commitment_of(PROVIDER, 0, 42, 5, 9);
		assert_ok!(commit(0, c));
		// The co-replica submits replica 0's commitment as its own.
		assert_noop!(commit(1, c), Error::<Test>::DuplicateCommitment);
		assert!(!Commitments::<Test>::contains_key(1, 1));
	});
}

#[test]
fn a_copied_reveal_does_not_open_another_replicas_commitment() {
	ExtBuilder::build_and_execute(|| {
		// Replica 1 committed something of its own (say, garbage), then replays replica 0's
		// reveal: the commitment is recomputed with replica 1's index and does not open.
		assert_ok!(commit(0, commitment_of(PROVIDER, 0, 42, 5, 9)));
		assert_ok!(commit(1, digest(77)));
		assert_noop!(reveal(1, 5, 42, 9), Error::<Test>::RevealMismatch);
		// Even the commitment of replica 0's result made for replica 1 opens only with
		// replica 1's own bytes.
		assert_ok!(reveal(0, 5, 42, 9));
	});
}

#[test]
fn a_commitment_made_for_another_provider_does_not_open() {
	ExtBuilder::build_and_execute(|| {
		// A commitment made with someone else's account (e.g. copied from another chain's
		// replica of a provider with the same job id) is refused at reveal.
		assert_ok!(commit(0, commitment_of(PROVIDER + 1, 0, 42, 5, 9)));
		assert_noop!(reveal(0, 5, 42, 9), Error::<Test>::RevealMismatch);
	});
}

#[test]
fn units_are_bound_by_the_commitment() {
	ExtBuilder::build_and_execute(|| {
		assert_ok!(commit(0, commitment_of(PROVIDER, 0, 42, 5, 9)));
		// Claiming more (or fewer) units than committed does not open.
		assert_noop!(reveal(0, 5, 43, 9), Error::<Test>::RevealMismatch);
		assert_noop!(reveal(0, 5, 41, 9), Error::<Test>::RevealMismatch);
		assert_ok!(reveal(0, 5, 42, 9));
	});
}

#[test]
fn commit_the_market_refuses_stores_nothing() {
	ExtBuilder::build_and_execute(|| {
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(2), 1, 0, digest(1)),
			DispatchError::Other("not the replica's provider")
		);
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(PROVIDER), 1, 2, digest(1)),
			DispatchError::Other("no such replica")
		);
	});
}

#[test]
fn a_stranger_gets_the_markets_error_even_on_a_committed_replica() {
	ExtBuilder::build_and_execute(|| {
		assert_ok!(commit(0, commitment_of(PROVIDER, 0, 42, 5, 9)));
		// Not `AlreadyCommitted`, not `RevealMismatch`: the stranger is told it is not the
		// replica's provider.
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(2), 1, 0, digest(1)),
			DispatchError::Other("not the replica's provider")
		);
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(2), 1, 0, digest(5), 42, [9; 32]),
			DispatchError::Other("not the replica's provider")
		);
	});
}

#[test]
fn reveal_without_commit_is_refused() {
	ExtBuilder::build_and_execute(|| {
		assert_noop!(reveal(0, 5, 42, 9), Error::<Test>::NoCommitment);
	});
}

#[test]
fn reveal_that_does_not_match_is_refused() {
	ExtBuilder::build_and_execute(|| {
		assert_ok!(commit(0, commitment_of(PROVIDER, 0, 42, 5, 9)));
		// Wrong digest, then wrong salt.
		assert_noop!(reveal(0, 6, 42, 9), Error::<Test>::RevealMismatch);
		assert_noop!(reveal(0, 5, 42, 8), Error::<Test>::RevealMismatch);
		assert!(REVEALS.with(|x| x.borrow().is_empty()));
	});
}

#[test]
fn forget_clears_a_jobs_commitments_only() {
	ExtBuilder::build_and_execute(|| {
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

fn r(replica: u8, d: u8, units: u64) -> Reveal {
	Reveal { replica, digest: digest(d), units }
}

#[test]
fn judge_cases() {
	use JobKind::Wasm;
	let canonical = |d: u8, units: u64, agreeing: Vec<u8>, outvoted: Vec<u8>| Verdict::Canonical {
		digest: digest(d),
		units,
		agreeing,
		outvoted,
	};
	assert_eq!(quorum::judge(Wasm, 1, &[r(0, 1, 10)]), canonical(1, 10, vec![0], vec![]));
	assert_eq!(quorum::judge(Wasm, 1, &[]), Verdict::Inconclusive);
	assert_eq!(
		quorum::judge(Wasm, 2, &[r(0, 1, 10), r(1, 1, 10)]),
		canonical(1, 10, vec![0, 1], vec![])
	);
	assert_eq!(quorum::judge(Wasm, 2, &[r(0, 1, 10)]), Verdict::Inconclusive);
	assert_eq!(quorum::judge(Wasm, 2, &[r(0, 1, 10), r(1, 2, 10)]), Verdict::Disputed);
	assert_eq!(
		quorum::judge(Wasm, 3, &[r(0, 1, 10), r(1, 2, 10), r(2, 1, 10)]),
		canonical(1, 10, vec![0, 2], vec![1])
	);
	assert_eq!(
		quorum::judge(Wasm, 3, &[r(0, 1, 10), r(2, 1, 10)]),
		canonical(1, 10, vec![0, 2], vec![])
	);
	assert_eq!(quorum::judge(Wasm, 3, &[r(0, 1, 10), r(1, 2, 10)]), Verdict::Disputed);
	assert_eq!(quorum::judge(Wasm, 3, &[r(0, 1, 10), r(1, 2, 10), r(2, 3, 10)]), Verdict::Disputed);
}

#[test]
fn wasm_replicas_must_agree_on_units() {
	use JobKind::Wasm;
	// The same digest with other units is another result: a replica claiming more units than
	// the honest count is in the minority, and two replicas that differ only in units dispute.
	assert_eq!(quorum::judge(Wasm, 2, &[r(0, 1, 10), r(1, 1, 11)]), Verdict::Disputed);
	assert_eq!(
		quorum::judge(Wasm, 3, &[r(0, 1, 10), r(1, 1, 99), r(2, 1, 10)]),
		Verdict::Canonical {
			digest: digest(1),
			units: 10,
			agreeing: vec![0, 2],
			outvoted: vec![1]
		}
	);
}

#[test]
fn cuda_replicas_agree_on_the_digest_and_are_paid_the_lower_median() {
	use JobKind::Cuda;
	assert_eq!(
		quorum::judge(Cuda, 2, &[r(0, 1, 12), r(1, 1, 10)]),
		Verdict::Canonical { digest: digest(1), units: 10, agreeing: vec![0, 1], outvoted: vec![] }
	);
	// A replica inflating its GPU milliseconds does not raise the pay.
	assert_eq!(
		quorum::judge(Cuda, 3, &[r(0, 1, 10), r(1, 1, 1_000_000), r(2, 1, 11)]),
		Verdict::Canonical {
			digest: digest(1),
			units: 11,
			agreeing: vec![0, 1, 2],
			outvoted: vec![]
		}
	);
	assert_eq!(quorum::judge(Cuda, 2, &[r(0, 1, 10), r(1, 2, 10)]), Verdict::Disputed);
	assert_eq!(quorum::lower_median(vec![]), 0);
	assert_eq!(quorum::lower_median(vec![4, 1, 3, 2]), 2);
	assert_eq!(quorum::lower_median(vec![5]), 5);
}

#[test]
fn a_timeout_abstains() {
	use JobKind::Wasm;
	let timeout = Reveal { replica: 1, digest: stratus_primitives::timeout_digest(), units: 0 };
	// Alone it decides nothing; beside a result it neither agrees nor disputes.
	assert_eq!(quorum::judge(Wasm, 1, &[timeout]), Verdict::Inconclusive);
	assert_eq!(quorum::judge(Wasm, 2, &[r(0, 1, 10), timeout]), Verdict::Inconclusive);
	assert_eq!(
		quorum::judge(Wasm, 3, &[r(0, 1, 10), timeout, r(2, 1, 10)]),
		Verdict::Canonical { digest: digest(1), units: 10, agreeing: vec![0, 2], outvoted: vec![] }
	);
	// Two timeouts are no quorum for the timeout record.
	let other = Reveal { replica: 0, ..timeout };
	assert_eq!(quorum::judge(Wasm, 2, &[other, timeout]), Verdict::Inconclusive);
}

proptest! {
	/// A canonical verdict always has a quorum behind one result, and every replica that revealed
	/// that result is in it; a non-canonical one never leaves a result with a quorum.
	#[test]
	fn judge_is_sound(
		cuda in any::<bool>(),
		replication in 1u8..8,
		picks in proptest::collection::vec((0u8..3, 0u64..2), 0..8),
	) {
		let kind = if cuda { JobKind::Cuda } else { JobKind::Wasm };
		let reveals: Vec<_> =
			picks.iter().enumerate().map(|(i, (d, u))| r(i as u8, *d, *u)).collect();
		let need = usize::from(quorum::quorum_size(replication));
		let count = |x: &Reveal| reveals.iter().filter(|y| quorum::same_result(kind, x, y)).count();
		match quorum::judge(kind, replication, &reveals) {
			Verdict::Canonical { digest, units, agreeing, outvoted } => {
				prop_assert!(agreeing.len() >= need);
				// Every reveal is in exactly one of the two lists.
				prop_assert_eq!(agreeing.len() + outvoted.len(), reveals.len());
				prop_assert!(outvoted.iter().all(|i| !agreeing.contains(i)));
				let first = reveals.iter().find(|x| x.replica == agreeing[0]).unwrap();
				prop_assert_eq!(first.digest, digest);
				prop_assert_eq!(agreeing.len(), count(first));
				// The units paid are some agreeing replica's, never more than the most any claimed.
				let claimed: Vec<u64> = reveals
					.iter()
					.filter(|x| agreeing.contains(&x.replica))
					.map(|x| x.units)
					.collect();
				prop_assert!(claimed.contains(&units));
			},
			Verdict::Disputed => {
				prop_assert!(reveals.iter().all(|x| count(x) < need));
				prop_assert!(reveals.iter().any(|x| !quorum::same_result(kind, x, &reveals[0])));
			},
			Verdict::Inconclusive => {
				prop_assert!(reveals.iter().all(|x| count(x) < need));
				prop_assert!(reveals.iter().all(|x| quorum::same_result(kind, x, &reveals[0])));
			},
		}
	}

	/// A commitment opens only with every one of its own fields.
	#[test]
	fn commitment_binds(
		a in any::<[u8; 32]>(),
		b in any::<[u8; 32]>(),
		s in any::<[u8; 32]>(),
		units in any::<(u64, u64)>(),
		providers in any::<(u64, u64)>(),
	) {
		let g = [1; 32];
		let one = stratus_primitives::commitment(&g, 1, 0, &providers.0, units.0, &H256(a), &s);
		let two = stratus_primitives::commitment(&g, 1, 0, &providers.1, units.1, &H256(b), &s);
		prop_assert_eq!(one == two, a == b && units.0 == units.1 && providers.0 == providers.1);
	}
}

#[test]
fn try_state_catches_a_copied_commitment() {
	new_test_ext().execute_with(|| {
		assert_ok!(Pallet::<Test>::do_try_state());
		Commitments::<Test>::insert(1, 0, H256([4; 32]));
		Commitments::<Test>::insert(2, 0, H256([4; 32]));
		// The same commitment in two jobs is no copy.
		assert_ok!(Pallet::<Test>::do_try_state());
		Commitments::<Test>::insert(1, 1, H256([4; 32]));
		assert!(Pallet::<Test>::do_try_state().is_err());
	});
}

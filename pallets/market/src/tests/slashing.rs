//! The market's tests: slashing.

use super::*;

fn stake(provider: AccountId) -> Balance {
	pallet_provider_staking::Providers::<Test>::get(provider).unwrap().held()
}

#[test]
fn a_missed_acknowledgement_is_slashed_after_the_defer_period() {
	ExtBuilder.build_and_execute(|| {
		let j = job_on_two_offers();
		let before = stake(10);
		run_to_block(2 + ACK);
		assert_eq!(job(j).replicas[0].state, ReplicaState::Missed(Missed::Ack));
		let pending = pending_slashes(10);
		assert_eq!(pending.len(), 1);
		assert_eq!((pending[0].offence, pending[0].amount), (OffenceKind::MissedAck, 1));
		// Deferred: nothing taken yet, but frozen.
		assert_eq!(stake(10), before);
		run_to_block(2 + ACK + SLASH_DEFER);
		assert_eq!(stake(10), before - 1);
		assert!(pending_slashes(10).is_empty());
	});
}

#[test]
fn an_outvoted_provider_is_slashed_and_the_quorum_and_requester_compensated() {
	ExtBuilder.build_and_execute(|| {
		let j = three_replicas_one_liar();
		assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(1) });
		let pending = pending_slashes(12);
		assert_eq!(pending.len(), 1);
		assert_eq!((pending[0].offence, pending[0].amount), (OffenceKind::WrongResult, 50));
		let mut honest = pending[0].honest.to_vec();
		honest.sort();
		assert_eq!(honest, vec![10, 11]);
		assert!(pending_slashes(10).is_empty() && pending_slashes(11).is_empty());
		let (alice, ten, liar, fee) = (total(ALICE), total(10), total(12), total(FEE_ACCOUNT));
		run_to_block(1 + SLASH_DEFER);
		// 50% to the requester, 30% shared by the quorum, the rest to the fee account.
		assert_eq!(total(ALICE), alice + 25);
		assert_eq!(total(10), ten + 7);
		assert_eq!(total(12), liar - 50);
		assert_eq!(total(FEE_ACCOUNT), fee + 50 - 25 - 14);
	});
}

#[test]
fn a_missed_reveal_compensates_the_replicas_that_revealed() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=13);
		let program = register_wasm(ALICE);
		for p in 10..=13 {
			offer(p, 5, 1);
		}
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		let v = job(j).replicas[1].provider;
		ack(10, j, 0);
		ack(v, j, 1);
		commit(10, j, 0, digest(1), 20);
		commit(v, j, 1, digest(1), 20);
		reveal(10, j, 0, digest(1));
		let JobPhase::Revealing { until } = job(j).phase else { panic!("not revealing") };
		run_to_block(until + 1);
		let pending = pending_slashes(v);
		assert_eq!(pending.len(), 1);
		assert_eq!(pending[0].offence, OffenceKind::MissedReveal);
		// The superseded replica that revealed is the one harmed.
		assert_eq!(pending[0].honest.to_vec(), vec![10]);
		assert!(pending_slashes(10).is_empty());
	});
}

#[test]
fn providers_that_meet_their_deadlines_and_agree_are_never_slashed() {
	ExtBuilder.build_and_execute(|| {
		let j = two_replicas();
		for (r, p) in [(0u8, 10), (1, 11)] {
			ack(p, j, r);
			commit(p, j, r, digest(1), 10);
		}
		reveal(10, j, 0, digest(1));
		reveal(11, j, 1, digest(1));
		run_to_block(1 + SLASH_DEFER + 1);
		assert_eq!(pallet_slashing::PendingSlashes::<Test>::iter().count(), 0);
		assert!(pallet_slashing::AppliedSlashes::<Test>::iter().next().is_none());
	});
}

#[test]
fn a_disputed_job_slashes_nobody_for_its_result() {
	ExtBuilder.build_and_execute(|| {
		let j = two_replicas();
		for (r, p) in [(0u8, 10), (1, 11)] {
			ack(p, j, r);
			commit(p, j, r, digest(p as u8), 10);
		}
		reveal(10, j, 0, digest(10));
		reveal(11, j, 1, digest(11));
		no_referee_comes(j);
		assert_eq!(job(j).phase, JobPhase::Disputed);
		assert_eq!(pallet_slashing::PendingSlashes::<Test>::iter().count(), 0);
	});
}

#[test]
fn a_slash_cancelled_by_root_inside_the_window_is_not_applied() {
	ExtBuilder.build_and_execute(|| {
		let j = job_on_two_offers();
		let before = stake(10);
		run_to_block(2 + ACK);
		assert_eq!(job(j).replicas[0].state, ReplicaState::Missed(Missed::Ack));
		let (id, _) = pallet_slashing::PendingSlashes::<Test>::iter().next().unwrap();
		assert_ok!(Slashing::cancel_slash(RuntimeOrigin::root(), id));
		run_to_block(2 + ACK + SLASH_DEFER + 1);
		assert_eq!(stake(10), before);
	});
}

//! The market's tests: missed deadlines.

use super::*;

#[test]
fn missed_ack_is_reissued_to_the_next_offer() {
	ExtBuilder.build_and_execute(|| {
		let j = job_on_two_offers();
		assert_eq!(job(j).replicas[0].provider, 10);
		run_to_block(1 + ACK);
		assert_eq!(job(j).replicas[0].state, ReplicaState::Assigned);
		run_to_block(2 + ACK);
		let job = job(j);
		assert_eq!(job.replicas[0].state, ReplicaState::Missed(Missed::Ack));
		assert_eq!((job.replicas[1].provider, job.replicas[1].index), (11, 1));
		// Too late to acknowledge the missed one.
		assert_noop!(
			Market::acknowledge(RuntimeOrigin::signed(10), j, 0),
			Error::<Test>::NotAwaitingAck
		);
		// The missed replica's slot is back in the book.
		assert_eq!(Offers::<Test>::get(0).unwrap().in_use(), 0);
		ack(11, j, 1);
		commit(11, j, 1, digest(3), 10);
		reveal(11, j, 1, digest(3));
		assert_eq!(Jobs::<Test>::get(j).unwrap().phase, JobPhase::Settled { digest: digest(3) });
	});
}

#[test]
fn a_declined_replica_is_reissued_at_once_and_is_no_offence() {
	ExtBuilder.build_and_execute(|| {
		let j = job_on_two_offers();
		assert_noop!(
			Market::decline(RuntimeOrigin::signed(11), j, 0),
			Error::<Test>::NotReplicaProvider
		);
		let result = Market::decline(RuntimeOrigin::signed(110), j, 0).unwrap();
		assert_eq!(result.pays_fee, Pays::No);
		let job = job(j);
		assert_eq!(job.replicas[0].state, ReplicaState::Missed(Missed::Declined));
		assert_eq!(job.replicas[1].provider, 11);
		assert!(market_events().contains(&Event::ReplicaDeclined {
			job: j,
			replica: 0,
			provider: 10
		}));
		assert_eq!(pallet_slashing::PendingSlashes::<Test>::iter().count(), 0);
		assert_eq!(score(10), sp_runtime::Perbill::from_percent(50));
		// Once declined (or acknowledged) it cannot be declined again.
		assert_noop!(
			Market::decline(RuntimeOrigin::signed(10), j, 0),
			Error::<Test>::NotAwaitingAck
		);
	});
}

#[test]
fn missed_commit_is_reissued() {
	ExtBuilder.build_and_execute(|| {
		let j = job_on_two_offers();
		ack(10, j, 0);
		let commit_by = job(j).replicas[0].commit_by.unwrap();
		assert_eq!(commit_by, 1 + 5);
		run_to_block(commit_by + 1);
		let job = job(j);
		assert_eq!(job.replicas[0].state, ReplicaState::Missed(Missed::Commit));
		assert_eq!(job.replicas[1].provider, 11);
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(10), j, 0, digest(1)),
			Error::<Test>::NotAwaitingCommit
		);
	});
}

#[test]
fn missed_reveal_is_reissued_while_there_is_time() {
	ExtBuilder.build_and_execute(|| {
		let j = job_on_two_offers();
		ack(10, j, 0);
		commit(10, j, 0, digest(1), 10);
		let JobPhase::Revealing { until } = job(j).phase else { panic!("not revealing") };
		run_to_block(until + 1);
		let job = job(j);
		assert_eq!(job.replicas[0].state, ReplicaState::Missed(Missed::Reveal));
		assert_eq!(job.phase, JobPhase::Open);
		assert_eq!((job.replicas[1].provider, job.replicas[1].round, job.round), (11, 1, 1));
		ack(11, j, 1);
		commit(11, j, 1, digest(1), 10);
		reveal(11, j, 1, digest(1));
		let job = Jobs::<Test>::get(j).unwrap();
		assert_eq!(job.phase, JobPhase::Settled { digest: digest(1) });
		assert_eq!(job.replicas[0].paid, 0);
	});
}

#[test]
fn job_without_offers_expires_and_refunds() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let before = total(ALICE);
		let j = submit(ALICE, spec(program));
		assert_eq!(escrow_held(ALICE), 1000);
		run_to_block(job(j).commit_close());
		assert_eq!(job(j).phase, JobPhase::Expired);
		assert_eq!(total(ALICE), before);
		assert_eq!(escrow_held(ALICE), 0);
		assert_eq!(crate::JobBook::<Test>::iter().count(), 0);
	});
}

#[test]
fn commit_close_reveals_what_committed() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=12);
		let program = register_wasm(ALICE);
		for p in 10..=12 {
			offer(p, 5, 1);
		}
		let j = submit(
			ALICE,
			JobSpec { policy: Replicated(3), deadline: 1 + ACK + 5 + REVEAL + 1, ..spec(program) },
		);
		for p in 10..=12 {
			ack(p, j, replica_of(j, p));
		}
		commit(10, j, 0, digest(1), 10);
		commit(11, j, replica_of(j, 11), digest(1), 10);
		run_to_block(job(j).commit_close());
		assert!(matches!(job(j).phase, JobPhase::Revealing { .. }));
		let late = replica_of(j, 12);
		assert_eq!(job(j).replicas[late as usize].state, ReplicaState::Missed(Missed::Commit));
		reveal(10, j, 0, digest(1));
		reveal(11, j, replica_of(j, 11), digest(1));
		assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(1) });
	});
}

//! The market's tests: the whole life.

use super::*;

#[test]
fn job_settles_pays_the_provider_and_refunds_the_rest() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=10);
		let program = register_wasm(ALICE);
		offer(10, 4, 1);
		let alice_before = total(ALICE);
		let provider_before = total(10);
		let j = submit(ALICE, spec(program));
		ack(110, j, 0); // signed by the worker key
		commit(110, j, 0, digest(7), 60);
		// One replica, committed: the reveal window is open.
		assert!(matches!(job(j).phase, JobPhase::Revealing { .. }));
		reveal(10, j, 0, digest(7));
		let job = job(j);
		assert_eq!(job.phase, JobPhase::Settled { digest: digest(7) });
		// 4 × 60 = 240, 10% fee = 24.
		assert_eq!(job.replicas[0].paid, 216);
		assert_eq!(total(10), provider_before + 216);
		assert_eq!(total(FEE_ACCOUNT), 1 + 24);
		assert_eq!(total(ALICE), alice_before - 240);
		assert_eq!(escrow_held(ALICE), 0);
		// The slot is free again.
		assert_eq!(Offers::<Test>::get(0).unwrap().in_use(), 0);
		assert!(market_events().contains(&Event::JobSettled {
			job: j,
			digest: digest(7),
			units: 60,
			paid: 240,
			refunded: 1000 - 240
		}));
	});
}

#[test]
fn units_above_max_are_paid_as_max() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=10);
		let program = register_wasm(ALICE);
		offer(10, 4, 1);
		let j = submit(ALICE, spec(program));
		ack(10, j, 0);
		commit(10, j, 0, digest(7), 1_000_000);
		reveal(10, j, 0, digest(7));
		assert_eq!(job(j).replicas[0].paid, 400 - 40);
	});
}

#[test]
fn majority_of_three_is_paid_and_the_dissenter_is_not() {
	ExtBuilder.build_and_execute(|| {
		let j = three_replicas_one_liar();
		let job = job(j);
		assert_eq!(job.phase, JobPhase::Settled { digest: digest(1) });
		assert_eq!(paid_by_provider(&job), vec![(10, 45), (11, 45), (12, 0)]);
		assert_eq!(escrow_held(ALICE), 0);
	});
}

#[test]
fn disagreement_of_two_is_disputed_and_refunded() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		offer(11, 5, 1);
		let before = total(ALICE);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		for (r, p) in [(0u8, 10), (1, 11)] {
			ack(p, j, r);
			commit(p, j, r, digest(p as u8), 10);
		}
		reveal(10, j, 0, digest(10));
		reveal(11, j, 1, digest(11));
		no_referee_comes(j);
		assert_eq!(job(j).phase, JobPhase::Disputed);
		assert_eq!(total(ALICE), before);
		// The escrow held the worst case, a spot-check and two referees included: all of it
		// comes back.
		assert!(market_events().contains(&Event::JobDisputed { job: j, refunded: 5000 }));
	});
}

#[test]
fn commit_and_reveal_errors() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		let j = submit(ALICE, spec(program));
		let c = commitment_for(j, 0, digest(1), 5);
		assert_noop!(
			Market::acknowledge(RuntimeOrigin::signed(11), j, 0),
			Error::<Test>::NotReplicaProvider
		);
		assert_noop!(
			Market::acknowledge(RuntimeOrigin::signed(ALICE), j, 0),
			Error::<Test>::NotReplicaProvider
		);
		assert_noop!(
			Market::acknowledge(RuntimeOrigin::signed(10), j, 1),
			Error::<Test>::UnknownReplica
		);
		assert_noop!(
			Market::acknowledge(RuntimeOrigin::signed(10), 77, 0),
			Error::<Test>::UnknownJob
		);
		ack(10, j, 0);
		assert_noop!(
			Market::acknowledge(RuntimeOrigin::signed(10), j, 0),
			Error::<Test>::NotAwaitingAck
		);
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(10), j, 0, digest(1), 5, [0; 32]),
			pallet_verification::Error::<Test>::NoCommitment
		);
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(11), j, 0, c),
			Error::<Test>::NotReplicaProvider
		);
		commit(10, j, 0, digest(1), 5);
		// A stranger committing to a replica that has committed is told it is a stranger.
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(11), j, 0, c),
			Error::<Test>::NotReplicaProvider
		);
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(10), j, 0, digest(2), 5, [0; 32]),
			pallet_verification::Error::<Test>::RevealMismatch
		);
		reveal(10, j, 0, digest(1));
		assert_noop!(
			Market::cancel_job(RuntimeOrigin::signed(ALICE), j),
			Error::<Test>::JobFinished
		);
		// A reveal after the job ended is told so (not that there is no commitment).
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(10), j, 0, digest(1), 5, [0; 32]),
			Error::<Test>::JobFinished
		);
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(10), j, 0, c),
			Error::<Test>::JobFinished
		);
	});
}

#[test]
fn reveal_waits_for_every_replica_to_commit() {
	ExtBuilder.build_and_execute(|| {
		let j = two_replicas();
		ack(10, j, 0);
		commit(10, j, 0, digest(1), 5);
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(10), j, 0, digest(1), 5, [0; 32]),
			Error::<Test>::NotAwaitingReveal
		);
	});
}

/// A commit of a replica not acknowledged yet acknowledges it (its commit deadline starts, the
/// acknowledgement's event is said) and commits, in one transaction; the job then goes on as
/// after an acknowledgement and a commit. Its weight is the commit's and the acknowledgement's.
#[test]
fn a_commit_implies_the_acknowledgement() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 4, 1);
		let alice_before = total(ALICE);
		let j = submit(ALICE, spec(program));
		let c = commitment_for(j, 0, digest(7), 60);
		// A stranger's commit still acknowledges nothing.
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(11), j, 0, c),
			Error::<Test>::NotReplicaProvider
		);
		let now = System::block_number();
		COMMITTED_UNITS.with(|u| u.borrow_mut().insert((j, 0), 60));
		let info = Verification::commit(RuntimeOrigin::signed(110), j, 0, c).unwrap();
		assert_eq!(
			info.actual_weight,
			Some(
				<() as pallet_verification::WeightInfo>::commit()
					.saturating_add(Market::acknowledge_weight(false))
			)
		);
		assert_eq!(info.pays_fee, frame_support::dispatch::Pays::No);
		let replica = job(j).replicas[0].clone();
		assert_eq!(replica.state, ReplicaState::Committed);
		assert_eq!(replica.commit_by, Some(now + 5));
		assert!(market_events().contains(&Event::ReplicaAcknowledged {
			job: j,
			replica: 0,
			commit_by: now + 5
		}));
		// Unverified, committed: the reveal window opened in the commit's block.
		assert!(matches!(job(j).phase, JobPhase::Revealing { .. }));
		assert_noop!(
			Market::acknowledge(RuntimeOrigin::signed(10), j, 0),
			Error::<Test>::NotAwaitingAck
		);
		reveal(10, j, 0, digest(7));
		assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(7) });
		assert_eq!(total(ALICE), alice_before - 240);
		assert_eq!(escrow_held(ALICE), 0);
	});
}

/// A replica whose acknowledgement deadline passed cannot commit its way back: it missed, and the
/// job went to the next offer.
#[test]
fn a_commit_after_the_acknowledgement_deadline_is_refused() {
	ExtBuilder.build_and_execute(|| {
		let j = job_on_two_offers();
		let ack_by = job(j).replicas[0].ack_by;
		run_to_block(ack_by + 1);
		assert_eq!(job(j).replicas[0].state, ReplicaState::Missed(Missed::Ack));
		let c = commitment_for(j, 0, digest(1), 5);
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(10), j, 0, c),
			Error::<Test>::NotAwaitingCommit
		);
		// The reissued replica commits without acknowledging.
		let reissued = replica_of(j, 11);
		commit(11, j, reissued, digest(1), 5);
		assert_eq!(job(j).replicas.last().unwrap().state, ReplicaState::Committed);
	});
}

//! The market's tests: cheating.

use super::*;

#[test]
fn a_copied_commitment_or_reveal_earns_nothing() {
	ExtBuilder.build_and_execute(|| {
		let j = two_replicas();
		ack(10, j, 0);
		ack(11, j, 1);
		commit(10, j, 0, digest(1), 20);
		// 11 copies 10's commitment: refused.
		let copied = pallet_verification::Commitments::<Test>::get(j, 0).unwrap();
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(11), j, 1, copied),
			pallet_verification::Error::<Test>::DuplicateCommitment
		);
		// 11 commits something, then replays 10's reveal once it is public: it does not open.
		assert_ok!(Verification::commit(RuntimeOrigin::signed(11), j, 1, digest(42)));
		reveal(10, j, 0, digest(1));
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(11), j, 1, digest(1), 20, [0; 32]),
			pallet_verification::Error::<Test>::RevealMismatch
		);
		// Nor with the salt it saw (10's salt is `[0; 32]` here: the helper salts with the index).
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(11), j, 1, digest(1), 20, [1; 32]),
			pallet_verification::Error::<Test>::RevealMismatch
		);
		let JobPhase::Revealing { until } = job(j).phase else { panic!("not revealing") };
		run_to_block(until + 1);
		let job = job(j);
		assert_eq!(job.replicas[1].state, ReplicaState::Missed(Missed::Reveal));
		assert_eq!(job.replicas[1].paid, 0);
	});
}

#[test]
fn wasm_replicas_that_differ_in_units_dispute() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		offer(11, 5, 1);
		let before = total(ALICE);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		ack(10, j, 0);
		ack(11, j, 1);
		// Same digest; 11 claims the whole budget.
		commit(10, j, 0, digest(1), 20);
		commit(11, j, 1, digest(1), 100);
		reveal(10, j, 0, digest(1));
		reveal(11, j, 1, digest(1));
		no_referee_comes(j);
		assert_eq!(job(j).phase, JobPhase::Disputed);
		assert_eq!(total(ALICE), before);
	});
}

#[test]
fn the_quorum_is_paid_the_units_it_agreed_on() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=12);
		let program = register_wasm(ALICE);
		for p in 10..=12 {
			offer(p, 5, 1);
		}
		let j = submit(ALICE, JobSpec { policy: Replicated(3), ..spec(program) });
		for p in 10..=12 {
			ack(p, j, replica_of(j, p));
			commit(p, j, replica_of(j, p), digest(1), if p == 12 { 100 } else { 20 });
		}
		for p in 10..=12 {
			reveal(p, j, replica_of(j, p), digest(1));
		}
		let job = job(j);
		assert_eq!(job.phase, JobPhase::Settled { digest: digest(1) });
		// 5 × 20 = 100 less 10%: the inflated claim is the minority and is not paid.
		assert_eq!(paid_by_provider(&job), vec![(10, 90), (11, 90), (12, 0)]);
	});
}

#[test]
fn after_a_missed_reveal_the_new_round_is_judged_without_the_public_digest() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=13);
		let program = register_wasm(ALICE);
		for p in 10..=13 {
			offer(p, 5, 1);
		}
		let before = total(ALICE);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		// 10 is the primary; the verifier `v` is drawn from 11 to 13.
		let v = job(j).replicas[1].provider;
		ack(10, j, 0);
		ack(v, j, 1);
		commit(10, j, 0, digest(1), 20);
		commit(v, j, 1, digest(1), 20);
		reveal(10, j, 0, digest(1));
		// `v` never reveals; 10's digest is public now.
		let JobPhase::Revealing { until } = job(j).phase else { panic!("not revealing") };
		run_to_block(until + 1);
		let after = job(j);
		assert_eq!(after.round, 1);
		assert_eq!(after.replicas[0].state, ReplicaState::Superseded);
		assert_eq!(after.replicas[1].state, ReplicaState::Missed(Missed::Reveal));
		// Two fresh replicas on providers the job has not had, in round 1.
		let mut fresh: Vec<_> =
			after.replicas.iter().filter(|r| r.round == 1).map(|r| r.provider).collect();
		fresh.sort();
		let others: Vec<_> = (11..=13).filter(|p| *p != v).collect();
		assert_eq!(fresh, others);
		assert!(market_events().contains(&Event::RoundStarted { job: j, round: 1 }));
		// The superseded replica's slot is free again.
		assert_eq!(Offers::<Test>::get(0).unwrap().in_use(), 0);
		for p in others.iter().copied() {
			ack(p, j, replica_of(j, p));
			commit(p, j, replica_of(j, p), digest(1), 20);
		}
		// Round 0's commitments are forgotten: its replicas cannot come back.
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(10), j, 0, digest(1), 20, [0; 32]),
			pallet_verification::Error::<Test>::NoCommitment
		);
		for p in others.iter().copied() {
			reveal(p, j, replica_of(j, p), digest(1));
		}
		let job = job(j);
		assert_eq!(job.phase, JobPhase::Settled { digest: digest(1) });
		assert_eq!(job.replicas.iter().map(|r| r.paid).collect::<Vec<_>>(), vec![0, 0, 90, 90]);
		assert_eq!(total(ALICE), before - 200);
	});
}

#[test]
fn reap_job_after_retention_is_free() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let j = submit(ALICE, spec(program));
		assert_noop!(Market::reap_job(RuntimeOrigin::signed(BOB), j), Error::<Test>::NothingToReap);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), j));
		assert_noop!(Market::reap_job(RuntimeOrigin::signed(BOB), j), Error::<Test>::NothingToReap);
		run_to_block(21);
		let info = Market::reap_job(RuntimeOrigin::signed(BOB), j).unwrap();
		assert_eq!(info.pays_fee, Pays::No);
		assert!(Jobs::<Test>::get(j).is_none());
		assert_noop!(Market::reap_job(RuntimeOrigin::signed(BOB), j), Error::<Test>::UnknownJob);
	});
}

#[test]
fn reap_offer_closes_an_expired_offer() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=10);
		assert_ok!(Market::post_offer(RuntimeOrigin::signed(10), ResourceClass::Cpu, 5, 2, 5));
		assert_noop!(
			Market::reap_offer(RuntimeOrigin::signed(BOB), 0),
			Error::<Test>::NothingToReap
		);
		run_to_block(5);
		let info = Market::reap_offer(RuntimeOrigin::signed(BOB), 0).unwrap();
		assert_eq!(info.pays_fee, Pays::No);
		assert!(Offers::<Test>::get(0).is_none());
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 0);
	});
}

#[test]
fn expired_offers_do_not_match() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		assert_ok!(Market::post_offer(RuntimeOrigin::signed(10), ResourceClass::Cpu, 1, 1, 3));
		offer(11, 9, 1);
		run_to_block(3);
		let j = submit(ALICE, spec(program));
		assert_eq!(job(j).replicas[0].provider, 11);
		// The expired offer met on the way was closed.
		assert!(Offers::<Test>::get(0).is_none());
	});
}

//! The market's tests: cancel and reap.

use super::*;

#[test]
fn cancel_unmatched_job_refunds_everything() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let before = total(ALICE);
		let j = submit(ALICE, spec(program));
		assert_noop!(
			Market::cancel_job(RuntimeOrigin::signed(BOB), j),
			Error::<Test>::NotRequester
		);
		assert_noop!(
			Market::cancel_job(RuntimeOrigin::signed(ALICE), 42),
			Error::<Test>::UnknownJob
		);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), j));
		assert_eq!(total(ALICE), before);
		assert_eq!(job(j).phase, JobPhase::Cancelled);
		assert!(market_events().contains(&Event::JobCancelled { job: j, refunded: 1000 }));
	});
}

#[test]
fn cancel_running_job_before_any_commit_refunds_everything() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		offer(11, 5, 1);
		let before = total(ALICE);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		ack(10, j, 0);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), j));
		assert_eq!(total(ALICE), before);
		assert_eq!(Offers::<Test>::get(0).unwrap().in_use(), 0);
		assert_eq!(Offers::<Test>::get(1).unwrap().in_use(), 0);
	});
}

#[test]
fn a_job_with_a_committed_result_cannot_be_cancelled() {
	ExtBuilder.build_and_execute(|| {
		let j = two_replicas();
		ack(10, j, 0);
		ack(11, j, 1);
		commit(10, j, 0, digest(1), 20);
		// The requester might already hold the output; the job runs to its verdict instead.
		assert_noop!(
			Market::cancel_job(RuntimeOrigin::signed(ALICE), j),
			Error::<Test>::ResultsCommitted
		);
		commit(11, j, 1, digest(1), 20);
		reveal(10, j, 0, digest(1));
		reveal(11, j, 1, digest(1));
		assert_eq!(job(j).replicas.iter().map(|r| r.paid).collect::<Vec<_>>(), vec![90, 90]);
	});
}

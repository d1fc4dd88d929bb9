//! The market's tests: reputation.

use super::*;

#[test]
fn verified_results_raise_reputation_and_outvoted_ones_lower_it() {
	ExtBuilder.build_and_execute(|| {
		let j = three_replicas_one_liar();
		assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(1) });
		let half = sp_runtime::Perbill::from_percent(50);
		assert!(score(10) > half && score(11) > half);
		assert!(score(12) < half);
		let valid = |p| {
			<Reputation as stratus_primitives::ReputationProvider<AccountId>>::consecutive_valid(
				&p,
				JobKind::Wasm,
			)
		};
		assert_eq!((valid(10), valid(12)), (1, 0));
	});
}

#[test]
fn a_missed_deadline_lowers_reputation_and_a_dispute_is_recorded_by_every_replica() {
	ExtBuilder.build_and_execute(|| {
		let j = job_on_two_offers();
		run_to_block(2 + ACK);
		assert_eq!(job(j).replicas[0].state, ReplicaState::Missed(Missed::Ack));
		assert!(score(10) < sp_runtime::Perbill::from_percent(50));
	});
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
		assert!(score(10) < sp_runtime::Perbill::from_percent(50));
		assert!(score(11) < sp_runtime::Perbill::from_percent(50));
	});
}

#[test]
fn a_job_may_require_a_minimum_reputation() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 4, 2);
		offer(11, 6, 2);
		// Provider 11 earns a record of one verified result; 10 is a newcomer (a half).
		let warmup = submit(BOB, JobSpec { policy: Replicated(2), ..spec(program) });
		for (r, p) in [(0u8, 10), (1, 11)] {
			ack(p, warmup, r);
		}
		commit(10, warmup, 0, digest(1), 10);
		commit(11, warmup, 1, digest(1), 10);
		reveal(10, warmup, 0, digest(1));
		reveal(11, warmup, 1, digest(1));
		// Both now have one agreement: (1 + 1) / (1 + 2) ≈ 0.67. A new provider with none is
		// excluded by a 60% floor.
		providers(12..=12);
		offer(12, 1, 1);
		let requirements = RequirementsSpec {
			min_reputation: sp_runtime::Perbill::from_percent(60),
			..Default::default()
		};
		let j = submit(ALICE, JobSpec { requirements, ..spec(program) });
		// The cheapest offer (12's) is passed over for its reputation.
		assert_eq!(job(j).replicas[0].provider, 10);
		// And why_no_match counts it.
		let picky = RequirementsSpec {
			min_reputation: sp_runtime::Perbill::from_percent(99),
			..Default::default()
		};
		let none = submit(ALICE, JobSpec { requirements: picky, ..spec(program) });
		assert!(job(none).replicas.is_empty());
		let report = Market::why_no_match(none).unwrap();
		assert!(report.excluded_by.contains(&(Requirement::MinReputation, 3)), "{report:?}");
	});
}

proptest! {
	/// Replicas that behave at random — honest, wrong, inflating their units, silent at any step
	/// — on jobs of random policy (referees, when called, never act): money is conserved through matching, settlement and every
	/// slash, and a replica that met every deadline with the quorum's result is never slashed.
	#[test]
	fn money_is_conserved_and_the_honest_are_never_slashed(
		jobs in proptest::collection::vec(
			(0u8..4, proptest::collection::vec(0u8..6, 3)),
			1..6,
		),
	) {
		ExtBuilder.build().execute_with(|| -> Result<(), TestCaseError> {
			providers(10..=19);
			let program = register_wasm(ALICE);
			for p in 10..=19 {
				offer(p, 3, 4);
			}
			let accounts: Vec<AccountId> = (1..=19).chain([FEE_ACCOUNT]).collect();
			let money = || accounts.iter().map(|a| total(*a)).sum::<Balance>();
			let start = money();
			let mut honest = Vec::new();
			for (n, (replication, behaviours)) in jobs.into_iter().enumerate() {
				let requester = 1 + (n as u64 % 5);
				// 0: adaptive (a newcomer's job gets a drawn second replica).
				let policy = if replication == 0 {
					VerificationPolicy::Adaptive
				} else {
					policy_of(replication)
				};
				let j = submit(requester, JobSpec { policy, ..spec(program) });
				let replicas = job(j).replicas.clone();
				// 0, 1: honest; 2: wrong digest; 3: inflated units; 4: no acknowledgement;
				// 5: no reveal.
				for (r, b) in replicas.iter().zip(behaviours.iter().cycle()) {
					if *b == 4 {
						continue;
					}
					ack(r.provider, j, r.index);
					let (d, units) = match b {
						2 => (digest(9), 10),
						3 => (digest(1), 99),
						_ => (digest(1), 10),
					};
					commit(r.provider, j, r.index, d, units);
				}
				run_to_block(System::block_number() + 1);
				for (r, b) in replicas.iter().zip(behaviours.iter().cycle()) {
					let state = job(j).replicas.iter().find(|x| x.index == r.index).unwrap().state;
					if *b != 4 && *b != 5 && state == ReplicaState::Committed
						&& matches!(job(j).phase, JobPhase::Revealing { .. })
					{
						reveal(r.provider, j, r.index, if *b == 2 { digest(9) } else { digest(1) });
					}
					if *b <= 1 {
						honest.push((j, r.provider));
					}
				}
				run_to_block(System::block_number() + 30);
				prop_assert_eq!(money(), start);
			}
			run_to_block(System::block_number() + SLASH_DEFER + 60);
			prop_assert_eq!(money(), start);
			// An honest replica is slashed only when liars that agree with each other outvote it
			// (a ring holding the majority of the job's replicas, which random stake-weighted
			// verifiers make rare). Whenever the honest result is the verified one, the replicas
			// that gave it are never slashed for the job.
			for (j, provider) in honest {
				let Some(job) = Jobs::<Test>::get(j) else { continue };
				if let JobPhase::Settled { digest: d } = job.phase {
					let r = job.replicas.iter().find(|r| r.provider == provider).unwrap();
					if r.digest == Some(d) && r.paid > 0 {
						let slashed = pallet_slashing::AppliedSlashes::<Test>::get(provider)
							.iter()
							.any(|s| s.job == j);
						prop_assert!(!slashed, "an honest replica of a settled job was slashed");
					}
				}
			}
			Market::do_try_state().unwrap();
			Slashing::do_try_state().unwrap();
			Ok(())
		})?;
	}
}

#[test]
fn job_short_of_a_replica_still_ends_at_commit_close() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		offer(11, 5, 1);
		let before = total(ALICE);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		// Fully matched: its next wake-up is replica 1's acknowledgement deadline.
		assert_eq!(job(j).wake_at, Some(1 + ACK + 1));
		ack(10, j, 0);
		commit(10, j, 0, digest(1), 10);
		// Replica 1 misses its acknowledgement and there is no one to reissue it to.
		run_to_block(2 + ACK);
		let short = job(j);
		assert_eq!(short.replicas[1].state, ReplicaState::Missed(Missed::Ack));
		assert_eq!(short.unfilled(), 1);
		// Short of a replica: it wakes at its commit close at the latest.
		assert!(short.wake_at.unwrap() <= short.commit_close());
		// At commit close the lone commit is revealed; one of two is no quorum: expired, refunded.
		run_to_block(short.commit_close());
		assert!(matches!(job(j).phase, JobPhase::Revealing { .. }));
		// Every committed replica revealed: judged at once.
		reveal(10, j, 0, digest(1));
		assert_eq!(job(j).phase, JobPhase::Expired);
		assert_eq!(job(j).replicas[0].paid, 0);
		assert_eq!(total(ALICE), before);
	});
}

#[test]
fn offer_cannot_shrink_below_its_slots_in_use() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		let o = offer(10, 5, 2);
		submit(ALICE, spec(program));
		submit(BOB, spec(program));
		assert_eq!(Offers::<Test>::get(o).unwrap().in_use(), 2);
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(10), o, 5, 1, EXPIRY),
			Error::<Test>::SlotsInUse
		);
	});
}

#[test]
fn many_jobs_due_in_one_block_all_end_and_none_is_dropped() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let requesters: Vec<AccountId> = (1..=9).collect();
		let before: Vec<Balance> = requesters.iter().map(|r| total(*r)).collect();
		// 300 resting jobs with the same deadline, more than the old per-block queue held (from
		// nine requesters: each may have `MaxRestingJobs` resting).
		let jobs: Vec<_> = (0..300).map(|n| submit(requesters[n % 9], spec(program))).collect();
		let close = job(jobs[0]).commit_close();
		assert!(jobs.iter().all(|j| job(*j).wake_at == Some(close)));
		assert_eq!(crate::Deadlines::<Test>::iter_prefix(close).count(), 300);
		run_to_block(close);
		for j in &jobs {
			assert_eq!(job(*j).phase, JobPhase::Expired);
			assert_eq!(job(*j).wake_at, None);
		}
		// Ended jobs took their wake-ups with them.
		assert_eq!(crate::Deadlines::<Test>::iter().count(), 0);
		assert_eq!(requesters.iter().map(|r| total(*r)).collect::<Vec<_>>(), before);
	});
}

#[test]
fn resting_jobs_are_capped_per_requester_and_deposits_return_at_reap() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let held = |who| Balances::balance_on_hold(&crate::HoldReason::JobDeposit.into(), &who);
		// Nothing serves these: they rest. The cap is 64 (the mock's `MaxRestingJobs`).
		let jobs: Vec<_> = (0..64).map(|_| submit(ALICE, spec(program))).collect();
		assert_eq!(crate::RestingJobs::<Test>::get(ALICE), 64);
		assert_eq!(held(ALICE), 64 * 5);
		assert_noop!(
			Market::submit_job(RuntimeOrigin::signed(ALICE), spec(program)),
			Error::<Test>::TooManyRestingJobs
		);
		// Another requester is not held to Alice's count; a job that matches at once never
		// rests, so the cap does not stop it.
		submit(BOB, spec(program));
		providers(10..=10);
		offer(10, 5, 1);
		assert_eq!(crate::RestingJobs::<Test>::get(ALICE), 63, "the offer took the oldest job");
		// Cancelled jobs leave the job book; their deposits stay until they are reaped.
		for j in jobs.iter().skip(1) {
			assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), *j));
		}
		assert!(!crate::RestingJobs::<Test>::contains_key(ALICE));
		assert_eq!(held(ALICE), 64 * 5);
		run_to_block(System::block_number() + 21);
		let before = Balances::balance(&ALICE);
		assert_ok!(Market::reap_job(RuntimeOrigin::signed(BOB), jobs[1]));
		assert_eq!(Balances::balance(&ALICE), before + 5, "the deposit returns to the requester");
		assert_eq!(held(ALICE), 63 * 5);
	});
}

#[test]
fn a_cancelled_job_leaves_no_wake_up_behind() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let j = submit(ALICE, spec(program));
		assert_eq!(crate::Deadlines::<Test>::iter().count(), 1);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), j));
		assert_eq!(crate::Deadlines::<Test>::iter().count(), 0);
		assert_eq!(job(j).wake_at, None);
	});
}

#[test]
fn anyone_can_end_an_overdue_job_the_hook_has_not_reached() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=10);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		let before = total(ALICE);
		let j = submit(ALICE, spec(program));
		// Nothing is overdue yet: refused, nothing changes.
		assert_noop!(Market::end_overdue(RuntimeOrigin::signed(BOB), j), Error::<Test>::NotOverdue);
		// The acknowledgement deadline passes while the hook does not run (a crowded chain).
		let due = job(j).wake_at.unwrap();
		System::set_block_number(due);
		let result = Market::end_overdue(RuntimeOrigin::signed(BOB), j).unwrap();
		assert_eq!(result.pays_fee, Pays::No);
		assert_eq!(job(j).replicas[0].state, ReplicaState::Missed(Missed::Ack));
		// Handled once: the next call finds nothing overdue.
		assert_noop!(Market::end_overdue(RuntimeOrigin::signed(BOB), j), Error::<Test>::NotOverdue);
		// Past its commit close, the job ends at once and refunds.
		System::set_block_number(job(j).commit_close());
		assert_ok!(Market::end_overdue(RuntimeOrigin::signed(BOB), j));
		assert_eq!(job(j).phase, JobPhase::Expired);
		assert_eq!(total(ALICE), before);
		assert_noop!(
			Market::end_overdue(RuntimeOrigin::signed(BOB), j),
			Error::<Test>::JobFinished
		);
		// The hook, catching up, finds nothing left of it.
		run_to_block(System::block_number() + 1);
		assert_eq!(crate::Deadlines::<Test>::iter().count(), 0);
	});
}

#[test]
fn try_state_catches_a_job_without_a_wake_up() {
	ExtBuilder.build().execute_with(|| {
		let program = register_wasm(ALICE);
		let j = submit(ALICE, spec(program));
		assert_ok!(Market::do_try_state());
		let at = job(j).wake_at.unwrap();
		crate::Deadlines::<Test>::remove(at, j);
		assert!(Market::do_try_state().is_err());
	});
}

//! The market's tests: verification policies.

use super::*;

/// Make `provider` trusted for WASM jobs: eight verified results (a score of 9/10).
fn trust(provider: AccountId) {
	for _ in 0..8 {
		<Reputation as stratus_primitives::ReputationProvider<AccountId>>::record_result(
			&provider,
			JobKind::Wasm,
			stratus_primitives::ResultOutcome::Agreed,
		);
	}
}

/// Providers 10 to 15 offer one slot each at 4 (10, the primary), then 5, 6, … .
fn six_offers() -> H256 {
	providers(10..=15);
	let program = register_wasm(ALICE);
	for p in 10..=15 {
		offer(p, 4 + Balance::from((p - 10) as u32), 1);
	}
	program
}

fn adaptive(program: H256) -> JobSpec<Balance, u64> {
	JobSpec { policy: VerificationPolicy::Adaptive, ..spec(program) }
}

/// Acknowledge, commit `d` with 10 units, for every live replica of job `j` whose provider
/// `said` gives a digest for.
fn run_live(j: JobId, said: impl Fn(AccountId) -> Option<u8>) {
	for r in job(j).replicas.iter().filter(|r| r.state == ReplicaState::Assigned) {
		if let Some(d) = said(r.provider) {
			ack(r.provider, j, r.index);
			commit(r.provider, j, r.index, digest(d), 10);
		}
	}
}

/// Reveal for every committed replica of `j`.
fn reveal_all(j: JobId, said: impl Fn(AccountId) -> Option<u8>) {
	for r in job(j).replicas.iter().filter(|r| r.state == ReplicaState::Committed) {
		if let Some(d) = said(r.provider) {
			reveal(r.provider, j, r.index, digest(d));
		}
	}
}

#[test]
fn unverified_runs_one_replica_and_holds_one() {
	ExtBuilder.build_and_execute(|| {
		let program = six_offers();
		let before = total(ALICE);
		let j = submit(ALICE, spec(program));
		assert_eq!(job(j).escrow, 10 * 100);
		assert_eq!(job(j).replicas.len(), 1);
		run_live(j, |_| Some(1));
		reveal_all(j, |_| Some(1));
		assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(1) });
		assert_eq!(total(ALICE), before - 4 * 10);
	});
}

#[test]
fn adaptive_gives_a_newcomer_a_second_replica_drawn_by_stake_and_refunds_the_worst_case() {
	ExtBuilder.build_and_execute(|| {
		let program = six_offers();
		let before = total(ALICE);
		let j = submit(ALICE, adaptive(program));
		let running = job(j);
		// Held: two replicas and two referees at the most.
		assert_eq!(running.escrow, 4 * 10 * 100);
		// The primary runs alone until it commits: nobody knows yet who checks it.
		assert_eq!(running.replication, 1);
		assert_eq!(running.spot_check, Some(crate::SpotCheck::Pending));
		assert_eq!(running.replicas.len(), 1);
		assert_eq!(
			(running.replicas[0].provider, running.replicas[0].role),
			(10, crate::Role::Primary)
		);
		run_live(j, |_| Some(1));
		market_events();
		run_to_block(System::block_number() + 1);
		// A newcomer is not trusted: checked for certain, by a replica drawn by stake.
		assert!(market_events().contains(&Event::SpotCheckDecided {
			job: j,
			checked: true,
			rate: sp_runtime::Perbill::one()
		}));
		let checked = job(j);
		assert_eq!(checked.replication, 2);
		assert_eq!(checked.replicas.len(), 2);
		assert_eq!(checked.replicas[1].role, crate::Role::SpotCheck);
		run_live(j, |_| Some(1));
		reveal_all(j, |_| Some(1));
		let settled = job(j);
		assert_eq!(settled.phase, JobPhase::Settled { digest: digest(1) });
		// Each paid its own price for 10 units; everything else came back.
		let cost: Balance = settled.replicas.iter().map(|r| r.price * 10).sum();
		assert_eq!(total(ALICE), before - cost);
		assert_eq!(escrow_held(ALICE), 0);
	});
}

#[test]
fn a_trusted_provider_runs_alone_and_the_chain_decides_after_its_commit() {
	ExtBuilder.build_and_execute(|| {
		let program = six_offers();
		trust(10);
		never_spot_check();
		let before = total(ALICE);
		let j = submit(ALICE, adaptive(program));
		assert_eq!(job(j).replicas.len(), 1);
		assert_eq!(job(j).spot_check, Some(crate::SpotCheck::Pending));
		run_live(j, |_| Some(1));
		// Committed: nothing is decided in the block of the commitment, and nothing revealed.
		let now = System::block_number();
		let rate =
			<Reputation as stratus_primitives::ReputationProvider<AccountId>>::spot_check_rate(
				&10,
				JobKind::Wasm,
			)
			.unwrap();
		assert_eq!(job(j).spot_check, Some(crate::SpotCheck::Drawing { at: now + 1, rate }));
		assert_eq!(job(j).phase, JobPhase::Open);
		assert_noop!(
			Verification::reveal(RuntimeOrigin::signed(10), j, 0, digest(1), 10, [0; 32]),
			Error::<Test>::NotAwaitingReveal
		);
		// The commitment's block fixed the outcome: spared, the worker can reveal into the next.
		assert_eq!(Market::spot_check_forecast(j, sealed_hash(now)), Some(false));
		market_events();
		run_to_block(now + 1);
		assert!(market_events().contains(&Event::SpotCheckDecided {
			job: j,
			checked: false,
			rate
		}));
		assert_eq!(job(j).spot_check, Some(crate::SpotCheck::Spared));
		assert!(matches!(job(j).phase, JobPhase::Revealing { .. }));
		reveal_all(j, |_| Some(1));
		assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(1) });
		assert_eq!(total(ALICE), before - 4 * 10);
		set_random(None);
	});
}

#[test]
fn a_spot_check_catches_a_trusted_liar_and_referees_settle_it() {
	ExtBuilder.build_and_execute(|| {
		let program = six_offers();
		trust(10);
		always_spot_check();
		let money = || (1..=29).chain([FEE_ACCOUNT]).map(total).sum::<Balance>();
		let start = money();
		let j = submit(ALICE, adaptive(program));
		// 10 lies; everyone else computes the honest result.
		let said = |p: AccountId| Some(if p == 10 { 9 } else { 1 });
		run_live(j, said);
		run_to_block(System::block_number() + 1);
		let checked = job(j);
		assert_eq!(checked.spot_check, Some(crate::SpotCheck::Checked));
		assert_eq!(checked.replicas.len(), 2);
		assert_eq!(checked.replicas[1].role, crate::Role::SpotCheck);
		assert_ne!(checked.replicas[1].provider, 10);
		run_live(j, said);
		reveal_all(j, said);
		// One against one: referees are called, drawn from providers the job has not had.
		let referred = job(j);
		assert!(referred.referees && referred.phase == JobPhase::Open);
		assert!(market_events().contains(&Event::RefereesCalled { job: j, round: 1 }));
		let referees: Vec<_> = referred.replicas.iter().filter(|r| r.round == 1).collect();
		assert_eq!(referees.len(), 2);
		assert!(referees.iter().all(|r| r.role == crate::Role::Referee));
		run_live(j, said);
		reveal_all(j, said);
		let settled = job(j);
		assert_eq!(settled.phase, JobPhase::Settled { digest: digest(1) });
		// The spot-checker and both referees are paid; the liar is not, and is slashed.
		let paid: Vec<_> =
			settled.replicas.iter().filter(|r| r.paid > 0).map(|r| r.provider).collect();
		assert_eq!(paid.len(), 3);
		assert!(!paid.contains(&10));
		assert_eq!(pending_slashes(10).len(), 1);
		assert_eq!(pending_slashes(10)[0].offence, OffenceKind::WrongResult);
		for p in paid {
			assert!(pending_slashes(p).is_empty());
		}
		// It is no longer trusted.
		assert_eq!(
			<Reputation as stratus_primitives::ReputationProvider<AccountId>>::spot_check_rate(
				&10,
				JobKind::Wasm
			),
			None
		);
		run_to_block(System::block_number() + SLASH_DEFER + 1);
		assert_eq!(money(), start);
		set_random(None);
	});
}

#[test]
fn referees_decide_only_when_all_of_them_agree() {
	ExtBuilder.build_and_execute(|| {
		Referees::set(&3);
		let program = six_offers();
		let before = total(ALICE);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		let liar = job(j).replicas[0].provider;
		let said = move |p: AccountId| Some(if p == liar { 9 } else { 1 });
		run_live(j, said);
		reveal_all(j, said);
		let referred = job(j);
		assert!(referred.referees);
		let referees: Vec<AccountId> =
			referred.replicas.iter().filter(|r| r.round == 1).map(|r| r.provider).collect();
		assert_eq!(referees.len(), 3);
		// Two referees side with the liar and one does not: three against two overall, but not
		// the referees together, so nothing is settled and nobody is slashed.
		let (a, b) = (referees[0], referees[1]);
		let said = move |p: AccountId| Some(if p == liar || p == a || p == b { 9 } else { 1 });
		run_live(j, said);
		reveal_all(j, said);
		assert_eq!(job(j).phase, JobPhase::Disputed);
		assert_eq!(total(ALICE), before);
		assert_eq!(pallet_slashing::PendingSlashes::<Test>::iter().count(), 0);
		// The same dispute with all three referees against the liar settles it.
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		let liar = job(j).replicas[0].provider;
		let said = move |p: AccountId| Some(if p == liar { 9 } else { 1 });
		run_live(j, said);
		reveal_all(j, said);
		run_live(j, said);
		reveal_all(j, said);
		assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(1) });
		assert_eq!(pending_slashes(liar).len(), 1);
	});
}

#[test]
fn a_replicated_ring_is_spot_checked_and_its_lie_goes_to_referees() {
	ExtBuilder.build_and_execute(|| {
		crate::mock::ReplicatedSpotCheck::set(&Perbill::one());
		let program = six_offers();
		always_spot_check();
		let money = || (1..=29).chain([FEE_ACCOUNT]).map(total).sum::<Balance>();
		let start = money();
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		// The escrow holds two replicas, a spot-check and two referees.
		assert_eq!(job(j).escrow, 5 * 1000);
		let ring: Vec<AccountId> = job(j).replicas.iter().map(|r| r.provider).collect();
		let said = {
			let ring = ring.clone();
			move |p: AccountId| Some(if ring.contains(&p) { 9 } else { 1 })
		};
		run_live(j, &said);
		// Both committed; the reveals wait for the next block's decision.
		assert!(job(j).spot_check_undecided());
		run_to_block(System::block_number() + 1);
		let checked = job(j);
		assert_eq!(checked.spot_check, Some(crate::SpotCheck::Checked));
		assert_eq!(checked.replicas.len(), 3);
		assert_eq!(checked.replicas[2].role, crate::Role::SpotCheck);
		assert!(!ring.contains(&checked.replicas[2].provider));
		run_live(j, &said);
		reveal_all(j, &said);
		// Two against one is a majority, but not against a spot-check: referees decide.
		assert!(job(j).referees);
		run_live(j, &said);
		reveal_all(j, &said);
		let settled = job(j);
		assert_eq!(settled.phase, JobPhase::Settled { digest: digest(1) });
		for p in &ring {
			assert_eq!(pending_slashes(*p).len(), 1, "ring member {p} is slashed");
		}
		let paid: Vec<_> =
			settled.replicas.iter().filter(|r| r.paid > 0).map(|r| r.provider).collect();
		assert_eq!(paid.len(), 3, "the spot-check and both referees are paid");
		run_to_block(System::block_number() + SLASH_DEFER + 1);
		assert_eq!(money(), start);
		set_random(None);
	});
}

#[test]
fn a_replicated_spot_check_with_nobody_to_draw_is_dropped() {
	ExtBuilder.build_and_execute(|| {
		crate::mock::ReplicatedSpotCheck::set(&Perbill::one());
		always_spot_check();
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		offer(11, 5, 1);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		let said = |_| Some(1);
		run_live(j, said);
		run_to_block(System::block_number() + 1);
		assert!(market_events().contains(&Event::SpotCheckDecided {
			job: j,
			checked: false,
			rate: Perbill::one()
		}));
		assert_eq!(job(j).replicas.len(), 2);
		reveal_all(j, said);
		assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(1) });
		set_random(None);
	});
}

#[test]
fn a_replicated_spot_check_that_never_commits_leaves_the_round_standing() {
	ExtBuilder.build_and_execute(|| {
		crate::mock::ReplicatedSpotCheck::set(&Perbill::one());
		let program = six_offers();
		always_spot_check();
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		let round: Vec<AccountId> = job(j).replicas.iter().map(|r| r.provider).collect();
		run_live(j, |_| Some(1));
		run_to_block(System::block_number() + 1);
		let checker = job(j).replicas[2].provider;
		ack(checker, j, 2);
		// The checker never commits; every reissue is left unacknowledged too.
		run_to_block(job(j).commit_close() + 1);
		reveal_all(j, |_| Some(1));
		let settled = job(j);
		assert_eq!(settled.phase, JobPhase::Settled { digest: digest(1) });
		for p in round {
			assert!(settled.replicas.iter().any(|r| r.provider == p && r.paid > 0));
		}
		set_random(None);
	});
}

#[test]
fn referees_that_disagree_leave_the_dispute_standing_and_nobody_slashed() {
	ExtBuilder.build_and_execute(|| {
		let program = six_offers();
		let before = total(ALICE);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		// Every provider gives its own digest.
		let said = |p: AccountId| Some(p as u8);
		run_live(j, said);
		reveal_all(j, said);
		assert!(job(j).referees);
		run_live(j, said);
		reveal_all(j, said);
		assert_eq!(job(j).phase, JobPhase::Disputed);
		assert_eq!(total(ALICE), before);
		assert_eq!(pallet_slashing::PendingSlashes::<Test>::iter().count(), 0);
		// All four recorded the disagreement.
		for r in job(j).replicas.iter() {
			assert!(score(r.provider) < sp_runtime::Perbill::from_percent(50));
		}
	});
}

#[test]
fn a_majority_of_three_needs_no_referee() {
	ExtBuilder.build_and_execute(|| {
		let j = three_replicas_one_liar();
		assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(1) });
		assert!(!job(j).referees);
	});
}

#[test]
fn verifiers_are_drawn_by_stake_not_by_price() {
	ExtBuilder.build_and_execute(|| {
		// 10 is the cheapest (the primary); 11 is cheaper than 12 but 12 holds nine times its
		// stake.
		register(10, cpu_profile(276), 1);
		register(11, cpu_profile(276), 1);
		register(12, cpu_profile(276), 9);
		let program = register_wasm(ALICE);
		offer(10, 1, 1);
		offer(11, 2, 1);
		offer(12, 8, 1);
		let mut drawn = std::collections::BTreeMap::<AccountId, u32>::new();
		for _ in 0..60 {
			let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
			let verifier = job(j).replicas[1].provider;
			*drawn.entry(verifier).or_default() += 1;
			assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), j));
			run_to_block(System::block_number() + 1);
		}
		let (cheap, staked) = (drawn.get(&11).copied().unwrap_or(0), drawn[&12]);
		assert_eq!(cheap + staked, 60);
		assert!(staked >= 45, "12 (90% of the stake) drawn {staked} of 60, 11 {cheap}");
	});
}

#[test]
fn a_job_waiting_for_a_verifier_draws_when_an_offer_arrives() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 4, 1);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		assert_eq!(job(j).unfilled(), 1);
		// The new offer is matched by a draw (it is the only candidate), not taken as a primary.
		offer(11, 9, 1);
		let drawn = job(j);
		assert_eq!(drawn.unfilled(), 0);
		assert_eq!(
			(drawn.replicas[1].provider, drawn.replicas[1].role),
			(11, crate::Role::Verifier)
		);
	});
}

#[test]
fn a_freed_slot_serves_a_job_waiting_for_a_verifier_before_a_new_primary() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 4, 1);
		let replicated = |program| JobSpec { policy: Replicated(2), ..spec(program) };
		// `waiting` has its primary (10) and waits for a verifier; `new` waits for a primary.
		let waiting = submit(ALICE, replicated(program));
		let new = submit(ALICE, replicated(program));
		assert_eq!((job(waiting).replicas.len(), job(new).replicas.len()), (1, 0));
		// One slot comes free (11's offer). Taken as `new`'s primary, it would leave both jobs
		// holding a primary each and waiting for a verifier no free slot is left to be, until
		// their commit close expired them. The waiting job's verifier is drawn first.
		offer(11, 4, 1);
		let drawn = job(waiting);
		assert_eq!(drawn.unfilled(), 0);
		assert_eq!(
			(drawn.replicas[1].provider, drawn.replicas[1].role),
			(11, crate::Role::Verifier)
		);
		assert!(job(new).replicas.is_empty(), "no slot is left for a primary of the new job");
		// The waiting job goes through, and its slots then serve the new one.
		ack(10, waiting, 0);
		ack(11, waiting, 1);
		commit(10, waiting, 0, digest(1), 100);
		commit(11, waiting, 1, digest(1), 100);
		reveal(10, waiting, 0, digest(1));
		reveal(11, waiting, 1, digest(1));
		assert!(job(waiting).phase.is_final(), "{:?}", job(waiting).phase);
		let offers = crate::Offers::<Test>::iter_keys().collect::<Vec<_>>();
		for id in offers {
			let provider = crate::Offers::<Test>::get(id).unwrap().provider;
			assert_ok!(Market::update_offer(RuntimeOrigin::signed(provider), id, 4, 1, EXPIRY));
		}
		assert_eq!(job(new).unfilled(), 0, "{:?}", job(new).replicas);
	});
}

#[test]
fn a_verifier_missing_at_submission_is_drawn_when_the_primary_acknowledges() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=12);
		let program = register_wasm(ALICE);
		offer(10, 4, 1);
		let replicated = |program| JobSpec { policy: Replicated(2), ..spec(program) };
		let j = submit(ALICE, replicated(program));
		assert_eq!(job(j).unfilled(), 1);
		// An offer above the job's price: not eligible, no draw; updated under it, drawn.
		let late = offer(11, 50, 1);
		assert_eq!(job(j).unfilled(), 1);
		assert_ok!(Market::update_offer(RuntimeOrigin::signed(11), late, 5, 1, EXPIRY));
		assert_eq!(job(j).unfilled(), 0);
		let j2 = submit(ALICE, replicated(program));
		// 10 and 11 are busy; 12 posts and becomes j2's primary, with no verifier free.
		assert!(job(j2).replicas.is_empty());
		offer(12, 4, 1);
		assert_eq!(job(j2).replicas.len(), 1);
		assert_eq!(job(j2).replicas[0].provider, 12);
		let ack_weight = Market::acknowledge(RuntimeOrigin::signed(12), j2, 0).unwrap();
		// Nobody is free to draw: charged the draw it tried.
		assert_eq!(ack_weight.actual_weight, Some(Market::acknowledge_weight(true)));
		assert_eq!(job(j2).unfilled(), 1);
	});
}

/// A commit that implies the acknowledgement draws a missing verifier as the acknowledgement
/// would, and is charged for the draw.
#[test]
fn a_verifier_missing_at_submission_is_drawn_when_the_primary_commits_unacknowledged() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 4, 1);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		assert_eq!(job(j).unfilled(), 1);
		// 11's offer is above the job's price: nothing to draw when it is posted, nor when the
		// primary commits (charged for the draw it tried).
		offer(11, 50, 1);
		assert_eq!(job(j).unfilled(), 1);
		let c = commitment_for(j, 0, digest(3), 5);
		let info = Verification::commit(RuntimeOrigin::signed(10), j, 0, c).unwrap();
		assert_eq!(
			info.actual_weight,
			Some(
				<() as pallet_verification::WeightInfo>::commit()
					.saturating_add(Market::acknowledge_weight(true))
			)
		);
		assert_eq!(job(j).replicas[0].state, ReplicaState::Committed);
		// Still nobody eligible: the round waits for its verifier; no reveal window yet.
		assert_eq!(job(j).unfilled(), 1);
		assert_eq!(job(j).phase, JobPhase::Open);
	});
}

/// The spot-check's draw is what the commitment's block fixed, at the rate the provider had when
/// it committed: the forecast a worker reads at that block is the decision, whether the next
/// block's hook takes it or a later one does, and whatever happens to the provider's reputation
/// meanwhile. So a worker that reads "spared" can reveal at once without a second replica ever
/// being drawn after its digest is public.
#[test]
fn the_commitments_block_fixes_the_draw_and_its_forecast() {
	ExtBuilder.build_and_execute(|| {
		let program = six_offers();
		set_random(None);
		let reputation = |p| {
			<Reputation as stratus_primitives::ReputationProvider<AccountId>>::spot_check_rate(
				&p,
				JobKind::Wasm,
			)
			.unwrap()
		};
		// Provider 10 is trusted: its rate falls from about 57% with every valid result.
		trust(10);
		let (mut checked, mut spared) = (0, 0);
		for round in 0..24u64 {
			let rate = reputation(10);
			assert!(rate > Perbill::zero() && rate < Perbill::one(), "{rate:?}");
			let j = submit(ALICE, adaptive(program));
			assert_eq!(job(j).replicas[0].provider, 10);
			run_live(j, |_| Some(1));
			let now = System::block_number();
			assert_eq!(job(j).spot_check, Some(crate::SpotCheck::Drawing { at: now + 1, rate }));
			// Not yet knowable from the block's state alone: the answer needs its hash.
			let forecast = Market::spot_check_forecast(j, sealed_hash(now)).unwrap();
			// Another hash, another outcome for some: the hash is what decides.
			let late = round % 2 == 1;
			if late {
				// The hook is late (a crowded block carried the draw over), and the provider's
				// rate changed meanwhile: the draw is still the commitment block's, at the rate
				// it had then.
				<Reputation as stratus_primitives::ReputationProvider<AccountId>>::record_result(
					&10,
					JobKind::Wasm,
					stratus_primitives::ResultOutcome::Agreed,
				);
				assert_ne!(reputation(10), rate);
				start_block(now + 1);
				start_block(now + 2);
				start_block(now + 3);
				market_events();
				<Market as frame_support::traits::Hooks<u64>>::on_initialize(now + 3);
			} else {
				market_events();
				run_to_block(now + 1);
			}
			assert!(
				market_events().contains(&Event::SpotCheckDecided {
					job: j,
					checked: forecast,
					rate
				}),
				"job {j} (late: {late}): the forecast said checked = {forecast}"
			);
			if forecast {
				checked += 1;
				assert_eq!(job(j).spot_check, Some(crate::SpotCheck::Checked));
				assert_eq!(job(j).phase, JobPhase::Open);
				run_live(j, |_| Some(1));
				run_to_block(System::block_number() + 1);
			} else {
				spared += 1;
				assert_eq!(job(j).spot_check, Some(crate::SpotCheck::Spared));
			}
			// The reveals go in the block the window opens in, and settle it there.
			assert!(matches!(job(j).phase, JobPhase::Revealing { .. }));
			reveal_all(j, |_| Some(1));
			assert_eq!(job(j).phase, JobPhase::Settled { digest: digest(1) });
			assert_eq!(Market::spot_check_forecast(j, sealed_hash(now)), None);
		}
		// Both outcomes were seen, each forecast right.
		assert!(checked > 0 && spared > 0, "checked {checked}, spared {spared}");
	});
}

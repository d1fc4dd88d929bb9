#![allow(clippy::arithmetic_side_effects)]

use crate::{
	mock::*, runtime_api::Requirement, Error, Event, HoldReason, InputSpec, JobInput, JobInputs,
	JobPhase, JobSpec, Jobs, Missed, OfferBook, Offers, ProgramCode, Programs, ReplicaState,
	RequirementsSpec,
};
use frame_support::{
	assert_noop, assert_ok,
	dispatch::Pays,
	traits::fungible::{Inspect, InspectHold},
};
use proptest::prelude::*;
use sp_core::H256;
use sp_runtime::Perbill;
use stratus_primitives::{
	JobId, JobKind, OffenceKind, ProviderRegistry, ResourceClass, VerificationPolicy,
	VerificationPolicy::Replicated,
};

const EXPIRY: u64 = 500;

fn spec(program: H256) -> JobSpec<Balance, u64> {
	JobSpec {
		program,
		input: InputSpec::Inline(b"hello".to_vec()),
		requirements: RequirementsSpec::default(),
		max_price: 10,
		max_units: 100,
		policy: VerificationPolicy::Unverified,
		commit_window: 5,
		deadline: System::block_number() + 50,
		max_output_bytes: 1024,
	}
}

/// `unverified` for one replica, `replicated(n)` for more.
fn policy_of(replication: u8) -> VerificationPolicy {
	if replication <= 1 {
		VerificationPolicy::Unverified
	} else {
		Replicated(replication)
	}
}

fn offer(provider: AccountId, price: Balance, slots: u32) -> u64 {
	let id = crate::NextOfferId::<Test>::get();
	assert_ok!(Market::post_offer(
		RuntimeOrigin::signed(provider),
		ResourceClass::Cpu,
		price,
		slots,
		EXPIRY
	));
	id
}

fn submit(who: AccountId, spec: JobSpec<Balance, u64>) -> JobId {
	let id = crate::NextJobId::<Test>::get();
	assert_ok!(Market::submit_job(RuntimeOrigin::signed(who), spec));
	id
}

fn digest(n: u8) -> H256 {
	H256::repeat_byte(n)
}

fn ack(signer: AccountId, job: JobId, replica: u8) {
	assert_ok!(Market::acknowledge(RuntimeOrigin::signed(signer), job, replica));
}

std::thread_local! {
	/// The units each `(job, replica)` committed to, for its reveal.
	static COMMITTED_UNITS: core::cell::RefCell<std::collections::HashMap<(JobId, u8), u64>> =
		Default::default();
}

/// The commitment replica `replica` of `job` makes for digest `d` and `units`, bound to the
/// replica's own provider, with the salt `[replica; 32]`.
fn commitment_for(job_id: JobId, replica: u8, d: H256, units: u64) -> H256 {
	let provider = job(job_id).replicas.iter().find(|r| r.index == replica).unwrap().provider;
	let genesis = pallet_verification::Pallet::<Test>::genesis_hash();
	stratus_primitives::commitment(&genesis, job_id, replica, &provider, units, &d, &[replica; 32])
}

fn commit(signer: AccountId, job: JobId, replica: u8, d: H256, units: u64) {
	COMMITTED_UNITS.with(|u| u.borrow_mut().insert((job, replica), units));
	assert_ok!(Verification::commit(
		RuntimeOrigin::signed(signer),
		job,
		replica,
		commitment_for(job, replica, d, units),
	));
}

fn reveal(signer: AccountId, job: JobId, replica: u8, d: H256) {
	let units = COMMITTED_UNITS.with(|u| u.borrow().get(&(job, replica)).copied()).unwrap();
	assert_ok!(Verification::reveal(
		RuntimeOrigin::signed(signer),
		job,
		replica,
		d,
		units,
		[replica; 32]
	));
}

fn job(id: JobId) -> crate::Job<Test> {
	Jobs::<Test>::get(id).unwrap()
}

fn escrow_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&crate::HoldReason::JobEscrow.into(), &who)
}

/// Providers 10 and 11 offer one slot at 4 and 6; Alice's job takes 10's.
fn job_on_two_offers() -> JobId {
	providers(10..=11);
	let program = register_wasm(ALICE);
	offer(10, 4, 1);
	offer(11, 6, 1);
	submit(ALICE, spec(program))
}

/// Providers 10 and 11 offer one slot at 5 each; Alice's job of replication 2 takes both.
fn two_replicas() -> JobId {
	providers(10..=11);
	let program = register_wasm(ALICE);
	offer(10, 5, 1);
	offer(11, 5, 1);
	submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) })
}

/// A disputed job calls referees, but no other provider is there to be drawn: the job waits for
/// them until its commit window closes, and the dispute then stands.
fn no_referee_comes(j: JobId) {
	let waiting = job(j);
	assert_eq!(waiting.phase, JobPhase::Open);
	assert!(waiting.referees);
	assert!(waiting.replicas.iter().all(|r| r.state == ReplicaState::Referred));
	run_to_block(waiting.commit_close());
}

/// What each provider of `job` was paid, by provider.
fn paid_by_provider(job: &crate::Job<Test>) -> Vec<(AccountId, Balance)> {
	let mut paid: Vec<_> = job.replicas.iter().map(|r| (r.provider, r.paid)).collect();
	paid.sort();
	paid
}

/// The index of the replica `provider` runs in job `j`.
fn replica_of(j: JobId, provider: AccountId) -> u8 {
	job(j).replicas.iter().find(|r| r.provider == provider).unwrap().index
}

/// Providers 10, 11 and 12 run a job of replication 3 at price 5 (10 the primary, cheapest and
/// oldest; 11 and 12 the verifiers, drawn in either order), and all commit and reveal 10 units:
/// 10 and 11 the digest `1`, 12 the digest `9`.
fn three_replicas_one_liar() -> JobId {
	providers(10..=12);
	let program = register_wasm(ALICE);
	for p in 10..=12 {
		offer(p, 5, 1);
	}
	let j = submit(ALICE, JobSpec { policy: Replicated(3), ..spec(program) });
	assert_eq!(replica_of(j, 10), 0);
	let said = |p: AccountId| digest(if p == 12 { 9 } else { 1 });
	for p in 10..=12 {
		ack(p, j, replica_of(j, p));
		commit(p, j, replica_of(j, p), said(p), 10);
	}
	for p in 10..=12 {
		reveal(p, j, replica_of(j, p), said(p));
	}
	j
}

fn providers(range: core::ops::RangeInclusive<AccountId>) {
	for p in range {
		register(p, cpu_profile(276), 4);
	}
}

// ---------------------------------------------------------------- programs

#[test]
fn register_program_holds_deposit_and_stores_code() {
	ExtBuilder.build_and_execute(|| {
		let hash = register_wasm(ALICE);
		let info = Programs::<Test>::get(hash).unwrap();
		assert_eq!(
			(info.owner, info.kind, info.len, info.deposit, info.removable_at),
			(ALICE, JobKind::Wasm, 8, 18, None)
		);
		assert_eq!(ProgramCode::<Test>::get(hash).unwrap().to_vec(), wasm_code());
		assert_eq!(
			Balances::balance_on_hold(&crate::HoldReason::ProgramDeposit.into(), &ALICE),
			18
		);
		assert!(market_events().contains(&Event::ProgramRegistered {
			program: hash,
			owner: ALICE,
			kind: JobKind::Wasm,
			len: 8,
			deposit: 18
		}));
	});
}

#[test]
fn bad_programs_are_refused() {
	ExtBuilder.build_and_execute(|| {
		let o = RuntimeOrigin::signed(ALICE);
		assert_noop!(
			Market::register_program(o.clone(), JobKind::Wasm, vec![]),
			Error::<Test>::ProgramEmpty
		);
		assert_noop!(
			Market::register_program(o.clone(), JobKind::Cuda, vec![1; 1025]),
			Error::<Test>::ProgramTooLarge
		);
		assert_noop!(
			Market::register_program(o.clone(), JobKind::Wasm, b"(module)".to_vec()),
			Error::<Test>::InvalidWasm
		);
		register_wasm(ALICE);
		assert_noop!(
			Market::register_program(o, JobKind::Wasm, wasm_code()),
			Error::<Test>::ProgramExists
		);
		// A CUDA program is any non-empty text or PTX.
		assert_ok!(Market::register_program(
			RuntimeOrigin::signed(BOB),
			JobKind::Cuda,
			b"extern \"C\" __global__ void k() {}".to_vec()
		));
		// Too poor to hold the deposit.
		assert_noop!(
			Market::register_program(RuntimeOrigin::signed(500), JobKind::Cuda, vec![1; 10]),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn remove_program_rules() {
	ExtBuilder.build_and_execute(|| {
		let hash = register_wasm(ALICE);
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(BOB), hash),
			Error::<Test>::NotProgramOwner
		);
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(ALICE), digest(1)),
			Error::<Test>::UnknownProgram
		);
		providers(10..=10);
		offer(10, 5, 4);
		// A job submitted before the program retires runs to its end with it.
		let running = submit(BOB, JobSpec { deadline: 1001, ..spec(hash) });
		// The first call retires it: every job submitted so far has its deadline by 1 + 1000.
		assert_ok!(Market::remove_program(RuntimeOrigin::signed(ALICE), hash));
		assert_eq!(Programs::<Test>::get(hash).unwrap().removable_at, Some(1002));
		assert!(
			market_events().contains(&Event::ProgramRetiring { program: hash, removable_at: 1002 })
		);
		assert_noop!(
			Market::submit_job(RuntimeOrigin::signed(BOB), spec(hash)),
			Error::<Test>::ProgramRetiring
		);
		// Until then it stays, code and deposit, however often its owner asks.
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(ALICE), hash),
			Error::<Test>::ProgramInUse
		);
		assert_eq!(Balances::balance_on_hold(&HoldReason::ProgramDeposit.into(), &ALICE), 18);
		assert_ok!(Market::acknowledge(RuntimeOrigin::signed(10), running, 0));
		run_to_block(1001);
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(ALICE), hash),
			Error::<Test>::ProgramInUse
		);
		assert!(ProgramCode::<Test>::contains_key(hash));
		run_to_block(1002);
		assert!(job(running).phase.is_final());
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(BOB), hash),
			Error::<Test>::NotProgramOwner
		);
		let before = Balances::balance(&ALICE);
		assert_ok!(Market::remove_program(RuntimeOrigin::signed(ALICE), hash));
		assert_eq!(Balances::balance(&ALICE), before + 18);
		assert_eq!(Balances::balance_on_hold(&HoldReason::ProgramDeposit.into(), &ALICE), 0);
		assert!(!ProgramCode::<Test>::contains_key(hash));
		assert!(market_events().contains(&Event::ProgramRemoved { program: hash, refunded: 18 }));
		// The same bytes may be registered again, and used.
		assert_eq!(register_wasm(BOB), hash);
		assert_eq!(Programs::<Test>::get(hash).unwrap().removable_at, None);
		submit(ALICE, spec(hash));
	});
}

#[test]
fn a_small_inline_input_stays_in_the_job_record() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let with_input = |bytes: usize| {
			let input = InputSpec::Inline(vec![7; bytes]);
			submit(ALICE, JobSpec { input, ..spec(program) })
		};
		let small = with_input(crate::SMALL_INPUT_BYTES as usize);
		let large = with_input(crate::SMALL_INPUT_BYTES as usize + 1);
		let empty = with_input(0);
		assert_eq!(job(small).small_input.map(|b| b.into_inner()), Some(vec![7; 128]));
		assert!(!JobInputs::<Test>::contains_key(small));
		assert_eq!(job(empty).small_input.map(|b| b.len()), Some(0));
		assert!(!JobInputs::<Test>::contains_key(empty));
		assert_eq!(job(large).small_input, None);
		assert!(
			matches!(JobInputs::<Test>::get(large), Some(JobInput::Inline(b)) if b.len() == 129)
		);
		// A remote input always lives apart.
		let remote = submit(
			ALICE,
			JobSpec {
				input: InputSpec::Remote { url: b"https://x/y".to_vec(), hash: digest(3), size: 9 },
				..spec(program)
			},
		);
		assert_eq!(job(remote).small_input, None);
		assert!(JobInputs::<Test>::contains_key(remote));
		let bytes = |j| Market::job_status(j).unwrap().inline_input_bytes;
		assert_eq!(
			(bytes(small), bytes(large), bytes(empty), bytes(remote)),
			(Some(128), Some(129), Some(0), None)
		);
		// Reaping leaves nothing behind either way.
		for j in [small, large, empty, remote] {
			assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), j));
		}
		run_to_block(21);
		for j in [small, large, empty, remote] {
			assert_ok!(Market::reap_job(RuntimeOrigin::signed(BOB), j));
			assert!(!Jobs::<Test>::contains_key(j) && !JobInputs::<Test>::contains_key(j));
		}
		assert_eq!(JobInputs::<Test>::iter().count(), 0);
	});
}

// ---------------------------------------------------------------- offers

#[test]
fn post_offer_reserves_stake_and_rests_in_the_book() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(276), 4);
		let id = offer(10, 7, 3);
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 3);
		assert_eq!(OfferBook::<Test>::iter().count(), 1);
		// One open offer per resource class: a second is refused, and changes nothing.
		assert_noop!(
			Market::post_offer(RuntimeOrigin::signed(10), ResourceClass::Cpu, 8, 1, EXPIRY),
			Error::<Test>::OfferForClassExists
		);
		assert_ok!(Market::cancel_offer(RuntimeOrigin::signed(10), id));
		// The worker key may post for its provider.
		assert_ok!(Market::post_offer(
			RuntimeOrigin::signed(110),
			ResourceClass::Cpu,
			8,
			1,
			EXPIRY
		));
		assert_eq!(Offers::<Test>::get(id + 1).unwrap().provider, 10);
	});
}

#[test]
fn bad_offers_are_refused() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(276), 2);
		register(11, gpu_profile("NVIDIA H100", 81_920, 90), 4);
		let post = |who, class, price, slots, exp| {
			Market::post_offer(RuntimeOrigin::signed(who), class, price, slots, exp)
		};
		assert_noop!(post(ALICE, ResourceClass::Cpu, 5, 1, EXPIRY), Error::<Test>::NotProvider);
		assert_noop!(
			post(10, ResourceClass::Gpu(0), 5, 1, EXPIRY),
			Error::<Test>::ClassNotInProfile
		);
		assert_noop!(
			post(11, ResourceClass::Gpu(1), 5, 1, EXPIRY),
			Error::<Test>::ClassNotInProfile
		);
		assert_noop!(post(10, ResourceClass::Cpu, 0, 1, EXPIRY), Error::<Test>::ZeroPrice);
		assert_noop!(post(10, ResourceClass::Cpu, 5, 0, EXPIRY), Error::<Test>::ZeroSlots);
		assert_noop!(post(10, ResourceClass::Cpu, 5, 17, EXPIRY), Error::<Test>::TooManySlots);
		assert_noop!(post(10, ResourceClass::Cpu, 5, 1, 1), Error::<Test>::ExpiryInPast);
		// Staked for two slots: a third is refused by the registry.
		assert_noop!(
			post(10, ResourceClass::Cpu, 5, 3, EXPIRY),
			pallet_provider_staking::Error::<Test>::StakeTooLowForSlots
		);
		// One open offer per class; an expired one no longer counts as open, but its record stays
		// (and counts towards `MaxOffersPerProvider`) until it is closed.
		for _ in 0..4 {
			let now = System::block_number();
			assert_ok!(post(11, ResourceClass::Gpu(0), 5, 1, now + 1));
			assert_noop!(
				post(11, ResourceClass::Gpu(0), 6, 1, EXPIRY),
				Error::<Test>::OfferForClassExists
			);
			System::set_block_number(now + 1);
		}
		assert_noop!(post(11, ResourceClass::Gpu(0), 5, 1, EXPIRY), Error::<Test>::TooManyOffers);
	});
}

#[test]
fn update_and_cancel_offer() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(276), 4);
		register(11, cpu_profile(276), 4);
		let id = offer(10, 7, 2);
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(11), id, 5, 2, EXPIRY),
			Error::<Test>::NotOfferOwner
		);
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(10), 99, 5, 2, EXPIRY),
			Error::<Test>::UnknownOffer
		);
		assert_ok!(Market::update_offer(RuntimeOrigin::signed(10), id, 5, 4, EXPIRY));
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 4);
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(10), id, 5, 5, EXPIRY),
			pallet_provider_staking::Error::<Test>::StakeTooLowForSlots
		);
		assert_ok!(Market::cancel_offer(RuntimeOrigin::signed(10), id));
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 0);
		assert!(Offers::<Test>::get(id).is_none());
		assert_noop!(
			Market::cancel_offer(RuntimeOrigin::signed(10), id),
			Error::<Test>::UnknownOffer
		);
	});
}

#[test]
fn cancelled_offer_serving_a_replica_waits_for_it() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=10);
		let program = register_wasm(ALICE);
		let o = offer(10, 5, 2);
		let j = submit(ALICE, spec(program));
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(10), o, 5, 0, EXPIRY),
			Error::<Test>::ZeroSlots
		);
		assert_ok!(Market::update_offer(RuntimeOrigin::signed(10), o, 5, 1, EXPIRY));
		assert_ok!(Market::update_offer(RuntimeOrigin::signed(10), o, 5, 2, EXPIRY));
		assert_ok!(Market::cancel_offer(RuntimeOrigin::signed(10), o));
		let closed = Offers::<Test>::get(o).unwrap();
		assert!(!closed.open);
		assert_eq!((closed.slots, closed.in_use()), (1, 1));
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 1);
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(10), o, 5, 2, EXPIRY),
			Error::<Test>::OfferClosed
		);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), j));
		assert!(Offers::<Test>::get(o).is_none());
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 0);
	});
}

// ---------------------------------------------------------------- jobs: bad input

#[test]
fn bad_jobs_are_refused_without_a_trace() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let now = System::block_number();
		let refused = |f: &dyn Fn(&mut JobSpec<Balance, u64>), e: Error<Test>| {
			let mut s = spec(program);
			f(&mut s);
			assert_noop!(Market::submit_job(RuntimeOrigin::signed(ALICE), s), e);
		};
		refused(&|s| s.program = digest(9), Error::<Test>::UnknownProgram);
		refused(&|s| s.max_units = 9, Error::<Test>::JobTooSmall);
		refused(&|s| s.policy = Replicated(0), Error::<Test>::BadReplication);
		refused(&|s| s.policy = Replicated(1), Error::<Test>::BadReplication);
		refused(&|s| s.policy = Replicated(6), Error::<Test>::BadReplication);
		refused(&|s| s.max_price = 0, Error::<Test>::ZeroPrice);
		refused(&|s| s.max_units = 0, Error::<Test>::ZeroUnits);
		refused(&|s| s.max_output_bytes = 0, Error::<Test>::ZeroOutput);
		refused(&|s| s.max_output_bytes = (1 << 20) + 1, Error::<Test>::OutputTooLarge);
		refused(&|s| s.commit_window = 0, Error::<Test>::ZeroCommitWindow);
		refused(&|s| s.deadline = now, Error::<Test>::DeadlineInPast);
		refused(&|s| s.deadline = now + ACK + 5 + REVEAL, Error::<Test>::DeadlineTooSoon);
		refused(&|s| s.deadline = now + 1001, Error::<Test>::DeadlineTooFar);
		refused(&|s| s.input = InputSpec::Inline(vec![0; 257]), Error::<Test>::InputTooLarge);
		refused(
			&|s| s.input = InputSpec::Remote { url: vec![], hash: digest(1), size: 1 },
			Error::<Test>::BadInputUrl,
		);
		refused(
			&|s| s.input = InputSpec::Remote { url: vec![b'a'; 65], hash: digest(1), size: 1 },
			Error::<Test>::BadInputUrl,
		);
		refused(
			&|s| s.requirements.regions_allowed = vec![1, 2, 3, 4, 5],
			Error::<Test>::TooManyRequirements,
		);
		refused(
			&|s| s.requirements.regions_denied = vec![1, 2, 3, 4, 5],
			Error::<Test>::TooManyRequirements,
		);
		refused(
			&|s| s.requirements.gpu_models = vec![vec![b'x'; 49]],
			Error::<Test>::TooManyRequirements,
		);
		refused(&|s| s.max_price = Balance::MAX / 2, Error::<Test>::CostOverflow);
		refused(&|s| s.max_price = ENDOWMENT, Error::<Test>::InsufficientBalance);
		// A URL input within bounds is accepted.
		submit(
			ALICE,
			JobSpec {
				input: InputSpec::Remote {
					url: b"https://x.test/in".to_vec(),
					hash: digest(1),
					size: 9,
				},
				..spec(program)
			},
		);
	});
}

// ---------------------------------------------------------------- matching

#[test]
fn job_matches_the_cheapest_offer_in_the_same_block() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=12);
		let program = register_wasm(ALICE);
		offer(10, 9, 1);
		let cheap = offer(11, 4, 1);
		offer(12, 6, 1);
		let before = Balances::balance(&ALICE);
		let j = submit(ALICE, spec(program));
		let job = job(j);
		assert_eq!(job.replicas.len(), 1);
		assert_eq!(
			(job.replicas[0].provider, job.replicas[0].offer, job.replicas[0].price),
			(11, cheap, 4)
		);
		assert_eq!(job.escrow, 10 * 100);
		// The escrow and the job's storage deposit are held.
		assert_eq!(Balances::balance(&ALICE), before - 1000 - 5);
		assert_eq!(escrow_held(ALICE), 1000);
		assert!(market_events().contains(&Event::ReplicaAssigned {
			job: j,
			replica: 0,
			provider: 11,
			offer: cheap,
			price: 4,
			ack_by: 1 + ACK
		}));
	});
}

#[test]
fn submit_job_is_charged_for_the_walk_it_did() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		register(12, cpu_profile(840), 1);
		let program = register_wasm(ALICE);
		// Cheapest first: an offer that expires at block 3, one from a denied region, then one
		// of two slots that takes the first replica and keeps a slot free.
		assert_ok!(Market::post_offer(RuntimeOrigin::signed(10), ResourceClass::Cpu, 1, 1, 3));
		offer(12, 2, 1);
		let kept = offer(11, 3, 2);
		run_to_block(3);
		let requirements = RequirementsSpec { regions_denied: vec![840], ..Default::default() };
		let spec = JobSpec { policy: Replicated(2), requirements, ..spec(program) };
		let placement = Market::do_submit_job(ALICE, spec.clone()).unwrap();
		assert_eq!(
			placement,
			crate::matching::Placement {
				// The verifier's draw samples the whole (small) book, 12 and 11 (already in),
				// finds nobody, and looks at the cheapest window too: the same two again.
				walk: crate::matching::Walk { matched: 1, filled: 0, passed: 5, expired: 1 },
				short: true,
			}
		);
		assert!(OfferBook::<Test>::iter().any(|(_, key, ())| key[16..] == kept.to_be_bytes()));
		// The call is charged exactly that, far below what it declares before dispatch.
		let post = Market::submit_job(RuntimeOrigin::signed(ALICE), spec).unwrap();
		// 12 passed over by the primary's walk, the verifier's sample and its window.
		let second = crate::matching::Placement {
			walk: crate::matching::Walk { matched: 1, filled: 1, passed: 3, expired: 0 },
			short: true,
		};
		// Its five bytes of input are kept in the job's record: nothing stored apart.
		assert_eq!(post.actual_weight, Some(Market::submit_job_weight(Some(&second), None)));
		assert!(Market::submit_job_weight(None, None).all_gt(post.actual_weight.unwrap()));
		// An input stored apart is charged on top.
		assert!(Market::submit_job_weight(Some(&second), Some(1))
			.all_gt(Market::submit_job_weight(Some(&second), None)));
	});
}

#[test]
fn equal_prices_match_in_time_order_and_never_above_max_price() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=13);
		let program = register_wasm(ALICE);
		offer(12, 11, 1);
		let first = offer(10, 5, 1);
		offer(11, 5, 1);
		let j = submit(ALICE, JobSpec { policy: Replicated(3), ..spec(program) });
		let job = job(j);
		// Two offers at 5 fit, the one at 11 is above max_price 10: one replica rests.
		assert_eq!(job.replicas.iter().map(|r| r.provider).collect::<Vec<_>>(), vec![10, 11]);
		assert_eq!(job.replicas[0].offer, first);
		assert_eq!(job.unfilled(), 1);
		assert_eq!(crate::BidBook::<Test>::iter().count(), 1);
		// An eligible offer arriving later fills it.
		offer(13, 10, 1);
		let job = Jobs::<Test>::get(j).unwrap();
		assert_eq!(job.unfilled(), 0);
		assert_eq!(job.replicas[2].provider, 13);
		assert_eq!(crate::BidBook::<Test>::iter().count(), 0);
	});
}

#[test]
fn one_replica_per_provider() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(276), 4);
		let program = register_wasm(ALICE);
		offer(10, 5, 4);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		assert_eq!(job(j).replicas.len(), 1);
		// A second offer of the same provider does not take the second replica either.
		register(11, cpu_profile(276), 1);
		offer(11, 9, 1);
		assert_eq!(job(j).replicas.iter().map(|r| r.provider).collect::<Vec<_>>(), vec![10, 11]);
	});
}

#[test]
fn requirements_filter_offers() {
	ExtBuilder.build_and_execute(|| {
		register(10, gpu_profile("NVIDIA A10", 24_576, 86), 2);
		register(11, gpu_profile("NVIDIA H100", 81_920, 90), 2);
		register(12, cpu_profile(840), 2);
		assert_ok!(Market::register_program(
			RuntimeOrigin::signed(ALICE),
			JobKind::Cuda,
			b"ptx".to_vec()
		));
		let cuda = H256(sp_io::hashing::blake2_256(b"ptx"));
		for p in [10, 11] {
			assert_ok!(Market::post_offer(
				RuntimeOrigin::signed(p),
				ResourceClass::Gpu(0),
				3,
				1,
				EXPIRY
			));
		}
		offer(12, 1, 1);
		let requirements = RequirementsSpec {
			min_vram_mib: 40_000,
			gpu_models: vec![b"NVIDIA H100".to_vec()],
			..Default::default()
		};
		let j = submit(ALICE, JobSpec { requirements, ..spec(cuda) });
		assert_eq!(job(j).replicas[0].provider, 11);
		// Region filters for a WASM job: the US provider (840) is denied.
		let program = register_wasm(ALICE);
		let requirements = RequirementsSpec { regions_denied: vec![840], ..Default::default() };
		let j = submit(ALICE, JobSpec { requirements, ..spec(program) });
		assert!(job(j).replicas.is_empty());
		let report = Market::why_no_match(j).unwrap();
		assert_eq!(report.excluded_by, vec![(Requirement::Region, 1)]);
	});
}

// ---------------------------------------------------------------- the whole life

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
		// Not acknowledged yet.
		assert_noop!(
			Verification::commit(RuntimeOrigin::signed(10), j, 0, c),
			Error::<Test>::NotAwaitingCommit
		);
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

// ---------------------------------------------------------------- missed deadlines

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
		assert_eq!(crate::BidBook::<Test>::iter().count(), 0);
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

// ---------------------------------------------------------------- cancel and reap

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

// ---------------------------------------------------------------- cheating

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

// ---------------------------------------------------------------- reads

#[test]
fn why_no_match_counts_each_requirement() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(840), 1);
		register(11, cpu_profile(276), 1);
		register(12, cpu_profile(276), 1);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		offer(11, 50, 1);
		offer(12, 5, 1);
		let requirements = RequirementsSpec {
			regions_allowed: vec![276],
			min_cpu_cores: 64,
			..Default::default()
		};
		let j = submit(ALICE, JobSpec { requirements, ..spec(program) });
		assert_eq!(job(j).replicas.len(), 0);
		let report = Market::why_no_match(j).unwrap();
		assert_eq!((report.offers, report.eligible, report.unfilled), (3, 0, 1));
		assert!(report.time_left);
		assert_eq!(
			report.excluded_by,
			vec![
				(Requirement::MaxPrice, 1),
				(Requirement::Region, 1),
				(Requirement::MinCpuCores, 3)
			]
		);
		assert!(Market::why_no_match(99).is_none());
	});
}

#[test]
fn best_price_and_provider_views() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 7, 1);
		offer(11, 3, 2);
		assert_eq!(Market::best_price(JobKind::Wasm, Default::default()), Some(3));
		assert_eq!(Market::best_price(JobKind::Cuda, Default::default()), None);
		let far = RequirementsSpec { regions_allowed: vec![1], ..Default::default() };
		assert_eq!(Market::best_price(JobKind::Wasm, far), None);
		// Requirements no job could carry answer `None` too, and `check_requirements` says why.
		let crowded =
			RequirementsSpec { regions_allowed: vec![1, 2, 3, 4, 5], ..Default::default() };
		assert_eq!(Market::best_price(JobKind::Wasm, crowded.clone()), None);
		assert_eq!(
			Market::check_requirements(&crowded),
			Some(crate::runtime_api::RequirementsProblem::TooManyRegionsAllowed { max: 4 })
		);
		assert_eq!(Market::check_requirements(&Default::default()), None);
		let long = RequirementsSpec { gpu_models: vec![vec![b'x'; 49]], ..Default::default() };
		assert_eq!(
			Market::check_requirements(&long),
			Some(crate::runtime_api::RequirementsProblem::GpuModelTooLong { max: 48 })
		);
		let j = submit(ALICE, spec(program));
		// The worker key sees its provider's work.
		let work = Market::provider_assignments(111);
		assert_eq!(work.len(), 1);
		assert_eq!((work[0].job, work[0].provider, work[0].state), (j, 11, ReplicaState::Assigned));
		assert_eq!(Market::provider_offers(11)[0].in_use, 1);
		let status = Market::job_status(j).unwrap();
		assert_eq!((status.escrow, status.unfilled, status.inline_input_bytes), (1000, 0, Some(5)));
	});
}

#[test]
fn provider_assignments_come_from_the_providers_offers() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=12);
		let program = register_wasm(ALICE);
		let a = offer(10, 3, 3);
		offer(11, 5, 4);
		offer(12, 6, 4);
		let of = |p| {
			Market::provider_assignments(p).iter().map(|r| (r.job, r.offer)).collect::<Vec<_>>()
		};
		// What a scan of every job finds (the index replaced it), for each provider.
		let agrees_with_a_scan = || {
			for p in 10..=12 {
				let mut scanned: Vec<(JobId, u64)> = Jobs::<Test>::iter()
					.flat_map(|(id, job)| {
						job.replicas
							.into_iter()
							.filter(move |r| r.provider == p && r.state.is_live())
							.map(move |r| (id, r.offer))
					})
					.collect();
				scanned.sort_unstable();
				assert_eq!(of(p), scanned, "provider {p}");
			}
		};
		let jobs: Vec<JobId> = (0..3).map(|_| submit(ALICE, spec(program))).collect();
		let pair = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		assert_eq!(of(10), vec![(jobs[0], a), (jobs[1], a), (jobs[2], a)]);
		assert_eq!(Offers::<Test>::get(a).unwrap().jobs.to_vec(), jobs);
		assert!(of(11).contains(&(pair, 1)));
		agrees_with_a_scan();
		// A replica that ends leaves its offer's list, whichever way it ends.
		assert_ok!(Market::decline(RuntimeOrigin::signed(10), jobs[1], 0));
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), jobs[2]));
		assert_eq!(of(10), vec![(jobs[0], a)]);
		agrees_with_a_scan();
		// A cancelled offer keeps its list until its replicas end, then goes.
		assert_ok!(Market::cancel_offer(RuntimeOrigin::signed(10), a));
		assert_eq!(of(10), vec![(jobs[0], a)]);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), jobs[0]));
		assert!(of(10).is_empty() && Offers::<Test>::get(a).is_none());
		agrees_with_a_scan();
		// Strangers and unregistered accounts see nothing.
		assert!(of(99).is_empty());
	});
}

// ---------------------------------------------------------------- invariants

#[test]
fn try_state_catches_broken_escrow() {
	ExtBuilder.build().execute_with(|| {
		let program = register_wasm(ALICE);
		let j = submit(ALICE, spec(program));
		assert!(Market::do_try_state().is_ok());
		Jobs::<Test>::mutate(j, |job| job.as_mut().unwrap().escrow -= 1);
		assert!(Market::do_try_state().is_err());
	});
}

#[test]
fn try_state_catches_a_program_removable_before_its_jobs_end() {
	ExtBuilder.build().execute_with(|| {
		let program = register_wasm(ALICE);
		let j = submit(ALICE, spec(program));
		let deadline = job(j).deadline;
		let retire =
			|at| Programs::<Test>::mutate(program, |p| p.as_mut().unwrap().removable_at = Some(at));
		retire(deadline + 1);
		assert_ok!(Market::do_try_state());
		retire(deadline);
		assert_eq!(
			Market::do_try_state(),
			Err("7: a program removable before the deadline of a job that runs it".into())
		);
		Programs::<Test>::remove(program);
		assert_eq!(Market::do_try_state(), Err("7: a job runs a missing program".into()));
	});
}

#[test]
fn try_state_catches_a_replica_above_max_price() {
	ExtBuilder.build().execute_with(|| {
		providers(10..=10);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		let j = submit(ALICE, spec(program));
		Jobs::<Test>::mutate(j, |job| job.as_mut().unwrap().replicas[0].price = 11);
		assert!(Market::do_try_state().is_err());
	});
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(48))]

	/// Random books and jobs: every job's replicas are the cheapest eligible offers at the time
	/// it was posted, none above its max price, none doubled, and money is conserved through
	/// settlement.
	#[test]
	fn matching_over_random_books(
		offers in proptest::collection::vec((10u64..20, 1u128..30, 1u32..3), 1..24),
		jobs in proptest::collection::vec((1u128..30, 1u8..4, 1u64..50), 1..12),
	) {
		ExtBuilder.build().execute_with(|| -> Result<(), TestCaseError> {
			providers(10..=19);
			let program = register_wasm(ALICE);
			let accounts: Vec<AccountId> = (1..=19).chain([FEE_ACCOUNT]).collect();
			let money = || accounts.iter().map(|a| total(*a)).sum::<Balance>();
			let start = money();
			for (provider, price, slots) in offers {
				// One open offer per provider and class.
				let has_offer = !crate::ProviderOffers::<Test>::get(provider).is_empty();
				if !has_offer && <Staking as ProviderRegistry<_, _>>::can_serve(&provider, slots) {
					offer(provider, price, slots);
				}
			}
			for (n, (max_price, replication, units)) in jobs.into_iter().enumerate() {
				// Snapshot the book's eligible prices before matching.
				let mut book: Vec<(Balance, AccountId)> = Offers::<Test>::iter()
					.filter(|(_, o)| o.open && o.free() > 0)
					.map(|(_, o)| (o.price, o.provider))
					.collect();
				book.sort();
				let requester = 1 + (n as u64 % 5);
				let policy = policy_of(replication);
				let j = submit(requester, JobSpec { max_price, policy, ..spec(program) });
				let job = Jobs::<Test>::get(j).unwrap();
				// Expected: the primary is the cheapest offer (oldest first) at or under
				// max_price; the verifiers are drawn from the other providers' offers at or under
				// it, as many as there are up to the replication.
				let eligible: Vec<(Balance, AccountId)> =
					book.into_iter().filter(|(price, _)| *price <= max_price).collect();
				let mut providers_seen: Vec<AccountId> = eligible.iter().map(|e| e.1).collect();
				providers_seen.dedup();
				let want = providers_seen.len().min(replication as usize);
				prop_assert_eq!(job.replicas.len(), want);
				if let Some(first) = job.replicas.first() {
					prop_assert_eq!(first.price, eligible[0].0);
					prop_assert_eq!(first.role, crate::Role::Primary);
				}
				prop_assert!(job.replicas.iter().skip(1).all(|r| r.role == crate::Role::Verifier));
				let mut distinct: Vec<AccountId> = job.replicas.iter().map(|r| r.provider).collect();
				distinct.sort();
				distinct.dedup();
				prop_assert_eq!(distinct.len(), job.replicas.len());
				prop_assert!(job.replicas.iter().all(|r| r.price <= max_price));
				// Run every fully matched job to settlement.
				if job.unfilled() == 0 {
					for r in job.replicas.iter() {
						ack(r.provider, j, r.index);
						commit(r.provider, j, r.index, digest(1), units);
					}
					for r in job.replicas.iter() {
						reveal(r.provider, j, r.index, digest(1));
					}
					let settled = Jobs::<Test>::get(j).unwrap();
					prop_assert_eq!(settled.phase, JobPhase::Settled { digest: digest(1) });
				}
				Market::do_try_state().unwrap();
				prop_assert_eq!(money(), start);
			}
			Ok(())
		})?;
	}
}

// ---------------------------------------------------------------- slashing

/// The pending slashes of `provider`.
fn pending_slashes(provider: AccountId) -> Vec<pallet_slashing::PendingSlash<Test>> {
	pallet_slashing::PendingSlashes::<Test>::iter()
		.map(|(_, s)| s)
		.filter(|s| s.provider == provider)
		.collect()
}

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

// ---------------------------------------------------------------- reputation

fn score(provider: AccountId) -> sp_runtime::Perbill {
	<Reputation as stratus_primitives::ReputationProvider<AccountId>>::score(
		&provider,
		JobKind::Wasm,
	)
}

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
		// Cancelled jobs leave the bid book; their deposits stay until they are reaped.
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

// ---------------------------------------------------------------- verification policies

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
		// Committed: nothing is decided in the block of the commitment.
		let now = System::block_number();
		assert_eq!(job(j).spot_check, Some(crate::SpotCheck::Due { at: now + 1 }));
		assert_eq!(job(j).phase, JobPhase::Open);
		market_events();
		run_to_block(now + 1);
		let rate =
			<Reputation as stratus_primitives::ReputationProvider<AccountId>>::spot_check_rate(
				&10,
				JobKind::Wasm,
			)
			.unwrap();
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

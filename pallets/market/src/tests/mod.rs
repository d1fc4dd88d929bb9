//! The market pallet's tests, one file per part of the market. Every test runs through
//! `ExtBuilder::build_and_execute` (`mock.rs`), which checks the invariants of the market, staking
//! and slashing pallets after its body.

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

mod bad_input;
mod cancel_and_reap;
mod cheating;
mod deadlines;
mod invariants;
mod lifecycle;
mod matching;
mod offers;
mod policies;
/// A provider's reputation for WASM jobs.
fn score(provider: AccountId) -> sp_runtime::Perbill {
	<Reputation as stratus_primitives::ReputationProvider<AccountId>>::score(
		&provider,
		JobKind::Wasm,
	)
}

/// The pending slashes of `provider`.
fn pending_slashes(provider: AccountId) -> Vec<pallet_slashing::PendingSlash<Test>> {
	pallet_slashing::PendingSlashes::<Test>::iter()
		.map(|(_, s)| s)
		.filter(|s| s.provider == provider)
		.collect()
}

mod programs;
mod reads;
mod reputation;
mod slashing;

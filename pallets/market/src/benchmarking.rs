//! Benchmarks of every call and every deadline branch, each at its worst: matching walks that
//! look at `s` book entries, settlements that pay `r` replicas.

// Benchmark set-up may panic: a failed set-up is a broken benchmark, reported as such.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing
)]

use super::*;
use crate::{InputSpec, JobPhase, JobSpec, Jobs, Offers, Pallet, RequirementsSpec};
use alloc::{vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get, Hooks};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_core::H256;
use sp_runtime::traits::{Bounded, UniqueSaturatedInto};
use stratus_primitives::{
	CapabilityProfile, JobId, JobKind, OfferId, ReplicaIndex, ReplicaResults, ResourceClass,
	VerificationPolicy,
};

const SEED: u32 = 0;
/// The region ineligible providers are in; jobs deny it.
const DENIED_REGION: u16 = 1;

fn provider<T: Config>(i: u32, region: u16, slots: u32) -> T::AccountId {
	let who: T::AccountId = account("provider", i, SEED);
	<T::BenchmarkHelper as crate::BenchmarkHelper<_>>::register_provider(
		&who,
		CapabilityProfile::cpu_only(16, 32_768, region),
		slots,
	);
	who
}

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, SEED);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

fn program<T: Config>(owner: &T::AccountId) -> H256 {
	Pallet::<T>::do_register_program(owner.clone(), JobKind::Wasm, b"\0asm\x01\0\0\0".to_vec())
		.unwrap()
}

fn now<T: Config>() -> BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number()
}

fn spec<T: Config>(
	program: H256,
	replication: u8,
	max_price: u32,
) -> JobSpec<BalanceOf<T>, BlockNumberFor<T>> {
	let commit_window: BlockNumberFor<T> = 10u32.into();
	JobSpec {
		program,
		input: InputSpec::Inline(vec![7; 32]),
		requirements: RequirementsSpec {
			regions_denied: vec![DENIED_REGION],
			..Default::default()
		},
		max_price: max_price.into(),
		// Enough units for the job to be worth `MinJobValue` at its price.
		max_units: {
			let least: u64 = (T::MinJobValue::get() / BalanceOf::<T>::from(max_price.max(1)))
				.unique_saturated_into();
			least.saturating_add(1).max(1_000)
		},
		policy: if replication <= 1 {
			VerificationPolicy::Unverified
		} else {
			VerificationPolicy::Replicated(replication)
		},
		commit_window,
		deadline: now::<T>()
			+ T::AckWindow::get()
			+ commit_window
			+ T::RevealWindow::get()
			+ 20u32.into(),
		max_output_bytes: 1 << 20,
	}
}

fn offer<T: Config>(who: &T::AccountId, price: u32, slots: u32) -> OfferId {
	offer_until::<T>(who, price, slots, now::<T>() + 1_000u32.into())
}

fn offer_until<T: Config>(
	who: &T::AccountId,
	price: u32,
	slots: u32,
	expires_at: BlockNumberFor<T>,
) -> OfferId {
	let id = NextOfferId::<T>::get();
	Pallet::<T>::do_post_offer(who.clone(), ResourceClass::Cpu, price.into(), slots, expires_at)
		.unwrap();
	id
}

/// `ineligible` offers at price 1 from providers in the denied region, then `eligible` at price 2,
/// each of one slot.
fn book<T: Config>(ineligible: u32, eligible: u32) -> Vec<T::AccountId> {
	book_of::<T>(ineligible, eligible, 1)
}

/// As [`book`], the eligible offers of `slots` slots each.
fn book_of<T: Config>(ineligible: u32, eligible: u32, slots: u32) -> Vec<T::AccountId> {
	for i in 0..ineligible {
		offer::<T>(&provider::<T>(10_000 + i, DENIED_REGION, 1), 1, 1);
	}
	(0..eligible)
		.map(|i| {
			let who = provider::<T>(i, 276, slots);
			offer::<T>(&who, 2, slots);
			who
		})
		.collect()
}

/// `n` offers at price 1 that expire at the next block, from providers a job would otherwise
/// take: the costliest entries a walk can pass over (each is closed and dropped on the spot).
fn expiring<T: Config>(n: u32) {
	for i in 0..n {
		offer_until::<T>(&provider::<T>(20_000 + i, 276, 1), 1, 1, now::<T>() + 1u32.into());
	}
}

/// A book and a job for `submit_job`: `e` offers that have just expired, `s` offers the job
/// excludes, then `r` offers it takes (two slots each, so each keeps one and stays in the book:
/// an offer that fills is charged `fill_offer` on top); the job has `r` replicas and `i` bytes of
/// inline input, from the whitelisted caller.
fn placement<T: Config>(
	r: u32,
	s: u32,
	e: u32,
	i: u32,
) -> (T::AccountId, JobSpec<BalanceOf<T>, BlockNumberFor<T>>) {
	expiring::<T>(e);
	frame_system::Pallet::<T>::set_block_number(now::<T>() + 1u32.into());
	book_of::<T>(s, r, 2);
	let requester: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&requester, BalanceOf::<T>::max_value() / 4u32.into());
	let hash = program::<T>(&requester);
	let spec =
		JobSpec { input: InputSpec::Inline(vec![7; i as usize]), ..spec::<T>(hash, r as u8, 10) };
	(requester, spec)
}

fn submit<T: Config>(
	requester: &T::AccountId,
	spec: JobSpec<BalanceOf<T>, BlockNumberFor<T>>,
) -> JobId {
	let id = NextJobId::<T>::get();
	Pallet::<T>::do_submit_job(requester.clone(), spec).unwrap();
	// A replicated job's spot-check is weighed apart (`Pallet::spot_check_weight`): the set-ups
	// run without it, so that the last commitment opens the reveals at once.
	Jobs::<T>::mutate(id, |job| {
		if let Some(job) = job {
			job.spot_check = None;
		}
	});
	id
}

/// A job of `replication` replicas, matched and acknowledged; the first `committed` replicas
/// committed with digest `7`.
fn running_job<T: Config>(replication: u8, committed: u8) -> (JobId, Vec<T::AccountId>) {
	let providers = book::<T>(0, u32::from(replication));
	let requester = funded::<T>("requester", 0);
	let program = program::<T>(&requester);
	let job = submit::<T>(&requester, spec::<T>(program, replication, 10));
	// The providers in replica order (verifiers are drawn, in any order).
	let replicas = Jobs::<T>::get(job).unwrap().replicas;
	assert_eq!(replicas.len(), providers.len());
	let providers: Vec<T::AccountId> = replicas.iter().map(|r| r.provider.clone()).collect();
	for (i, p) in providers.iter().enumerate() {
		Pallet::<T>::do_acknowledge(p.clone(), job, i as ReplicaIndex).unwrap();
	}
	for (i, p) in providers.iter().enumerate().take(usize::from(committed)) {
		Pallet::<T>::on_commit(job, i as ReplicaIndex, p).unwrap();
	}
	(job, providers)
}

/// For the verification pallet's benchmarks: a job where replica 0 may commit (the last commit,
/// opening the reveal window) or reveal (the last reveal, settling the job; the other replicas
/// revealed `H256::repeat_byte(7)`).
pub(crate) fn prepare_results<T: Config>(
	replication: u8,
	revealing: bool,
) -> (JobId, ReplicaIndex, T::AccountId, T::AccountId) {
	let replication = replication.clamp(1, T::MaxReplication::get());
	if !revealing {
		let (job, providers) = running_job::<T>(replication, 0);
		for (i, p) in providers.iter().enumerate().skip(1) {
			Pallet::<T>::on_commit(job, i as ReplicaIndex, p).unwrap();
		}
		return (job, 0, providers[0].clone(), providers[0].clone());
	}
	let (job, providers) = running_job::<T>(replication, replication);
	for (i, p) in providers.iter().enumerate().skip(1) {
		Pallet::<T>::on_reveal(job, i as ReplicaIndex, p, H256::repeat_byte(7), 1_000).unwrap();
	}
	(job, 0, providers[0].clone(), providers[0].clone())
}

#[benchmarks]
mod benches {
	use super::*;

	#[benchmark]
	fn register_program(l: Linear<8, { T::MaxProgramSize::get() }>) {
		let owner = funded::<T>("owner", 0);
		let mut code = b"\0asm\x01\0\0\0".to_vec();
		code.resize(l as usize, 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), JobKind::Wasm, code);

		assert_eq!(Programs::<T>::iter().count(), 1);
	}

	/// The second call, the worse one: the retired program deleted and its deposit returned.
	#[benchmark]
	fn remove_program() {
		let owner = funded::<T>("owner", 0);
		let hash = program::<T>(&owner);
		Programs::<T>::mutate(hash, |p| {
			if let Some(p) = p {
				p.removable_at = Some(now::<T>());
			}
		});

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), hash);

		assert!(Programs::<T>::get(hash).is_none());
	}

	#[benchmark]
	fn post_offer(s: Linear<0, { T::MaxMatchScan::get() }>) {
		let requester = funded::<T>("requester", 0);
		let hash = program::<T>(&requester);
		for _ in 0..s {
			submit::<T>(&requester, spec::<T>(hash, 1, 10));
		}
		let slots = s.clamp(1, T::MaxSlotsPerOffer::get());
		let who = provider::<T>(0, 276, slots);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			ResourceClass::Cpu,
			2u32.into(),
			slots,
			now::<T>() + 1_000u32.into(),
		);

		let matched = s.min(slots) as usize;
		assert_eq!(Offers::<T>::get(0).unwrap().in_use() as usize, matched);
	}

	#[benchmark]
	fn update_offer(s: Linear<0, { T::MaxMatchScan::get() }>) {
		let requester = funded::<T>("requester", 0);
		let hash = program::<T>(&requester);
		let slots = s.clamp(1, T::MaxSlotsPerOffer::get());
		let who = provider::<T>(0, 276, slots);
		let id = offer::<T>(&who, 100, slots);
		for _ in 0..s {
			submit::<T>(&requester, spec::<T>(hash, 1, 10));
		}

		#[extrinsic_call]
		_(RawOrigin::Signed(who), id, 2u32.into(), slots, now::<T>() + 1_000u32.into());

		assert_eq!(Offers::<T>::get(id).unwrap().in_use(), s.min(slots));
	}

	#[benchmark]
	fn cancel_offer() {
		let who = provider::<T>(0, 276, 1);
		let id = offer::<T>(&who, 2, 1);

		#[extrinsic_call]
		_(RawOrigin::Signed(who), id);

		assert!(Offers::<T>::get(id).is_none());
	}

	/// A job of `r` replicas placed on the `r` cheapest offers, each keeping a free slot (and so
	/// its place in the book), with the largest input its record keeps. The requester pays the transaction's fee, so its
	/// account is already written (whitelisted, as FRAME does for the caller); the job counter
	/// and the block's acknowledgement-deadline queue are paid once per block by `on_initialize`.
	#[benchmark]
	fn submit_job(r: Linear<1, { u32::from(T::MaxReplication::get()) }>) {
		let (requester, spec) = placement::<T>(r, 0, 0, SMALL_INPUT_BYTES);

		#[extrinsic_call]
		_(RawOrigin::Signed(requester), spec);

		let job = Jobs::<T>::get(0).unwrap();
		assert_eq!(job.replicas.len() as u32, r);
		assert!(job.small_input.is_some());
		assert_eq!(BookSize::<T>::get(JobKind::Wasm), r);
	}

	/// What an input too large for the job's record adds to `submit_job`: `k` KiB stored in
	/// `JobInputs` (a URL stores its length; `k` is at least 1 for both).
	#[benchmark]
	fn store_input(k: Linear<1, { T::MaxInlineInput::get().div_ceil(1024).max(1) }>) {
		let bytes = vec![7u8; (k * 1024).min(T::MaxInlineInput::get()) as usize];

		#[block]
		{
			let input = JobInput::<T>::Inline(bytes.try_into().unwrap());
			JobInputs::<T>::insert(0, input);
		}

		assert!(JobInputs::<T>::contains_key(0));
	}

	/// What a replica that takes its offer's last slot adds to `submit_job`: the offer leaves the
	/// book, and the last entry of the dense index takes its place (the swap-remove's worst).
	#[benchmark]
	fn fill_offer() {
		book::<T>(0, 2);
		let offer = Offers::<T>::get(0).unwrap();

		#[block]
		{
			Pallet::<T>::book_remove(offer.class.kind(), offer.price, 0);
		}

		assert_eq!(BookSize::<T>::get(JobKind::Wasm), 1);
		assert_eq!(BookSlots::<T>::get(JobKind::Wasm, 0), Some(1));
	}

	/// What walking the offer book costs a job: one replica placed after passing `s` offers
	/// that exclude it and `e` expired offers (closed on the way). Charged as the difference
	/// from `match_walk(0, 0)`, on top of `submit_job`: measured apart so that the common case,
	/// a job that takes the first offers it meets, is not extrapolated from walks a hundred times
	/// its cost.
	#[benchmark]
	fn match_walk(
		s: Linear<0, { (T::MaxMatchScan::get() - 1) / 2 }>,
		e: Linear<0, { (T::MaxMatchScan::get() - 1) / 2 }>,
	) {
		let (requester, spec) = placement::<T>(1, s, e, 32);

		#[extrinsic_call]
		submit_job(RawOrigin::Signed(requester), spec);

		assert_eq!(Jobs::<T>::get(0).unwrap().replicas.len(), 1);
		assert_eq!(Offers::<T>::iter().count() as u32, s + 1);
	}

	/// What a job left short of replicas adds: its entry in the job book.
	#[benchmark]
	fn rest_job() {
		let requester = funded::<T>("requester", 0);
		let hash = program::<T>(&requester);
		let id = submit::<T>(&requester, spec::<T>(hash, T::MaxReplication::get(), 10));
		let job = Jobs::<T>::get(id).unwrap();
		Pallet::<T>::leave_job_book(id, &job);

		#[block]
		{
			Pallet::<T>::sync_job_book(id, &job);
		}

		assert_eq!(JobBook::<T>::iter().count(), 1);
	}

	#[benchmark]
	fn cancel_job(r: Linear<1, { u32::from(T::MaxReplication::get()) }>) {
		// Every replica acknowledged, none committed: a job with a committed result cannot be
		// cancelled.
		let (job, _) = running_job::<T>(r as u8, 0);
		let requester: T::AccountId = account("requester", 0, SEED);

		#[extrinsic_call]
		_(RawOrigin::Signed(requester), job);

		assert_eq!(Jobs::<T>::get(job).unwrap().phase, JobPhase::Cancelled);
	}

	#[benchmark]
	fn acknowledge() {
		let providers = book::<T>(0, 1);
		let requester = funded::<T>("requester", 0);
		let hash = program::<T>(&requester);
		let job = submit::<T>(&requester, spec::<T>(hash, 1, 10));

		#[extrinsic_call]
		_(RawOrigin::Signed(providers[0].clone()), job, 0);

		assert!(Jobs::<T>::get(job).unwrap().replicas[0].commit_by.is_some());
	}

	/// A verifier declines and is drawn again: the book holds `MaxMatchScan − 3` offers the job
	/// excludes, three it may take (price 2) and twice `MaxMatchScan` more it excludes (price 3),
	/// so the draw's uniform sample mostly misses the one offer left and the cheapest window is
	/// walked whole.
	#[benchmark]
	fn decline() {
		let scan = T::MaxMatchScan::get();
		for i in 0..scan.saturating_sub(3) {
			offer::<T>(&provider::<T>(10_000 + i, DENIED_REGION, 1), 1, 1);
		}
		book::<T>(0, 3);
		for i in 0..scan * 2 {
			offer::<T>(&provider::<T>(40_000 + i, DENIED_REGION, 1), 3, 1);
		}
		let requester = funded::<T>("requester", 0);
		let hash = program::<T>(&requester);
		let job = submit::<T>(&requester, spec::<T>(hash, 2, 10));
		let verifier = Jobs::<T>::get(job).unwrap().replicas[1].provider.clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(verifier), job, 1);

		let replicas = Jobs::<T>::get(job).unwrap().replicas;
		assert_eq!(replicas.len(), 3, "the declined verifier is drawn again");
	}

	#[benchmark]
	fn reap_offer() {
		let who = provider::<T>(0, 276, 1);
		let id = offer::<T>(&who, 2, 1);
		frame_system::Pallet::<T>::set_block_number(now::<T>() + 1_000u32.into());
		let caller: T::AccountId = whitelisted_caller();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);

		assert!(Offers::<T>::get(id).is_none());
	}

	/// The worse reap: a job whose input is stored apart, removed with it.
	#[benchmark]
	fn reap_job() {
		let requester = funded::<T>("requester", 0);
		let hash = program::<T>(&requester);
		let input = InputSpec::Inline(vec![7; T::MaxInlineInput::get() as usize]);
		let job = submit::<T>(&requester, JobSpec { input, ..spec::<T>(hash, 1, 10) });
		assert!(JobInputs::<T>::contains_key(job));
		Pallet::<T>::do_cancel_job(requester, job).unwrap();
		frame_system::Pallet::<T>::set_block_number(now::<T>() + T::RecordRetention::get());
		let caller: T::AccountId = whitelisted_caller();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), job);

		assert!(Jobs::<T>::get(job).is_none() && !JobInputs::<T>::contains_key(job));
	}

	#[benchmark]
	fn deadlines_block() {
		let block = now::<T>() + 1u32.into();
		DeadlineCursor::<T>::put(block);

		#[block]
		{
			Pallet::<T>::on_initialize(block);
		}

		assert_eq!(DeadlineCursor::<T>::get(), Some(block + 1u32.into()));
	}

	/// A missed acknowledgement whose reissue walks `s` offers.
	#[benchmark]
	fn deadline_ack(s: Linear<1, { T::MaxMatchScan::get() }>) {
		let first = book::<T>(0, 1);
		let requester = funded::<T>("requester", 0);
		let hash = program::<T>(&requester);
		let job = submit::<T>(&requester, spec::<T>(hash, 1, 10));
		// The reissue walks cheaper offers that have expired by then (closing each) and takes
		// the last one. The freed slot of the missed replica's offer is walked too (and skipped).
		expiring::<T>(s.saturating_sub(2));
		offer::<T>(&provider::<T>(30_000, 276, 1), 2, 1);
		let at = Jobs::<T>::get(job).unwrap().replicas[0].ack_by + 1u32.into();
		frame_system::Pallet::<T>::set_block_number(at);
		assert_eq!(first.len(), 1);

		#[block]
		{
			Pallet::<T>::wake(job, at);
		}

		assert_eq!(Jobs::<T>::get(job).unwrap().replicas.len(), 2);
	}

	/// A missed commit whose reissue walks `s` offers.
	#[benchmark]
	fn deadline_commit(s: Linear<1, { T::MaxMatchScan::get() }>) {
		let (job, _) = running_job::<T>(1, 0);
		// The reissue walks cheaper offers that have expired by then (closing each); the freed
		// slot of the missed replica's offer is walked too (and skipped).
		expiring::<T>(s.saturating_sub(2));
		offer::<T>(&provider::<T>(30_000, 276, 1), 2, 1);
		let at = Jobs::<T>::get(job).unwrap().replicas[0].commit_by.unwrap() + 1u32.into();
		frame_system::Pallet::<T>::set_block_number(at);

		#[block]
		{
			Pallet::<T>::wake(job, at);
		}

		assert_eq!(Jobs::<T>::get(job).unwrap().replicas.len(), 2);
	}

	/// The commit window closes on `r` acknowledged replicas that never committed: all missed,
	/// the job expires and refunds.
	#[benchmark]
	fn deadline_commit_close(r: Linear<1, { u32::from(T::MaxReplication::get()) }>) {
		let (job, _) = running_job::<T>(r as u8, 0);
		let at = Jobs::<T>::get(job).unwrap().commit_close();
		frame_system::Pallet::<T>::set_block_number(at);

		#[block]
		{
			Pallet::<T>::wake(job, at);
		}

		assert_eq!(Jobs::<T>::get(job).unwrap().phase, JobPhase::Expired);
	}

	/// The reveal window closes with `r − 1` agreeing reveals and one missing: the quorum is
	/// paid.
	#[benchmark]
	fn deadline_reveal(r: Linear<1, { u32::from(T::MaxReplication::get()) }>) {
		let (job, providers) = running_job::<T>(r as u8, r as u8);
		for (i, p) in providers.iter().enumerate().skip(1) {
			Pallet::<T>::on_reveal(job, i as ReplicaIndex, p, H256::repeat_byte(7), 1_000).unwrap();
		}
		let JobPhase::Revealing { until } = Jobs::<T>::get(job).unwrap().phase else {
			panic!("the reveal window is open")
		};
		let at = until + 1u32.into();
		frame_system::Pallet::<T>::set_block_number(at);

		#[block]
		{
			Pallet::<T>::wake(job, at);
		}

		// One replica: its reveal is missing, so the job is reissued (or ends) instead.
		assert!(!matches!(Jobs::<T>::get(job).unwrap().phase, JobPhase::Revealing { .. }));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::ExtBuilder.build(), crate::mock::Test);
}

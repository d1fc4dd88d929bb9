//! Unit tests. Every test runs inside [`ExtBuilder::build_and_execute`], which checks the
//! pallet's invariants (`do_try_state`) after the test body.

#![allow(clippy::arithmetic_side_effects)]

use crate::{
	mock::*, Error, Event, ProviderInfo, ProviderStatus, Providers, UnbondingChunk, WorkerKeys,
};
use frame_support::{
	assert_noop, assert_ok,
	storage::{with_transaction, TransactionOutcome},
	BoundedVec,
};
use sp_runtime::DispatchError;
use stratus_primitives::{JobKind, ProviderRegistry};

type Registry = crate::Pallet<Test>;

const OPERATOR: AccountId = 1;
const WORKER: AccountId = 11;
const OTHER: AccountId = 2;
const OTHER_WORKER: AccountId = 12;

fn origin(who: AccountId) -> RuntimeOrigin {
	RuntimeOrigin::signed(who)
}

/// Register `OPERATOR` with worker key `WORKER`, the GPU profile and `stake`.
fn register(stake: Balance) {
	assert_ok!(ProviderStaking::register(
		origin(OPERATOR),
		WORKER,
		gpu_profile(),
		stake,
		proof(OPERATOR, WORKER)
	));
}

fn info(who: AccountId) -> ProviderInfo<Test> {
	Providers::<Test>::get(who).expect("provider is registered")
}

fn chunk(amount: Balance, unlock_at: u64) -> UnbondingChunk<Balance, u64> {
	UnbondingChunk { amount, unlock_at }
}

// ---------------------------------------------------------------------------------------------
// register
// ---------------------------------------------------------------------------------------------

#[test]
fn register_holds_stake_and_records_provider() {
	ExtBuilder::default().build_and_execute(|| {
		System::set_block_number(3);
		register(500);

		assert_eq!(held(OPERATOR), 500);
		assert_eq!(free(OPERATOR), ENDOWMENT - 500);
		assert_eq!(
			info(OPERATOR),
			ProviderInfo::<Test> {
				worker: WORKER,
				profile: gpu_profile(),
				stake: 500,
				unbonding: Default::default(),
				reserved_slots: 0,
				status: ProviderStatus::Active,
				registered_at: 3,
				frozen: 0,
				slashed: 0,
			}
		);
		assert_eq!(WorkerKeys::<Test>::get(WORKER), Some(OPERATOR));
		System::assert_last_event(
			Event::ProviderRegistered { provider: OPERATOR, worker: WORKER, stake: 500 }.into(),
		);
	});
}

#[test]
fn register_accepts_operator_as_its_own_worker_key() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(ProviderStaking::register(
			origin(OPERATOR),
			OPERATOR,
			cpu_profile(),
			100,
			proof(OPERATOR, OPERATOR)
		));
		assert_eq!(WorkerKeys::<Test>::get(OPERATOR), Some(OPERATOR));
		assert_eq!(Registry::provider_of(&OPERATOR), Some(OPERATOR));
	});
}

#[test]
fn register_rejects_a_registered_operator() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_noop!(
			ProviderStaking::register(
				origin(OPERATOR),
				13,
				cpu_profile(),
				100,
				proof(OPERATOR, 13)
			),
			Error::<Test>::AlreadyRegistered
		);
	});
}

#[test]
fn register_rejects_a_worker_key_in_use() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		// Another provider's worker key.
		assert_noop!(
			ProviderStaking::register(
				origin(OTHER),
				WORKER,
				cpu_profile(),
				100,
				proof(OTHER, WORKER)
			),
			Error::<Test>::WorkerKeyInUse
		);
		// Another provider's operator account.
		assert_noop!(
			ProviderStaking::register(
				origin(OTHER),
				OPERATOR,
				cpu_profile(),
				100,
				proof(OTHER, OPERATOR)
			),
			Error::<Test>::WorkerKeyInUse
		);
		// The signer is another provider's worker key.
		assert_noop!(
			ProviderStaking::register(
				origin(WORKER),
				OTHER_WORKER,
				cpu_profile(),
				100,
				proof(WORKER, OTHER_WORKER)
			),
			Error::<Test>::WorkerKeyInUse
		);
	});
}

#[test]
fn register_rejects_invalid_profiles() {
	ExtBuilder::default().build_and_execute(|| {
		let mut no_kinds = cpu_profile();
		no_kinds.kinds = Default::default();

		let mut cuda_without_gpu = gpu_profile();
		cuda_without_gpu.gpus = Default::default();

		let mut zero_count = gpu_profile();
		zero_count.gpus[0].count = 0;

		let mut zero_vram = gpu_profile();
		zero_vram.gpus[0].vram_mib = 0;

		let mut empty_model = gpu_profile();
		empty_model.gpus[0].model = Default::default();

		let mut ftp_endpoint = cpu_profile();
		ftp_endpoint.endpoint = Some(BoundedVec::truncate_from(b"ftp://worker.example".to_vec()));

		let mut bare_endpoint = cpu_profile();
		bare_endpoint.endpoint = Some(BoundedVec::truncate_from(b"worker.example".to_vec()));

		for profile in [
			no_kinds,
			cuda_without_gpu,
			zero_count,
			zero_vram,
			empty_model,
			ftp_endpoint,
			bare_endpoint,
		] {
			assert_noop!(
				ProviderStaking::register(
					origin(OPERATOR),
					WORKER,
					profile,
					100,
					proof(OPERATOR, WORKER)
				),
				Error::<Test>::InvalidProfile
			);
		}
	});
}

#[test]
fn register_accepts_edge_profiles() {
	ExtBuilder::default().build_and_execute(|| {
		// Plain HTTP endpoint.
		let mut http = cpu_profile();
		http.endpoint = Some(BoundedVec::truncate_from(b"http://10.0.0.7:8080".to_vec()));
		assert_ok!(ProviderStaking::register(origin(1), 1, http, 100, proof(1, 1)));

		// GPUs listed without offering CUDA.
		let mut wasm_with_gpu = gpu_profile();
		wasm_with_gpu.kinds = BoundedVec::truncate_from(vec![JobKind::Wasm]);
		assert_ok!(ProviderStaking::register(origin(2), 2, wasm_with_gpu, 100, proof(2, 2)));

		// CUDA only.
		let mut cuda_only = gpu_profile();
		cuda_only.kinds = BoundedVec::truncate_from(vec![JobKind::Cuda]);
		assert_ok!(ProviderStaking::register(origin(3), 3, cuda_only, 100, proof(3, 3)));
	});
}

#[test]
fn register_needs_one_slot_of_stake() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			ProviderStaking::register(
				origin(OPERATOR),
				WORKER,
				gpu_profile(),
				99,
				proof(OPERATOR, WORKER)
			),
			Error::<Test>::StakeTooLow
		);
		register(100);
		assert_eq!(held(OPERATOR), 100);
	});
}

#[test]
fn register_needs_the_balance() {
	ExtBuilder::default().balance(41, 100).build_and_execute(|| {
		// The existential deposit (1) stays free.
		assert_noop!(
			ProviderStaking::register(
				origin(OPERATOR),
				WORKER,
				gpu_profile(),
				ENDOWMENT,
				proof(OPERATOR, WORKER)
			),
			Error::<Test>::InsufficientBalance
		);
		// An account with nothing.
		assert_noop!(
			ProviderStaking::register(origin(42), 43, gpu_profile(), 100, proof(42, 43)),
			Error::<Test>::InsufficientBalance
		);
		// An account with exactly the stake, and nothing left for the existential deposit.
		assert_noop!(
			ProviderStaking::register(origin(41), 41, gpu_profile(), 100, proof(41, 41)),
			Error::<Test>::InsufficientBalance
		);
		register(ENDOWMENT - 1);
		assert_eq!(held(OPERATOR), ENDOWMENT - 1);
		assert_eq!(free(OPERATOR), 1);
	});
}

// ---------------------------------------------------------------------------------------------
// bond_extra
// ---------------------------------------------------------------------------------------------

#[test]
fn bond_extra_adds_held_stake() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(ProviderStaking::bond_extra(origin(OPERATOR), 250));

		assert_eq!(info(OPERATOR).stake, 750);
		assert_eq!(held(OPERATOR), 750);
		assert_eq!(free(OPERATOR), ENDOWMENT - 750);
		System::assert_last_event(Event::StakeBonded { provider: OPERATOR, amount: 250 }.into());
	});
}

#[test]
fn bond_extra_rejections() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			ProviderStaking::bond_extra(origin(OPERATOR), 100),
			Error::<Test>::NotProvider
		);
		register(500);
		// A worker key is not the operator.
		assert_noop!(ProviderStaking::bond_extra(origin(WORKER), 100), Error::<Test>::NotProvider);
		assert_noop!(ProviderStaking::bond_extra(origin(OPERATOR), 0), Error::<Test>::ZeroAmount);
		assert_noop!(
			ProviderStaking::bond_extra(origin(OPERATOR), ENDOWMENT - 500),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(ProviderStaking::bond_extra(origin(OPERATOR), ENDOWMENT - 501));
	});
}

// ---------------------------------------------------------------------------------------------
// unbond and withdraw_unbonded
// ---------------------------------------------------------------------------------------------

#[test]
fn unbond_moves_stake_into_a_held_chunk() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 200));

		let provider = info(OPERATOR);
		assert_eq!(provider.stake, 300);
		assert_eq!(provider.unbonding.into_inner(), vec![chunk(200, 11)]);
		// Still held until it is withdrawn.
		assert_eq!(held(OPERATOR), 500);
		assert_eq!(Registry::stake(&OPERATOR), 300);
		System::assert_last_event(
			Event::StakeUnbonding { provider: OPERATOR, amount: 200, unlock_at: 11 }.into(),
		);
	});
}

#[test]
fn unbond_in_one_block_shares_a_chunk() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 100));
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 150));
		assert_eq!(info(OPERATOR).unbonding.into_inner(), vec![chunk(250, 11)]);
	});
}

#[test]
fn unbond_rejections() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(ProviderStaking::unbond(origin(OPERATOR), 100), Error::<Test>::NotProvider);
		register(500);
		assert_noop!(ProviderStaking::unbond(origin(OPERATOR), 0), Error::<Test>::ZeroAmount);
		assert_noop!(
			ProviderStaking::unbond(origin(OPERATOR), 501),
			Error::<Test>::InsufficientStake
		);
		// An active provider keeps one slot's worth.
		assert_noop!(ProviderStaking::unbond(origin(OPERATOR), 401), Error::<Test>::StakeInUse);
		assert_noop!(ProviderStaking::unbond(origin(OPERATOR), 500), Error::<Test>::StakeInUse);
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 400));
		assert_eq!(info(OPERATOR).stake, 100);
	});
}

#[test]
fn unbond_keeps_reserved_slots_covered() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(Registry::reserve_slots(&OPERATOR, 3));
		// 300 must stay bonded.
		assert_noop!(ProviderStaking::unbond(origin(OPERATOR), 201), Error::<Test>::StakeInUse);
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 200));
		assert_eq!(info(OPERATOR).stake, 300);
		assert!(Registry::can_serve(&OPERATOR, 0));
		assert!(!Registry::can_serve(&OPERATOR, 1));
	});
}

#[test]
fn unbond_is_limited_to_max_chunks() {
	ExtBuilder::default().build_and_execute(|| {
		register(1_000);
		for block in 1..=4 {
			System::set_block_number(block);
			assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 100));
		}
		System::set_block_number(5);
		assert_noop!(
			ProviderStaking::unbond(origin(OPERATOR), 100),
			Error::<Test>::TooManyUnbondingChunks
		);
		// Adding to the chunk of the current block still works.
		System::set_block_number(4);
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 100));
		assert_eq!(info(OPERATOR).unbonding.last(), Some(&chunk(200, 14)));

		// Withdrawing the matured chunks frees room.
		System::set_block_number(12);
		assert_ok!(ProviderStaking::withdraw_unbonded(origin(OPERATOR)));
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 100));
	});
}

#[test]
fn unbonding_timeline() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 200));
		System::set_block_number(5);
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 100));
		assert_eq!(info(OPERATOR).unbonding.into_inner(), vec![chunk(200, 11), chunk(100, 15)]);

		// Too early.
		assert_noop!(
			ProviderStaking::withdraw_unbonded(origin(OPERATOR)),
			Error::<Test>::NothingToWithdraw
		);
		System::set_block_number(10);
		assert_noop!(
			ProviderStaking::withdraw_unbonded(origin(OPERATOR)),
			Error::<Test>::NothingToWithdraw
		);

		// The first chunk matures at block 11.
		System::set_block_number(11);
		assert_ok!(ProviderStaking::withdraw_unbonded(origin(OPERATOR)));
		assert_eq!(held(OPERATOR), 300);
		assert_eq!(free(OPERATOR), ENDOWMENT - 300);
		assert_eq!(info(OPERATOR).unbonding.into_inner(), vec![chunk(100, 15)]);
		assert_eq!(info(OPERATOR).status, ProviderStatus::Active);
		System::assert_last_event(Event::StakeWithdrawn { provider: OPERATOR, amount: 200 }.into());

		assert_noop!(
			ProviderStaking::withdraw_unbonded(origin(OPERATOR)),
			Error::<Test>::NothingToWithdraw
		);

		// Later, the second.
		System::set_block_number(30);
		assert_ok!(ProviderStaking::withdraw_unbonded(origin(OPERATOR)));
		assert_eq!(held(OPERATOR), 200);
		assert_eq!(info(OPERATOR).stake, 200);
		assert!(info(OPERATOR).unbonding.is_empty());
	});
}

#[test]
fn withdraw_unbonded_needs_a_provider() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			ProviderStaking::withdraw_unbonded(origin(OPERATOR)),
			Error::<Test>::NotProvider
		);
	});
}

// ---------------------------------------------------------------------------------------------
// rotate_worker_key
// ---------------------------------------------------------------------------------------------

#[test]
fn rotate_worker_key_moves_the_key() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(ProviderStaking::rotate_worker_key(origin(OPERATOR), 13, proof(OPERATOR, 13)));

		assert_eq!(info(OPERATOR).worker, 13);
		assert_eq!(WorkerKeys::<Test>::get(WORKER), None);
		assert_eq!(WorkerKeys::<Test>::get(13), Some(OPERATOR));
		assert_eq!(Registry::provider_of(&WORKER), None);
		assert_eq!(Registry::provider_of(&13), Some(OPERATOR));
		System::assert_last_event(
			Event::WorkerKeyRotated { provider: OPERATOR, old: WORKER, new: 13 }.into(),
		);

		// To the operator account itself, and to the key already in use.
		assert_ok!(ProviderStaking::rotate_worker_key(
			origin(OPERATOR),
			OPERATOR,
			proof(OPERATOR, OPERATOR)
		));
		assert_eq!(WorkerKeys::<Test>::get(OPERATOR), Some(OPERATOR));
		assert_ok!(ProviderStaking::rotate_worker_key(
			origin(OPERATOR),
			OPERATOR,
			proof(OPERATOR, OPERATOR)
		));
		assert_eq!(WorkerKeys::<Test>::get(OPERATOR), Some(OPERATOR));
	});
}

#[test]
fn rotate_worker_key_rejections() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			ProviderStaking::rotate_worker_key(origin(OPERATOR), 13, proof(OPERATOR, 13)),
			Error::<Test>::NotProvider
		);
		register(500);
		assert_ok!(ProviderStaking::register(
			origin(OTHER),
			OTHER_WORKER,
			cpu_profile(),
			100,
			proof(OTHER, OTHER_WORKER)
		));
		// The worker key can't rotate the key; only the operator can.
		assert_noop!(
			ProviderStaking::rotate_worker_key(origin(WORKER), 13, proof(WORKER, 13)),
			Error::<Test>::NotProvider
		);
		assert_noop!(
			ProviderStaking::rotate_worker_key(
				origin(OPERATOR),
				OTHER_WORKER,
				proof(OPERATOR, OTHER_WORKER)
			),
			Error::<Test>::WorkerKeyInUse
		);
		assert_noop!(
			ProviderStaking::rotate_worker_key(origin(OPERATOR), OTHER, proof(OPERATOR, OTHER)),
			Error::<Test>::WorkerKeyInUse
		);
	});
}

// ---------------------------------------------------------------------------------------------
// update_profile
// ---------------------------------------------------------------------------------------------

#[test]
fn update_profile_replaces_the_profile() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(ProviderStaking::update_profile(origin(OPERATOR), cpu_profile()));
		assert_eq!(info(OPERATOR).profile, cpu_profile());
		assert_eq!(Registry::profile(&OPERATOR), Some(cpu_profile()));
		System::assert_last_event(Event::ProfileUpdated { provider: OPERATOR }.into());
	});
}

#[test]
fn update_profile_rejections() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			ProviderStaking::update_profile(origin(OPERATOR), cpu_profile()),
			Error::<Test>::NotProvider
		);
		register(500);
		let mut invalid = gpu_profile();
		invalid.kinds = Default::default();
		assert_noop!(
			ProviderStaking::update_profile(origin(OPERATOR), invalid),
			Error::<Test>::InvalidProfile
		);
		assert_ok!(Registry::reserve_slots(&OPERATOR, 1));
		assert_noop!(
			ProviderStaking::update_profile(origin(OPERATOR), cpu_profile()),
			Error::<Test>::ProviderBusy
		);
		Registry::release_slots(&OPERATOR, 1);
		assert_ok!(ProviderStaking::update_profile(origin(OPERATOR), cpu_profile()));
	});
}

// ---------------------------------------------------------------------------------------------
// deregister
// ---------------------------------------------------------------------------------------------

#[test]
fn deregister_is_blocked_by_reserved_slots() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(Registry::reserve_slots(&OPERATOR, 2));
		assert_noop!(ProviderStaking::deregister(origin(OPERATOR)), Error::<Test>::WorkInFlight);
		Registry::release_slots(&OPERATOR, 1);
		assert_noop!(ProviderStaking::deregister(origin(OPERATOR)), Error::<Test>::WorkInFlight);
		Registry::release_slots(&OPERATOR, 1);
		assert_ok!(ProviderStaking::deregister(origin(OPERATOR)));
	});
}

#[test]
fn deregister_then_withdraw_removes_the_provider() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		System::set_block_number(4);
		assert_ok!(ProviderStaking::deregister(origin(OPERATOR)));

		let provider = info(OPERATOR);
		assert_eq!(provider.status, ProviderStatus::Leaving);
		assert_eq!(provider.stake, 0);
		assert_eq!(provider.unbonding.into_inner(), vec![chunk(500, 14)]);
		assert_eq!(held(OPERATOR), 500);
		assert_eq!(WorkerKeys::<Test>::get(WORKER), None);
		System::assert_last_event(
			Event::ProviderDeregistering { provider: OPERATOR, unlock_at: 14 }.into(),
		);

		// Invisible to the market.
		assert_eq!(Registry::profile(&OPERATOR), None);
		assert_eq!(Registry::stake(&OPERATOR), 0);
		assert_eq!(Registry::provider_of(&OPERATOR), None);
		assert_eq!(Registry::provider_of(&WORKER), None);
		assert!(!Registry::can_serve(&OPERATOR, 0));
		assert_noop!(Registry::reserve_slots(&OPERATOR, 1), Error::<Test>::NotProvider);

		// A leaving provider can only withdraw.
		assert_noop!(
			ProviderStaking::bond_extra(origin(OPERATOR), 100),
			Error::<Test>::NotProvider
		);
		assert_noop!(ProviderStaking::unbond(origin(OPERATOR), 100), Error::<Test>::NotProvider);
		assert_noop!(
			ProviderStaking::rotate_worker_key(origin(OPERATOR), 13, proof(OPERATOR, 13)),
			Error::<Test>::NotProvider
		);
		assert_noop!(
			ProviderStaking::update_profile(origin(OPERATOR), cpu_profile()),
			Error::<Test>::NotProvider
		);
		assert_noop!(ProviderStaking::deregister(origin(OPERATOR)), Error::<Test>::NotProvider);
		assert_noop!(
			ProviderStaking::register(
				origin(OPERATOR),
				WORKER,
				cpu_profile(),
				100,
				proof(OPERATOR, WORKER)
			),
			Error::<Test>::AlreadyRegistered
		);
		assert_noop!(
			ProviderStaking::withdraw_unbonded(origin(OPERATOR)),
			Error::<Test>::NothingToWithdraw
		);

		// The freed worker key can serve another provider meanwhile.
		assert_ok!(ProviderStaking::register(
			origin(OTHER),
			WORKER,
			cpu_profile(),
			100,
			proof(OTHER, WORKER)
		));

		System::set_block_number(14);
		assert_ok!(ProviderStaking::withdraw_unbonded(origin(OPERATOR)));
		assert!(Providers::<Test>::get(OPERATOR).is_none());
		assert_eq!(held(OPERATOR), 0);
		assert_eq!(free(OPERATOR), ENDOWMENT);
		assert_eq!(
			staking_events().last_chunk::<2>(),
			Some(&[
				Event::StakeWithdrawn { provider: OPERATOR, amount: 500 },
				Event::ProviderRemoved { provider: OPERATOR },
			])
		);

		// And the account may register again.
		assert_ok!(ProviderStaking::register(
			origin(OPERATOR),
			13,
			gpu_profile(),
			100,
			proof(OPERATOR, 13)
		));
	});
}

#[test]
fn deregister_keeps_earlier_chunks() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 200));
		System::set_block_number(6);
		assert_ok!(ProviderStaking::deregister(origin(OPERATOR)));
		assert_eq!(info(OPERATOR).unbonding.into_inner(), vec![chunk(200, 11), chunk(300, 16)]);
		System::assert_last_event(
			Event::ProviderDeregistering { provider: OPERATOR, unlock_at: 16 }.into(),
		);

		// The first chunk alone leaves the record in place.
		System::set_block_number(11);
		assert_ok!(ProviderStaking::withdraw_unbonded(origin(OPERATOR)));
		assert_eq!(info(OPERATOR).status, ProviderStatus::Leaving);
		assert_eq!(held(OPERATOR), 300);

		System::set_block_number(16);
		assert_ok!(ProviderStaking::withdraw_unbonded(origin(OPERATOR)));
		assert!(Providers::<Test>::get(OPERATOR).is_none());
		System::assert_last_event(Event::ProviderRemoved { provider: OPERATOR }.into());
	});
}

#[test]
fn deregister_with_full_chunks_fails() {
	ExtBuilder::default().build_and_execute(|| {
		register(1_000);
		for block in 1..=4 {
			System::set_block_number(block);
			assert_ok!(ProviderStaking::unbond(origin(OPERATOR), 100));
		}
		System::set_block_number(5);
		assert_noop!(
			ProviderStaking::deregister(origin(OPERATOR)),
			Error::<Test>::TooManyUnbondingChunks
		);
	});
}

// ---------------------------------------------------------------------------------------------
// ProviderRegistry
// ---------------------------------------------------------------------------------------------

#[test]
fn provider_of_resolves_operators_and_worker_keys() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_eq!(Registry::provider_of(&OPERATOR), Some(OPERATOR));
		assert_eq!(Registry::provider_of(&WORKER), Some(OPERATOR));
		assert_eq!(Registry::provider_of(&OTHER), None);
		assert_eq!(Registry::provider_of(&OTHER_WORKER), None);
	});
}

#[test]
fn registry_views() {
	ExtBuilder::default().build_and_execute(|| {
		assert_eq!(Registry::profile(&OPERATOR), None);
		assert_eq!(Registry::stake(&OPERATOR), 0);
		assert_eq!(Registry::reserved_slots(&OPERATOR), 0);
		assert!(!Registry::can_serve(&OPERATOR, 0));

		register(500);
		assert_eq!(Registry::profile(&OPERATOR), Some(gpu_profile()));
		assert_eq!(Registry::stake(&OPERATOR), 500);
		assert_ok!(Registry::reserve_slots(&OPERATOR, 2));
		assert_eq!(Registry::reserved_slots(&OPERATOR), 2);
		// The worker key is not the provider.
		assert_eq!(Registry::stake(&WORKER), 0);
	});
}

#[test]
fn slots_need_exactly_enough_stake() {
	ExtBuilder::default().build_and_execute(|| {
		register(300);
		assert!(Registry::can_serve(&OPERATOR, 3));
		assert!(!Registry::can_serve(&OPERATOR, 4));

		assert_ok!(Registry::reserve_slots(&OPERATOR, 2));
		assert!(Registry::can_serve(&OPERATOR, 1));
		assert!(!Registry::can_serve(&OPERATOR, 2));
		assert_noop!(Registry::reserve_slots(&OPERATOR, 2), Error::<Test>::StakeTooLowForSlots);
		assert_ok!(Registry::reserve_slots(&OPERATOR, 1));
		assert_eq!(Registry::reserved_slots(&OPERATOR), 3);
		assert_noop!(Registry::reserve_slots(&OPERATOR, 1), Error::<Test>::StakeTooLowForSlots);

		// More stake, more slots.
		assert_ok!(ProviderStaking::bond_extra(origin(OPERATOR), 100));
		assert_ok!(Registry::reserve_slots(&OPERATOR, 1));
		assert_eq!(Registry::reserved_slots(&OPERATOR), 4);
	});
}

#[test]
fn slot_counts_do_not_overflow() {
	ExtBuilder::default().build_and_execute(|| {
		register(300);
		assert_ok!(Registry::reserve_slots(&OPERATOR, 1));
		assert!(!Registry::can_serve(&OPERATOR, u32::MAX));
		assert_noop!(
			Registry::reserve_slots(&OPERATOR, u32::MAX),
			Error::<Test>::StakeTooLowForSlots
		);
		// Reserving nothing is fine.
		assert_ok!(Registry::reserve_slots(&OPERATOR, 0));
	});
}

#[test]
fn reserve_slots_needs_a_provider() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(Registry::reserve_slots(&OPERATOR, 1), Error::<Test>::NotProvider);
		register(300);
		// Slots are reserved against the operator, not the worker key.
		assert_noop!(Registry::reserve_slots(&WORKER, 1), Error::<Test>::NotProvider);
	});
}

#[test]
fn release_slots_saturates() {
	ExtBuilder::default().build_and_execute(|| {
		register(300);
		assert_ok!(Registry::reserve_slots(&OPERATOR, 2));
		Registry::release_slots(&OPERATOR, 5);
		assert_eq!(Registry::reserved_slots(&OPERATOR), 0);
		// Unknown accounts are ignored.
		Registry::release_slots(&OTHER, 1);
		assert!(Providers::<Test>::get(OTHER).is_none());
	});
}

#[cfg(feature = "runtime-benchmarks")]
#[test]
fn register_for_benchmarks_stakes_for_the_slots() {
	ExtBuilder::default().build_and_execute(|| {
		ProviderStaking::register_for_benchmarks(&42, gpu_profile(), 3);
		assert_eq!(Registry::stake(&42), 300);
		assert_eq!(Registry::provider_of(&42), Some(42));
		assert!(Registry::can_serve(&42, 3));
		assert!(!Registry::can_serve(&42, 4));
	});
}

// ---------------------------------------------------------------------------------------------
// try_state
// ---------------------------------------------------------------------------------------------

/// Apply `break_it` in a storage transaction, expect `do_try_state` to fail with a message
/// naming `invariant`, then roll the transaction back.
fn assert_caught(invariant: &str, break_it: impl FnOnce()) {
	assert_ok!(ProviderStaking::do_try_state());
	let caught = with_transaction(|| {
		break_it();
		TransactionOutcome::Rollback(Ok::<_, DispatchError>(ProviderStaking::do_try_state()))
	});
	let Ok(Err(DispatchError::Other(message))) = caught else {
		panic!("breaking invariant {invariant} was not caught: {caught:?}");
	};
	assert!(message.starts_with(invariant), "{message} is not invariant {invariant}");
	assert_ok!(ProviderStaking::do_try_state());
}

#[test]
fn try_state_catches_broken_state() {
	ExtBuilder::default().build_and_execute(|| {
		register(500);
		assert_ok!(ProviderStaking::register(
			origin(OTHER),
			OTHER_WORKER,
			cpu_profile(),
			100,
			proof(OTHER, OTHER_WORKER)
		));

		// (1) Stake recorded without being held.
		assert_caught("(1)", || {
			Providers::<Test>::mutate(OPERATOR, |p| p.as_mut().unwrap().stake += 1)
		});
		// (1) A hold the record does not know of.
		assert_caught("(1)", || {
			let reason = RuntimeHoldReason::ProviderStaking(crate::HoldReason::ProviderStake);
			assert_ok!(<Balances as frame_support::traits::fungible::MutateHold<_>>::hold(
				&reason, &OPERATOR, 1
			));
		});
		// (2) A worker key pointing elsewhere, or missing.
		assert_caught("(2)", || WorkerKeys::<Test>::insert(WORKER, OTHER));
		assert_caught("(2)", || WorkerKeys::<Test>::remove(WORKER));
		assert_caught("(2)", || WorkerKeys::<Test>::insert(13, OPERATOR));
		// (3) A leaving provider with slots.
		assert_caught("(3)", || {
			assert_ok!(ProviderStaking::deregister(origin(OTHER)));
			Providers::<Test>::mutate(OTHER, |p| p.as_mut().unwrap().reserved_slots = 1);
		});
		// (4) Slots beyond the stake.
		assert_caught("(4)", || {
			Providers::<Test>::mutate(OPERATOR, |p| p.as_mut().unwrap().reserved_slots = 6)
		});
		// (5) A worker key that is another provider's operator account.
		assert_caught("(5)", || {
			WorkerKeys::<Test>::remove(WORKER);
			WorkerKeys::<Test>::insert(OTHER, OPERATOR);
			Providers::<Test>::mutate(OPERATOR, |p| p.as_mut().unwrap().worker = OTHER);
		});
	});
}

#[test]
#[should_panic(expected = "(1) balance on hold differs from active plus unbonding stake")]
fn invariants_are_checked_after_each_test() {
	new_test_ext().execute_with(|| {
		register(500);
		Providers::<Test>::mutate(OPERATOR, |p| p.as_mut().unwrap().stake -= 1);
	});
}

// ---------------------------------------------------------------- slashing (StakeManager)

mod slashing {
	use super::*;
	use crate::StakeManager;

	fn staked(stake: Balance) {
		assert_ok!(ProviderStaking::register(
			RuntimeOrigin::signed(OPERATOR),
			WORKER,
			gpu_profile(),
			stake,
			proof(OPERATOR, WORKER)
		));
	}

	#[test]
	fn freeze_is_capped_by_what_is_held_and_thaw_gives_it_back() {
		new_test_ext().execute_with(|| {
			staked(500);
			assert_eq!(<ProviderStaking as StakeManager<_, _>>::freeze(&OPERATOR, 300), 300);
			assert_eq!(<ProviderStaking as StakeManager<_, _>>::freeze(&OPERATOR, 300), 200);
			assert_eq!(info(OPERATOR).frozen, 500);
			<ProviderStaking as StakeManager<_, _>>::thaw(&OPERATOR, 450);
			assert_eq!(<ProviderStaking as StakeManager<_, _>>::frozen(&OPERATOR), 50);
			// An unknown account freezes nothing.
			assert_eq!(<ProviderStaking as StakeManager<_, _>>::freeze(&99, 10), 0);
		});
	}

	#[test]
	fn frozen_stake_backs_no_new_work() {
		new_test_ext().execute_with(|| {
			// 500 staked, 4 slots (400) reserved: covered with 100 to spare.
			staked(500);
			assert_ok!(<ProviderStaking as ProviderRegistry<_, _>>::reserve_slots(&OPERATOR, 4));
			let standing =
				|| <ProviderStaking as ProviderRegistry<_, _>>::standing(&OPERATOR).unwrap();
			assert!(standing().slots_covered);
			assert_eq!(standing().stake, 500);
			// A pending slash of 100 leaves exactly the slots covered; one more and matching
			// passes the provider over, its stake being spoken for.
			<ProviderStaking as StakeManager<_, _>>::freeze(&OPERATOR, 100);
			assert!(standing().slots_covered);
			assert_eq!(standing().stake, 400);
			<ProviderStaking as StakeManager<_, _>>::freeze(&OPERATOR, 1);
			assert!(!standing().slots_covered);
			// Cancelled: covered again.
			<ProviderStaking as StakeManager<_, _>>::thaw(&OPERATOR, 101);
			assert!(standing().slots_covered);
		});
	}

	#[test]
	fn frozen_stake_cannot_unbond_or_be_withdrawn() {
		new_test_ext().execute_with(|| {
			staked(500);
			<ProviderStaking as StakeManager<_, _>>::freeze(&OPERATOR, 450);
			assert_noop!(
				ProviderStaking::unbond(RuntimeOrigin::signed(OPERATOR), 100),
				Error::<Test>::StakeFrozen
			);
			assert_ok!(ProviderStaking::unbond(RuntimeOrigin::signed(OPERATOR), 50));
			// Deregistered, everything unbonds; after the unbonding period only what is not frozen
			// is released.
			assert_ok!(ProviderStaking::deregister(RuntimeOrigin::signed(OPERATOR)));
			System::set_block_number(
				System::block_number() + crate::mock::UnbondingPeriod::get() + 1,
			);
			let before = free(OPERATOR);
			assert_ok!(ProviderStaking::withdraw_unbonded(RuntimeOrigin::signed(OPERATOR)));
			assert_eq!(free(OPERATOR), before + 50);
			assert_eq!(held(OPERATOR), 450);
			assert_noop!(
				ProviderStaking::withdraw_unbonded(RuntimeOrigin::signed(OPERATOR)),
				Error::<Test>::StakeFrozen
			);
			// Thawed (the slash was cancelled), it can go.
			<ProviderStaking as StakeManager<_, _>>::thaw(&OPERATOR, 450);
			assert_ok!(ProviderStaking::withdraw_unbonded(RuntimeOrigin::signed(OPERATOR)));
			assert_eq!(held(OPERATOR), 0);
			assert!(Providers::<Test>::get(OPERATOR).is_none());
		});
	}

	#[test]
	fn a_slash_takes_frozen_stake_unbonding_first_and_pays_it_out() {
		new_test_ext().execute_with(|| {
			staked(500);
			assert_ok!(ProviderStaking::unbond(RuntimeOrigin::signed(OPERATOR), 100));
			let total = Balances::total_issuance();
			let before = free(3);
			// Not frozen: nothing to take.
			assert_eq!(<ProviderStaking as StakeManager<_, _>>::slash(&OPERATOR, 50, &3), 0);
			<ProviderStaking as StakeManager<_, _>>::freeze(&OPERATOR, 150);
			assert_eq!(<ProviderStaking as StakeManager<_, _>>::slash(&OPERATOR, 150, &3), 150);
			let info = info(OPERATOR);
			assert_eq!(
				(info.stake, info.unbonding_total(), info.frozen, info.slashed),
				(350, 0, 0, 150)
			);
			assert_eq!(held(OPERATOR), 350);
			assert_eq!(free(3), before + 150);
			assert_eq!(Balances::total_issuance(), total, "a slash moves money, it mints none");
			System::assert_last_event(
				Event::StakeSlashed { provider: OPERATOR, amount: 150 }.into(),
			);
		});
	}
}

#[test]
fn a_worker_key_must_consent_to_sign_for_its_operator() {
	new_test_ext().execute_with(|| {
		let stake = 500;
		let attempt = |proof| {
			ProviderStaking::register(origin(OPERATOR), WORKER, gpu_profile(), stake, proof)
		};
		// No proof, a proof for another operator (copied from someone's registration), a proof
		// by another key, a proof of other bytes: refused, nothing held.
		for bad in [
			None,
			proof(OTHER, WORKER),
			proof(OPERATOR, OTHER_WORKER),
			Some(sp_runtime::testing::TestSignature(WORKER, b"anything".to_vec())),
		] {
			assert_noop!(attempt(bad), Error::<Test>::BadWorkerProof);
		}
		assert_ok!(attempt(proof(OPERATOR, WORKER)));
		// The operator as its own worker key needs no proof.
		assert_ok!(ProviderStaking::register(origin(OTHER), OTHER, gpu_profile(), stake, None));
		// Rotating to a new key needs that key's consent too.
		assert_noop!(
			ProviderStaking::rotate_worker_key(origin(OPERATOR), OTHER_WORKER, None),
			Error::<Test>::BadWorkerProof
		);
		assert_ok!(ProviderStaking::rotate_worker_key(
			origin(OPERATOR),
			OTHER_WORKER,
			proof(OPERATOR, OTHER_WORKER)
		));
	});
}

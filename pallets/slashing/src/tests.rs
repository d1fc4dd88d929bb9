#![allow(clippy::arithmetic_side_effects)]

use crate::{mock::*, AppliedSlashes, Error, Event, PendingSlashes, SlashParams};
use frame_support::{assert_noop, assert_ok, traits::fungible::Inspect};
use sp_runtime::{DispatchError, Perbill};
use stratus_primitives::{Offence, OffenceKind, OnOffence, StakeManager};

const REQUESTER: u64 = 10;

fn report(provider: u64, kind: OffenceKind, honest: Vec<u64>) {
	<Slashing as OnOffence<u64>>::on_offence(Offence {
		provider,
		job: 7,
		replica: 0,
		kind,
		requester: REQUESTER,
		honest,
	});
}

fn total_money() -> Balance {
	Balances::total_issuance()
}

#[test]
fn an_offence_freezes_a_share_of_a_slot_and_applies_after_the_defer_period() {
	ExtBuilder.build_and_execute(|| {
		let issuance = total_money();
		report(1, OffenceKind::WrongResult, vec![2, 3]);
		// Half a slot, frozen at once.
		let pending = PendingSlashes::<Test>::get(0).unwrap();
		assert_eq!((pending.amount, pending.apply_at), (SLOT / 2, 1 + DEFER));
		assert_eq!(<ProviderStaking as StakeManager<_, _>>::frozen(&1), SLOT / 2);
		assert!(slashing_events().contains(&Event::SlashDeferred {
			id: 0,
			provider: 1,
			job: 7,
			replica: 0,
			offence: OffenceKind::WrongResult,
			amount: SLOT / 2,
			apply_at: 1 + DEFER,
		}));
		assert_eq!(Slashing::pending_slashes(1).len(), 1);
		// Not yet.
		let (requester, fee) = (free(REQUESTER), free(FEE_ACCOUNT));
		run_to_block(DEFER);
		assert_eq!(held(1), 5 * SLOT);
		// Applied: 50% requester, 30% shared by the two honest providers, the rest to the fee
		// account.
		run_to_block(1 + DEFER);
		assert_eq!(held(1), 5 * SLOT - SLOT / 2);
		assert_eq!(free(REQUESTER), requester + 250);
		assert_eq!(free(2), ENDOWMENT - 5 * SLOT + 75);
		assert_eq!(free(3), ENDOWMENT - 5 * SLOT + 75);
		assert_eq!(free(FEE_ACCOUNT), fee + 100);
		assert!(slashing_events().contains(&Event::SlashApplied {
			id: 0,
			provider: 1,
			amount: 500,
			to_requester: 250,
			to_honest: 150,
			to_fee: 100,
		}));
		assert!(PendingSlashes::<Test>::get(0).is_none());
		assert_eq!(<ProviderStaking as StakeManager<_, _>>::frozen(&1), 0);
		assert_eq!(AppliedSlashes::<Test>::get(1).len(), 1);
		assert_eq!(Slashing::applied_slashes(1)[0].amount, 500);
		assert_eq!(total_money(), issuance, "a slash moves stake, it mints and burns nothing");
	});
}

#[test]
fn each_offence_slashes_its_own_fraction() {
	ExtBuilder.build_and_execute(|| {
		report(1, OffenceKind::MissedAck, vec![]);
		report(2, OffenceKind::MissedCommit, vec![]);
		report(3, OffenceKind::MissedReveal, vec![]);
		report(4, OffenceKind::WrongResult, vec![]);
		let amounts: Vec<_> =
			(0..4).map(|id| PendingSlashes::<Test>::get(id).unwrap().amount).collect();
		assert_eq!(amounts, vec![10, 50, 100, 500]);
	});
}

#[test]
fn without_honest_providers_their_share_goes_to_the_fee_account() {
	ExtBuilder.build_and_execute(|| {
		let (requester, fee) = (free(REQUESTER), free(FEE_ACCOUNT));
		report(1, OffenceKind::MissedCommit, vec![]);
		run_to_block(1 + DEFER);
		assert_eq!(free(REQUESTER), requester + 25);
		assert_eq!(free(FEE_ACCOUNT), fee + 25);
	});
}

#[test]
fn a_cancelled_slash_thaws_the_stake_and_takes_nothing() {
	ExtBuilder.build_and_execute(|| {
		report(1, OffenceKind::WrongResult, vec![2]);
		assert_noop!(Slashing::cancel_slash(RuntimeOrigin::signed(1), 0), DispatchError::BadOrigin);
		assert_ok!(Slashing::cancel_slash(RuntimeOrigin::root(), 0));
		assert!(slashing_events().contains(&Event::SlashCancelled {
			id: 0,
			provider: 1,
			amount: 500
		}));
		assert_eq!(<ProviderStaking as StakeManager<_, _>>::frozen(&1), 0);
		run_to_block(1 + DEFER + 5);
		assert_eq!(held(1), 5 * SLOT);
		assert!(AppliedSlashes::<Test>::get(1).is_empty());
		assert_noop!(Slashing::cancel_slash(RuntimeOrigin::root(), 0), Error::<Test>::UnknownSlash);
	});
}

#[test]
fn stake_under_a_pending_slash_cannot_leave() {
	ExtBuilder.build_and_execute(|| {
		run_to_block(2);
		for _ in 0..3 {
			report(1, OffenceKind::WrongResult, vec![]);
		}
		assert_eq!(<ProviderStaking as StakeManager<_, _>>::frozen(&1), 3 * SLOT / 2);
		// The provider tries to run: unbonding below the frozen stake is refused, and what it can
		// deregister and withdraw leaves the frozen stake held (the hook lags here, so the
		// withdrawal comes before the slashes apply).
		assert_noop!(
			ProviderStaking::unbond(RuntimeOrigin::signed(1), 3_600),
			pallet_provider_staking::Error::<Test>::StakeFrozen
		);
		assert_ok!(ProviderStaking::deregister(RuntimeOrigin::signed(1)));
		System::set_block_number(2 + 100 + 1);
		assert_ok!(ProviderStaking::withdraw_unbonded(RuntimeOrigin::signed(1)));
		assert_eq!(held(1), 3 * SLOT / 2);
		// The hook catches up and takes it.
		run_to_block(2 + 100 + 2);
		assert_eq!(held(1), 0);
		assert!(pallet_provider_staking::Providers::<Test>::get(1).is_none());
	});
}

#[test]
fn a_provider_with_nothing_left_is_recorded_but_not_slashed() {
	ExtBuilder.build_and_execute(|| {
		for _ in 0..12 {
			report(1, OffenceKind::WrongResult, vec![]);
		}
		// Ten halves of a slot freeze all of the five slots' stake; the rest find nothing.
		assert_eq!(PendingSlashes::<Test>::iter().count(), 10);
		assert_eq!(
			slashing_events().iter().filter(|e| matches!(e, Event::OffenceReported { .. })).count(),
			12
		);
		run_to_block(1 + DEFER);
		assert_eq!(held(1), 0);
		// The history keeps the newest four.
		assert_eq!(AppliedSlashes::<Test>::get(1).len(), 4);
		assert_eq!(AppliedSlashes::<Test>::get(1)[0].id, 6);
	});
}

#[test]
fn a_share_its_recipient_cannot_receive_goes_to_the_fee_account() {
	ExtBuilder.build_and_execute(|| {
		// Account 55 does not exist and 1 is below the existential deposit.
		let tiny = SlashParams { missed_ack: Perbill::from_parts(2_000_000), ..Slashing::params() };
		assert_ok!(Slashing::set_params(RuntimeOrigin::root(), tiny));
		let fee = free(FEE_ACCOUNT);
		<Slashing as OnOffence<u64>>::on_offence(Offence {
			provider: 1,
			job: 7,
			replica: 0,
			kind: OffenceKind::MissedAck,
			requester: 55,
			honest: vec![],
		});
		run_to_block(1 + DEFER);
		assert_eq!(Balances::total_balance(&55), 0);
		assert_eq!(free(FEE_ACCOUNT), fee + 2);
		assert_eq!(held(1), 5 * SLOT - 2);
	});
}

#[test]
fn parameters_are_set_by_root_within_bounds() {
	ExtBuilder.build_and_execute(|| {
		let params = Slashing::params();
		assert_noop!(
			Slashing::set_params(RuntimeOrigin::signed(1), params.clone()),
			DispatchError::BadOrigin
		);
		assert_noop!(
			Slashing::set_params(
				RuntimeOrigin::root(),
				SlashParams { defer_period: 51, ..params.clone() }
			),
			Error::<Test>::BadDeferPeriod
		);
		assert_noop!(
			Slashing::set_params(
				RuntimeOrigin::root(),
				SlashParams { defer_period: 0, ..params.clone() }
			),
			Error::<Test>::DeferPeriodTooShort
		);
		assert_noop!(
			Slashing::set_params(
				RuntimeOrigin::root(),
				SlashParams { defer_period: MinDeferPeriod::get() - 1, ..params.clone() }
			),
			Error::<Test>::DeferPeriodTooShort
		);
		assert_noop!(
			Slashing::set_params(
				RuntimeOrigin::root(),
				SlashParams {
					requester_share: Perbill::from_percent(80),
					honest_share: Perbill::from_percent(30),
					..params.clone()
				}
			),
			Error::<Test>::SharesOverWhole
		);
		let longer = SlashParams { defer_period: 20, ..params };
		assert_ok!(Slashing::set_params(RuntimeOrigin::root(), longer.clone()));
		assert_eq!(Slashing::params(), longer);
		report(1, OffenceKind::MissedAck, vec![]);
		assert_eq!(PendingSlashes::<Test>::get(0).unwrap().apply_at, 21);
	});
}

#[test]
fn try_state_catches_an_unqueued_slash() {
	ExtBuilder.build().execute_with(|| {
		report(1, OffenceKind::MissedAck, vec![]);
		assert_ok!(Slashing::do_try_state());
		crate::SlashQueue::<Test>::remove(1 + DEFER, 0);
		assert!(Slashing::do_try_state().is_err());
	});
}

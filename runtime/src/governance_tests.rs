//! Governance in the runtime as built: each track's origin can do exactly what it should and
//! nothing else; parameters refuse unsafe values and change nothing; referenda pass on the
//! development presets' fast tracks and enact their calls; a slash cancelled by the slash track
//! inside its defer period is not applied.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use super::*;
use configs::{dynamic_params as params, tracks, RuntimeParameters};
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::Inspect, EnsureOriginWithArg, Get, Hooks, StorePreimage},
};
use pallet_conviction_voting::{AccountVote, Conviction, Vote};
use pallet_governance::Origin as TrackOrigin;
use pallet_referenda::{ReferendumInfo, TracksInfo};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{DispatchError, Perbill};
use stratus_primitives::{
	CapabilityProfile, Offence, OffenceKind, OnOffence, ProviderRegistry, StakeManager,
};

fn preset(name: &str) -> sp_io::TestExternalities {
	let mut ext = sp_io::TestExternalities::new(
		genesis_config_presets::preset_config(name).unwrap().build_storage().unwrap(),
	);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

fn min_defer() -> BlockNumber {
	<configs::MinDeferPeriod as Get<BlockNumber>>::get()
}

fn track_origin(origin: TrackOrigin) -> RuntimeOrigin {
	RuntimeOrigin::from(origin)
}

fn signed(who: Sr25519Keyring) -> RuntimeOrigin {
	RuntimeOrigin::signed(who.to_account_id())
}

fn protocol_fee(value: Perbill) -> RuntimeParameters {
	RuntimeParameters::Market(params::market::Parameters::ProtocolFee(
		params::market::ProtocolFee,
		Some(value),
	))
}

fn min_stake(value: Balance) -> RuntimeParameters {
	RuntimeParameters::ProviderStaking(params::provider_staking::Parameters::MinStakePerSlot(
		params::provider_staking::MinStakePerSlot,
		Some(value),
	))
}

/// Runs the hooks that matter to governance (the scheduler, which enacts and wakes referenda,
/// and slashing, which applies due slashes) for every block up to `n`.
fn run_to(n: BlockNumber) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Scheduler::on_initialize(next);
		Slashing::on_initialize(next);
	}
}

/// The well-known accounts that vote in the referendum tests: half of the endowed ones, so
/// support passes a track's curve at its start.
const VOTERS: [Sr25519Keyring; 6] = [
	Sr25519Keyring::Alice,
	Sr25519Keyring::Bob,
	Sr25519Keyring::Charlie,
	Sr25519Keyring::Dave,
	Sr25519Keyring::Eve,
	Sr25519Keyring::Ferdie,
];

/// Submits `call` as a referendum dispatched with `origin`, places its decision deposit and has
/// the voters vote aye with all they hold; returns its index.
fn propose_and_back(call: RuntimeCall, origin: OriginCaller) -> u32 {
	let proposal = <Preimage as StorePreimage>::bound(call).unwrap();
	let index = pallet_referenda::ReferendumCount::<Runtime>::get();
	assert_ok!(Referenda::submit(
		signed(Sr25519Keyring::Alice),
		Box::new(origin),
		proposal,
		frame_support::traits::schedule::DispatchTime::After(0),
	));
	assert_ok!(Referenda::place_decision_deposit(signed(Sr25519Keyring::Alice), index));
	for voter in VOTERS {
		let balance = Balances::balance(&voter.to_account_id()) / 2;
		let vote = AccountVote::Standard {
			vote: Vote { aye: true, conviction: Conviction::Locked1x },
			balance,
		};
		assert_ok!(ConvictionVoting::vote(signed(voter), index, vote));
	}
	index
}

fn approved(index: u32) -> bool {
	matches!(
		pallet_referenda::ReferendumInfoFor::<Runtime>::get(index),
		Some(ReferendumInfo::Approved(..))
	)
}

#[test]
fn every_origin_maps_to_its_own_track_and_nothing_else_to_any() {
	preset("local_testnet").execute_with(|| {
		let track = |o: OriginCaller| tracks::TracksInfo::track_for(&o);
		assert_eq!(track(frame_system::RawOrigin::Root.into()), Ok(tracks::ROOT));
		assert_eq!(track(TrackOrigin::MarketAdmin.into()), Ok(tracks::MARKET_ADMIN));
		assert_eq!(track(TrackOrigin::SlashCanceller.into()), Ok(tracks::SLASH_CANCELLER));
		assert_eq!(track(TrackOrigin::Treasurer.into()), Ok(tracks::TREASURER));
		assert_eq!(track(TrackOrigin::StakingAdmin.into()), Ok(tracks::STAKING_ADMIN));
		let alice = Sr25519Keyring::Alice.to_account_id();
		assert_eq!(track(frame_system::RawOrigin::Signed(alice).into()), Err(()));
		assert_eq!(track(frame_system::RawOrigin::None.into()), Err(()));
		tracks::TracksInfo::check_integrity().unwrap();
	});
}

#[test]
fn each_track_origin_can_do_exactly_what_it_should() {
	preset("local_testnet").execute_with(|| {
		let bad = || DispatchError::BadOrigin;
		let market = TrackOrigin::MarketAdmin;
		let slash = TrackOrigin::SlashCanceller;
		let treasurer = TrackOrigin::Treasurer;
		let staking = TrackOrigin::StakingAdmin;
		let everyone = [market.clone(), slash.clone(), treasurer.clone(), staking.clone()];

		// Market parameters: market_admin and Root only.
		for origin in everyone.iter().filter(|o| **o != market) {
			let o = track_origin(origin.clone());
			assert_noop!(
				Governance::set_parameter(o, protocol_fee(Perbill::from_percent(3))),
				bad()
			);
		}
		assert_noop!(
			Governance::set_parameter(
				signed(Sr25519Keyring::Alice),
				protocol_fee(Perbill::from_percent(3))
			),
			bad()
		);
		assert_ok!(Governance::set_parameter(
			track_origin(market.clone()),
			protocol_fee(Perbill::from_percent(3))
		));
		assert_ok!(Governance::set_parameter(
			RuntimeOrigin::root(),
			protocol_fee(Perbill::from_percent(4))
		));

		// The providers' stake: staking_admin and Root only.
		for origin in everyone.iter().filter(|o| **o != staking) {
			let o = track_origin(origin.clone());
			assert_noop!(Governance::set_parameter(o, min_stake(20 * UNIT)), bad());
		}
		assert_ok!(Governance::set_parameter(track_origin(staking.clone()), min_stake(20 * UNIT)));

		// Slashing parameters: staking_admin and Root only.
		let params = Slashing::params();
		for origin in everyone.iter().filter(|o| **o != staking) {
			let o = track_origin(origin.clone());
			assert_noop!(Slashing::set_params(o, params.clone()), bad());
		}
		assert_ok!(Slashing::set_params(track_origin(staking.clone()), params));

		// Cancelling a slash: slash_canceller and Root; the others never reach the slash.
		for origin in everyone.iter().filter(|o| **o != slash) {
			assert_noop!(Slashing::cancel_slash(track_origin(origin.clone()), 0), bad());
		}
		assert_noop!(
			Slashing::cancel_slash(track_origin(slash.clone()), 0),
			pallet_slashing::Error::<Runtime>::UnknownSlash
		);

		// Treasury spends: treasurer up to its limit, Root without one.
		let bob = Sr25519Keyring::Bob.to_account_id();
		let spend = |origin: RuntimeOrigin, amount| {
			Treasury::spend(origin, Box::new(()), amount, Box::new(bob.clone()), None)
		};
		for origin in everyone.iter().filter(|o| **o != treasurer) {
			assert_noop!(spend(track_origin(origin.clone()), UNIT), bad());
		}
		let limit = configs::MaxTreasurerSpend::get();
		assert_noop!(
			spend(track_origin(treasurer.clone()), limit + 1),
			pallet_treasury::Error::<Runtime>::InsufficientPermission
		);
		assert_ok!(spend(track_origin(treasurer.clone()), limit));
		assert_ok!(spend(RuntimeOrigin::root(), limit + 1));

		// Upgrades: Root only.
		for origin in everyone {
			assert_noop!(
				System::authorize_upgrade(track_origin(origin), Default::default()),
				bad()
			);
		}
		assert_ok!(System::authorize_upgrade(RuntimeOrigin::root(), Default::default()));

		// Nobody calls `pallet-parameters` directly: its call is not in the runtime, and its
		// admin origin admits no one.
		assert!(<Runtime as pallet_parameters::Config>::AdminOrigin::try_origin(
			RuntimeOrigin::root(),
			&configs::RuntimeParametersKey::Market(params::market::ParametersKey::ProtocolFee(
				params::market::ProtocolFee
			)),
		)
		.is_err());
	});
}

#[test]
fn every_default_lies_inside_its_bounds() {
	use pallet_governance::ParameterBounds;
	preset("local_testnet").execute_with(|| {
		for default in configs::parameters::defaults() {
			assert_eq!(configs::parameters::Bounds::check(&default), Ok(()), "{default:?}");
			assert_eq!(Governance::check_parameter(default), None);
		}
	});
}

#[test]
fn parameter_bounds_refuse_unsafe_values_with_no_state_change() {
	use params::{market as m, provider_staking as s, reputation as r};
	preset("local_testnet").execute_with(|| {
		let root = RuntimeOrigin::root;
		let too_high = [
			protocol_fee(Perbill::from_percent(11)),
			RuntimeParameters::Market(m::Parameters::ReplicatedSpotCheck(
				m::ReplicatedSpotCheck,
				Some(Perbill::from_percent(51)),
			)),
			RuntimeParameters::Market(m::Parameters::AckWindow(m::AckWindow, Some(101))),
			RuntimeParameters::Market(m::Parameters::RecordRetention(
				m::RecordRetention,
				Some(7 * DAYS + 1),
			)),
			RuntimeParameters::Reputation(r::Parameters::TrustThreshold(
				r::TrustThreshold,
				Some(Perbill::one()),
			)),
			min_stake(1_000 * UNIT + 1),
		];
		for value in too_high {
			// Tools can ask first, through the view function.
			assert_eq!(
				Governance::check_parameter(value.clone()),
				Some(pallet_governance::Refusal::AboveMaximum)
			);
			assert_noop!(
				Governance::set_parameter(root(), value),
				pallet_governance::Error::<Runtime>::AboveMaximum
			);
		}
		let too_low = [
			RuntimeParameters::Market(m::Parameters::JobDeposit(
				m::JobDeposit,
				Some(EXISTENTIAL_DEPOSIT - 1),
			)),
			RuntimeParameters::Market(m::Parameters::MinJobValue(m::MinJobValue, Some(0))),
			RuntimeParameters::Market(m::Parameters::AckWindow(m::AckWindow, Some(4))),
			RuntimeParameters::Reputation(r::Parameters::TrustThreshold(
				r::TrustThreshold,
				Some(Perbill::from_percent(50)),
			)),
			RuntimeParameters::Reputation(r::Parameters::SpotCheckFloor(
				r::SpotCheckFloor,
				Some(Perbill::zero()),
			)),
			RuntimeParameters::ProviderStaking(s::Parameters::MinStakePerSlot(
				s::MinStakePerSlot,
				Some(UNIT - 1),
			)),
		];
		for value in too_low {
			assert_eq!(
				Governance::check_parameter(value.clone()),
				Some(pallet_governance::Refusal::BelowMinimum)
			);
			assert_noop!(
				Governance::set_parameter(root(), value),
				pallet_governance::Error::<Runtime>::BelowMinimum
			);
		}
		// The slash defer period is bounded by the profile's shortest: a slash must stay
		// cancellable by the slash track.
		let params = Slashing::params();
		let min = min_defer();
		assert_eq!(min, 10, "the fast profile's shortest defer period");
		assert_noop!(
			Slashing::set_params(
				root(),
				pallet_slashing::SlashParams { defer_period: min - 1, ..params }
			),
			pallet_slashing::Error::<Runtime>::DeferPeriodTooShort
		);
	});
}

#[test]
fn a_parameter_set_is_what_the_pallets_read_and_none_restores_the_default() {
	preset("local_testnet").execute_with(|| {
		type Fee = <Runtime as pallet_market::Config>::ProtocolFee;
		assert_eq!(Fee::get(), Perbill::from_percent(2));
		assert_ok!(Governance::set_parameter(
			RuntimeOrigin::root(),
			protocol_fee(Perbill::from_percent(5))
		));
		assert_eq!(Fee::get(), Perbill::from_percent(5));
		System::assert_last_event(RuntimeEvent::Governance(
			pallet_governance::Event::ParameterSet {
				key: configs::RuntimeParametersKey::Market(
					params::market::ParametersKey::ProtocolFee(params::market::ProtocolFee),
				),
				old_value: None,
				new_value: Some(configs::RuntimeParametersValue::Market(
					params::market::ParametersValue::ProtocolFee(Perbill::from_percent(5)),
				)),
			},
		));
		let reset = RuntimeParameters::Market(params::market::Parameters::ProtocolFee(
			params::market::ProtocolFee,
			None,
		));
		assert_ok!(Governance::set_parameter(RuntimeOrigin::root(), reset));
		assert_eq!(Fee::get(), Perbill::from_percent(2));

		// A raised stake per slot refuses a registration that the old one allowed.
		assert_ok!(Governance::set_parameter(RuntimeOrigin::root(), min_stake(50 * UNIT)));
		let profile = CapabilityProfile::cpu_only(8, 16_384, 250);
		let eve = Sr25519Keyring::Eve;
		assert_noop!(
			ProviderStaking::register(signed(eve), eve.to_account_id(), profile, 20 * UNIT, None),
			pallet_provider_staking::Error::<Runtime>::StakeTooLow
		);
	});
}

#[test]
fn a_market_admin_referendum_changes_a_parameter_on_the_fast_tracks() {
	preset("local_testnet").execute_with(|| {
		let call = RuntimeCall::Governance(pallet_governance::Call::set_parameter {
			key_value: protocol_fee(Perbill::from_percent(3)),
		});
		let index = propose_and_back(call, TrackOrigin::MarketAdmin.into());
		// Half the electorate votes aye with half of what it holds (a quarter of the issuance):
		// the support curve comes down to it a fifth into the decision period.
		let track = tracks::FAST[tracks::MARKET_ADMIN as usize].info.clone();
		let support_at = track.min_support.delay(Perbill::from_percent(25)) * track.decision_period;
		let enacted_by =
			1 + track.prepare_period
				+ support_at + track.confirm_period
				+ track.min_enactment_period
				+ 3;
		assert!(enacted_by < 40, "{enacted_by}");
		let fee = <Runtime as pallet_market::Config>::ProtocolFee::get;
		let (mut approved_at, mut changed_at) = (None, None);
		while System::block_number() < enacted_by {
			run_to(System::block_number() + 1);
			let now = System::block_number();
			if approved(index) && approved_at.is_none() {
				approved_at = Some(now);
			}
			if fee() != Perbill::from_percent(2) && changed_at.is_none() {
				changed_at = Some(now);
			}
		}
		// Not before the support curve and the confirmation allow it; enacted its minimum
		// enactment period after approval.
		let approved_at = approved_at.expect("the referendum passes");
		assert!(approved_at >= 1 + track.prepare_period + support_at + track.confirm_period);
		assert_eq!(changed_at, Some(approved_at + track.min_enactment_period));
		assert_eq!(
			<Runtime as pallet_market::Config>::ProtocolFee::get(),
			Perbill::from_percent(3)
		);
	});
}

#[test]
fn a_referendum_cannot_set_a_value_outside_the_bounds() {
	preset("local_testnet").execute_with(|| {
		let call = RuntimeCall::Governance(pallet_governance::Call::set_parameter {
			key_value: protocol_fee(Perbill::from_percent(50)),
		});
		let index = propose_and_back(call, TrackOrigin::MarketAdmin.into());
		run_to(40);
		// Passed, enacted, and refused: the fee is unchanged.
		assert!(approved(index));
		assert_eq!(
			<Runtime as pallet_market::Config>::ProtocolFee::get(),
			Perbill::from_percent(2)
		);
	});
}

#[test]
fn a_slash_cancelled_by_the_slash_track_inside_the_window_is_not_applied() {
	preset("local_testnet").execute_with(|| {
		let provider = Sr25519Keyring::Eve;
		let stake = 100 * UNIT;
		let profile = CapabilityProfile::cpu_only(8, 16_384, 250);
		assert_ok!(ProviderStaking::register(
			signed(provider),
			provider.to_account_id(),
			profile,
			stake,
			None
		));
		let held_before = ProviderStaking::stake(&provider.to_account_id());
		let slash_id = pallet_slashing::NextSlashId::<Runtime>::get();
		Slashing::on_offence(Offence {
			provider: provider.to_account_id(),
			job: 1,
			replica: 0,
			kind: OffenceKind::WrongResult,
			requester: Sr25519Keyring::Ferdie.to_account_id(),
			honest: vec![],
		});
		let pending = pallet_slashing::PendingSlashes::<Runtime>::get(slash_id).unwrap();
		assert!(ProviderStaking::frozen(&provider.to_account_id()) > 0);
		assert_eq!(pending.apply_at, 1 + configs::DEV_DEFER_PERIOD);

		let call = RuntimeCall::Slashing(pallet_slashing::Call::cancel_slash { id: slash_id });
		let index = propose_and_back(call, TrackOrigin::SlashCanceller.into());
		let track = tracks::FAST[tracks::SLASH_CANCELLER as usize].info.clone();
		let enacted_by =
			1 + track.prepare_period + track.confirm_period + track.min_enactment_period + 3;
		assert!(enacted_by < pending.apply_at, "the fast slash track fits in the defer period");
		run_to(pending.apply_at + 1);

		assert!(approved(index));
		assert!(pallet_slashing::PendingSlashes::<Runtime>::get(slash_id).is_none());
		assert_eq!(ProviderStaking::frozen(&provider.to_account_id()), 0);
		assert_eq!(ProviderStaking::stake(&provider.to_account_id()), held_before);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Slashing(pallet_slashing::Event::SlashCancelled { .. })
		)));
		assert!(!System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Slashing(pallet_slashing::Event::SlashApplied { .. })
		)));
	});
}

#[test]
fn the_slash_track_is_faster_than_the_shortest_defer_period_on_both_profiles() {
	for (name, table) in [("testnet", &tracks::LIVE), ("local_testnet", &tracks::FAST)] {
		preset(name).execute_with(|| {
			let slash = &table[tracks::SLASH_CANCELLER as usize].info;
			let fastest = slash.prepare_period + slash.confirm_period + slash.min_enactment_period;
			let min_defer = min_defer();
			assert!(fastest < min_defer, "{name}: {fastest} ≥ {min_defer}");
			assert!(min_defer <= Slashing::params().defer_period, "{name}");
			assert!(min_defer <= configs::MaxDeferPeriod::get(), "{name}");
		});
	}
}

#[test]
fn testnet_has_no_sudo_and_live_tracks_and_reaches_root_only_by_referendum() {
	preset("testnet").execute_with(|| {
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), None);
		assert_eq!(
			pallet_governance::Profile::<Runtime>::get(),
			pallet_governance::NetworkProfile::Live
		);
		let root = tracks::TracksInfo::info(tracks::ROOT).unwrap();
		assert_eq!(root.decision_period, 14 * DAYS);
		assert_eq!(min_defer(), 6 * HOURS);
		// The faucet can submit a Root referendum (an upgrade's authorization).
		let faucet = AccountId::from(genesis_config_presets::TESTNET_FAUCET);
		let call = RuntimeCall::System(frame_system::Call::authorize_upgrade {
			code_hash: Default::default(),
		});
		let proposal = <Preimage as StorePreimage>::bound(call).unwrap();
		assert_ok!(Referenda::submit(
			RuntimeOrigin::signed(faucet),
			Box::new(frame_system::RawOrigin::Root.into()),
			proposal,
			frame_support::traits::schedule::DispatchTime::After(0),
		));
	});
	for name in ["development", "local_testnet"] {
		preset(name).execute_with(|| {
			assert_eq!(
				pallet_governance::Profile::<Runtime>::get(),
				pallet_governance::NetworkProfile::Fast
			);
		});
	}
}

#[test]
fn every_pallet_passes_its_integrity_test_on_both_profiles() {
	for name in ["testnet", "local_testnet"] {
		preset(name).execute_with(|| {
			<AllPalletsWithSystem as frame_support::traits::IntegrityTest>::integrity_test();
		});
	}
}

#[test]
fn opengov_pallets_added_to_a_running_chain_get_their_storage_versions() {
	use frame_support::traits::{GetStorageVersion, StorageVersion};
	preset("local_testnet").execute_with(|| {
		// A chain of spec 114: the pallets had no storage, so no version either.
		for clear in [
			|| StorageVersion::new(0).put::<Scheduler>(),
			|| StorageVersion::new(0).put::<Preimage>(),
			|| StorageVersion::new(0).put::<Referenda>(),
		] {
			clear();
		}
		Executive::execute_on_runtime_upgrade();
		assert_eq!(Scheduler::on_chain_storage_version(), Scheduler::in_code_storage_version());
		assert_eq!(Preimage::on_chain_storage_version(), Preimage::in_code_storage_version());
		assert_eq!(Referenda::on_chain_storage_version(), Referenda::in_code_storage_version());
		assert_ne!(Scheduler::on_chain_storage_version(), StorageVersion::new(0));
	});
}

#[test]
fn a_timed_out_referendums_kept_deposit_is_settled_to_the_treasury_not_held_for_ever() {
	preset("local_testnet").execute_with(|| {
		let proposer = Sr25519Keyring::Charlie;
		let who = proposer.to_account_id();
		let call = RuntimeCall::System(frame_system::Call::remark { remark: vec![1] });
		let proposal = <Preimage as StorePreimage>::bound(call).unwrap();
		let index = pallet_referenda::ReferendumCount::<Runtime>::get();
		assert_ok!(Referenda::submit(
			signed(proposer),
			Box::new(frame_system::RawOrigin::Root.into()),
			proposal,
			frame_support::traits::schedule::DispatchTime::After(0),
		));
		// Still ongoing: nothing to settle.
		assert_noop!(
			Governance::settle_submission_deposit(signed(Sr25519Keyring::Dave), index),
			pallet_governance::Error::<Runtime>::NoKeptDeposit
		);
		// Nobody places the decision deposit: it times out.
		let timeout: BlockNumber =
			<configs::governance::UndecidingTimeout as Get<BlockNumber>>::get();
		run_to(2 + timeout + 2);
		assert!(matches!(
			pallet_referenda::ReferendumInfoFor::<Runtime>::get(index),
			Some(ReferendumInfo::TimedOut(..))
		));
		let deposit = configs::governance::SubmissionDeposit::get();
		assert_eq!(Balances::reserved_balance(&who), deposit, "pallet-referenda keeps it");
		assert_noop!(
			Referenda::refund_submission_deposit(signed(proposer), index),
			pallet_referenda::Error::<Runtime>::BadStatus
		);

		assert_eq!(
			configs::FeeAccount::get(),
			Treasury::account_id(),
			"the fee account is the pot"
		);
		let issuance = Balances::total_issuance();
		let pot = Balances::balance(&configs::FeeAccount::get());
		assert_ok!(Governance::settle_submission_deposit(signed(Sr25519Keyring::Dave), index));
		assert_eq!(Balances::reserved_balance(&who), 0);
		assert_eq!(Balances::balance(&configs::FeeAccount::get()), pot + deposit);
		assert_eq!(Balances::total_issuance(), issuance, "moved, not minted or burnt");
		assert_noop!(
			Governance::settle_submission_deposit(signed(Sr25519Keyring::Dave), index),
			pallet_governance::Error::<Runtime>::NoKeptDeposit
		);
	});
}

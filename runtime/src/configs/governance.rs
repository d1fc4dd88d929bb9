//! OpenGov: referenda on five tracks, conviction voting, the scheduler and preimages that carry a
//! passed referendum's call to its enactment, and the treasury. The tracks, their periods and
//! curves, and why, are in `docs/governance.md`; the parameters a referendum may change are in
//! [`super::parameters`].

use super::RuntimeBlockWeights;
use crate::{
	AccountId, Balance, Balances, BlockNumber, OriginCaller, Preimage, Referenda, Runtime,
	RuntimeCall, RuntimeEvent, RuntimeHoldReason, RuntimeOrigin, Scheduler, System, Treasury, DAYS,
	HOURS, MICRO_UNIT, MILLI_UNIT, MINUTES, UNIT,
};
use alloc::borrow::Cow;
use frame_support::{
	parameter_types,
	traits::{
		fungible::{self, HoldConsideration},
		tokens::{
			currency::ActiveIssuanceOf, Pay, PaymentStatus, Preservation,
			UnityAssetBalanceConversion,
		},
		ConstU32, EitherOf, EqualPrivilegeOnly, LinearStoragePrice,
	},
	weights::Weight,
	PalletId,
};
use frame_system::{EnsureRoot, EnsureRootWithSuccess, EnsureSigned};
use pallet_governance::{ensure, ByProfile, Origin as TrackOrigin};
use pallet_referenda::{Curve, Track};
use sp_runtime::{str_array as name, traits::IdentityLookup, DispatchError, FixedI64};

/// A value by the network's profile: `Live` on `testnet`, `Fast` on the development presets.
pub type Profiled<Live, Fast> = ByProfile<Runtime, Live, Fast>;

impl pallet_governance::Config for Runtime {
	type ParameterOrigin = super::parameters::ParameterOrigin;
	type ParameterBounds = super::parameters::Bounds;
	type DepositBalance = Balance;
	type KeptDeposits = SettleToTreasury;
	type WeightInfo = crate::weights::pallet_governance::WeightInfo<Runtime>;
}

/// A rejected or timed-out referendum's submission deposit, which `pallet-referenda` keeps held,
/// paid to the treasury.
pub struct SettleToTreasury;

impl pallet_governance::KeptDeposits<AccountId, Balance> for SettleToTreasury {
	fn settle(index: u32) -> Result<(AccountId, Balance), DispatchError> {
		use frame_support::traits::{OnUnbalanced, ReservableCurrency};
		use pallet_referenda::ReferendumInfo::{Rejected, TimedOut};
		let none = pallet_governance::Error::<Runtime>::NoKeptDeposit;
		let deposit =
			pallet_referenda::ReferendumInfoFor::<Runtime>::try_mutate(index, |info| match info {
				Some(Rejected(_, kept, _) | TimedOut(_, kept, _)) => kept.take().ok_or(none),
				_ => Err(none),
			})?;
		let (slashed, _) =
			<Balances as ReservableCurrency<_>>::slash_reserved(&deposit.who, deposit.amount);
		<Treasury as OnUnbalanced<_>>::on_unbalanced(slashed);
		Ok((deposit.who, deposit.amount))
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn rejected_with_deposit() -> u32 {
		use frame_support::traits::{fungible::Mutate, ReservableCurrency};
		let who: AccountId = frame_benchmarking::account("proposer", 0, 0);
		let amount = SubmissionDeposit::get();
		let _ = <Balances as Mutate<_>>::mint_into(&who, amount.saturating_mul(10));
		let _ = <Balances as ReservableCurrency<_>>::reserve(&who, amount);
		let index = pallet_referenda::ReferendumCount::<Runtime>::get();
		let deposit = pallet_referenda::Deposit { who, amount };
		pallet_referenda::ReferendumInfoFor::<Runtime>::insert(
			index,
			pallet_referenda::ReferendumInfo::Rejected(0, Some(deposit), None),
		);
		pallet_referenda::ReferendumCount::<Runtime>::put(index.saturating_add(1));
		index
	}
}

parameter_types! {
	/// Half a block: what is left after the market's deadlines (a fifth) and due slashes (a
	/// tenth) still fits, so an enactment never crowds them out.
	pub MaximumSchedulerWeight: Weight = RuntimeBlockWeights::get().max_block.div(2);
}

impl pallet_scheduler::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeOrigin = RuntimeOrigin;
	type PalletsOrigin = OriginCaller;
	type RuntimeCall = RuntimeCall;
	type MaximumWeight = MaximumSchedulerWeight;
	/// Only Root schedules directly; referenda schedule their enactments themselves.
	type ScheduleOrigin = EnsureRoot<AccountId>;
	type OriginPrivilegeCmp = EqualPrivilegeOnly;
	type MaxScheduledPerBlock = ConstU32<50>;
	type WeightInfo = crate::weights::pallet_scheduler::WeightInfo<Runtime>;
	type Preimages = Preimage;
	type BlockNumberProvider = System;
}

parameter_types! {
	/// A preimage holds 100 mSTRAT plus 10 µSTRAT a byte, the scale of a program's deposit: the
	/// call of a parameter change holds about 0.1 STRAT.
	pub const PreimageBaseDeposit: Balance = 100 * MILLI_UNIT;
	pub const PreimageByteDeposit: Balance = 10 * MICRO_UNIT;
	pub const PreimageHoldReason: RuntimeHoldReason =
		RuntimeHoldReason::Preimage(pallet_preimage::HoldReason::Preimage);
}

impl pallet_preimage::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = crate::weights::pallet_preimage::WeightInfo<Runtime>;
	type Currency = Balances;
	type ManagerOrigin = EnsureRoot<AccountId>;
	type Consideration = HoldConsideration<
		AccountId,
		Balances,
		PreimageHoldReason,
		LinearStoragePrice<PreimageBaseDeposit, PreimageByteDeposit, Balance>,
	>;
}

/// The referendum tracks. Track ids are part of every referendum's record: never renumber them.
pub mod tracks {
	use super::*;

	/// Root: runtime upgrades and anything no other track may do.
	pub const ROOT: u16 = 0;
	/// The market's and reputation's parameters.
	pub const MARKET_ADMIN: u16 = 1;
	/// Cancelling a pending slash before it applies.
	pub const SLASH_CANCELLER: u16 = 2;
	/// Spending from the treasury.
	pub const TREASURER: u16 = 3;
	/// The provider stake and slashing parameters.
	pub const STAKING_ADMIN: u16 = 4;

	const fn percent(x: i32) -> FixedI64 {
		FixedI64::from_rational(x as u128, 100)
	}

	// The curves are shared by both profiles: their x axis is the fraction of the decision
	// period, so a `Fast` referendum passes at the same point of its (shorter) period.
	const ROOT_APPROVAL: Curve =
		Curve::make_reciprocal(4, 14, percent(80), percent(50), percent(100));
	const ROOT_SUPPORT: Curve = Curve::make_linear(14, 14, percent(0), percent(50));
	const MARKET_APPROVAL: Curve =
		Curve::make_reciprocal(4, 14, percent(80), percent(50), percent(100));
	const MARKET_SUPPORT: Curve =
		Curve::make_reciprocal(7, 14, percent(10), percent(0), percent(50));
	const SLASH_APPROVAL: Curve = Curve::make_linear(1, 2, percent(50), percent(100));
	const SLASH_SUPPORT: Curve = Curve::make_reciprocal(1, 10, percent(5), percent(0), percent(50));
	const TREASURER_APPROVAL: Curve = Curve::make_linear(14, 14, percent(50), percent(100));
	const TREASURER_SUPPORT: Curve =
		Curve::make_reciprocal(10, 14, percent(1), percent(0), percent(50));
	const STAKING_APPROVAL: Curve = Curve::make_linear(8, 14, percent(50), percent(100));
	const STAKING_SUPPORT: Curve =
		Curve::make_reciprocal(6, 14, percent(1), percent(0), percent(50));

	/// One track: `(id, name, max deciding, decision deposit, prepare, decision, confirm,
	/// minimum enactment, approval, support)`.
	#[allow(clippy::too_many_arguments)]
	const fn track(
		id: u16,
		track_name: &str,
		max_deciding: u32,
		decision_deposit: Balance,
		periods: [BlockNumber; 4],
		min_approval: Curve,
		min_support: Curve,
	) -> Track<u16, Balance, BlockNumber> {
		let [prepare_period, decision_period, confirm_period, min_enactment_period] = periods;
		Track {
			id,
			info: pallet_referenda::TrackInfo {
				name: name(track_name),
				max_deciding,
				decision_deposit,
				prepare_period,
				decision_period,
				confirm_period,
				min_enactment_period,
				min_approval,
				min_support,
			},
		}
	}

	/// `testnet` and every public network: periods of hours and days.
	pub static LIVE: [Track<u16, Balance, BlockNumber>; 5] = [
		track(
			ROOT,
			"root",
			1,
			1_000 * UNIT,
			[2 * HOURS, 14 * DAYS, DAYS, DAYS],
			ROOT_APPROVAL,
			ROOT_SUPPORT,
		),
		track(
			MARKET_ADMIN,
			"market_admin",
			10,
			100 * UNIT,
			[HOURS, 7 * DAYS, 3 * HOURS, HOURS],
			MARKET_APPROVAL,
			MARKET_SUPPORT,
		),
		// Decided and enacted inside the shortest slash defer period (`MinDeferPeriod`, 6 h).
		track(
			SLASH_CANCELLER,
			"slash_canceller",
			50,
			10 * UNIT,
			[10 * MINUTES, 12 * HOURS, 30 * MINUTES, 1],
			SLASH_APPROVAL,
			SLASH_SUPPORT,
		),
		track(
			TREASURER,
			"treasurer",
			10,
			200 * UNIT,
			[2 * HOURS, 7 * DAYS, DAYS, DAYS],
			TREASURER_APPROVAL,
			TREASURER_SUPPORT,
		),
		track(
			STAKING_ADMIN,
			"staking_admin",
			10,
			500 * UNIT,
			[2 * HOURS, 7 * DAYS, 3 * HOURS, 10 * MINUTES],
			STAKING_APPROVAL,
			STAKING_SUPPORT,
		),
	];

	/// `development` and `local_testnet`: periods of blocks (20 blocks a minute), so a vote is
	/// watched, and tested, from submission to enactment in minutes.
	pub static FAST: [Track<u16, Balance, BlockNumber>; 5] = [
		track(ROOT, "root", 1, 1_000 * UNIT, [10, 100, 10, 10], ROOT_APPROVAL, ROOT_SUPPORT),
		track(
			MARKET_ADMIN,
			"market_admin",
			10,
			100 * UNIT,
			[5, 100, 5, 5],
			MARKET_APPROVAL,
			MARKET_SUPPORT,
		),
		track(
			SLASH_CANCELLER,
			"slash_canceller",
			50,
			10 * UNIT,
			[2, 20, 3, 1],
			SLASH_APPROVAL,
			SLASH_SUPPORT,
		),
		track(
			TREASURER,
			"treasurer",
			10,
			200 * UNIT,
			[5, 100, 5, 5],
			TREASURER_APPROVAL,
			TREASURER_SUPPORT,
		),
		track(
			STAKING_ADMIN,
			"staking_admin",
			10,
			500 * UNIT,
			[5, 100, 5, 5],
			STAKING_APPROVAL,
			STAKING_SUPPORT,
		),
	];

	/// The tracks of the network's profile, and the track of each origin.
	pub struct TracksInfo;

	impl pallet_referenda::TracksInfo<Balance, BlockNumber> for TracksInfo {
		type Id = u16;
		type RuntimeOrigin = OriginCaller;

		fn tracks() -> impl Iterator<Item = Cow<'static, Track<u16, Balance, BlockNumber>>> {
			let tracks: &'static [Track<u16, Balance, BlockNumber>] =
				match pallet_governance::Profile::<Runtime>::get() {
					pallet_governance::NetworkProfile::Live => &LIVE,
					pallet_governance::NetworkProfile::Fast => &FAST,
				};
			tracks.iter().map(Cow::Borrowed)
		}

		fn track_for(origin: &OriginCaller) -> Result<u16, ()> {
			match origin {
				OriginCaller::system(frame_system::RawOrigin::Root) => Ok(ROOT),
				OriginCaller::Governance(TrackOrigin::MarketAdmin) => Ok(MARKET_ADMIN),
				OriginCaller::Governance(TrackOrigin::SlashCanceller) => Ok(SLASH_CANCELLER),
				OriginCaller::Governance(TrackOrigin::Treasurer) => Ok(TREASURER),
				OriginCaller::Governance(TrackOrigin::StakingAdmin) => Ok(STAKING_ADMIN),
				_ => Err(()),
			}
		}
	}
}

parameter_types! {
	/// What submitting a referendum holds until it is decided: 1 STRAT.
	pub const SubmissionDeposit: Balance = UNIT;
}

/// A referendum that never gets its decision deposit is dropped after 14 days (100 blocks fast).
pub type UndecidingTimeout = Profiled<ConstU32<{ 14 * DAYS }>, ConstU32<100>>;

impl pallet_referenda::Config for Runtime {
	type RuntimeCall = RuntimeCall;
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = crate::weights::pallet_referenda::WeightInfo<Runtime>;
	type Scheduler = Scheduler;
	type Currency = Balances;
	type SubmitOrigin = EnsureSigned<AccountId>;
	type CancelOrigin = EnsureRoot<AccountId>;
	type KillOrigin = EnsureRoot<AccountId>;
	/// A killed referendum's deposits go to the treasury.
	type Slash = Treasury;
	type Votes = pallet_conviction_voting::VotesOf<Runtime>;
	type Tally = pallet_conviction_voting::TallyOf<Runtime>;
	type SubmissionDeposit = SubmissionDeposit;
	type MaxQueued = ConstU32<100>;
	type UndecidingTimeout = UndecidingTimeout;
	type AlarmInterval = ConstU32<1>;
	type Tracks = tracks::TracksInfo;
	type Preimages = Preimage;
	type BlockNumberProvider = System;
}

/// How long one conviction multiple locks a vote: 7 days (20 blocks fast).
pub type VoteLockingPeriod = Profiled<ConstU32<{ 7 * DAYS }>, ConstU32<20>>;

impl pallet_conviction_voting::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = crate::weights::pallet_conviction_voting::WeightInfo<Runtime>;
	type Currency = Balances;
	type Polls = Referenda;
	/// Support is measured against the active issuance: what the treasury holds does not count.
	type MaxTurnout = ActiveIssuanceOf<Balances, AccountId>;
	type MaxVotes = ConstU32<512>;
	type VoteLockingPeriod = VoteLockingPeriod;
	type BlockNumberProvider = System;
	type VotingHooks = ();
}

parameter_types! {
	/// The treasury's pot is the account protocol fees and slash remainders are paid into
	/// (`FeeAccount`, derived from this id).
	pub const TreasuryPalletId: PalletId = PalletId(*b"stra/fee");
	/// The most one `treasurer` referendum may spend: 100,000 STRAT. Root is not limited.
	pub const MaxTreasurerSpend: Balance = 100_000 * UNIT;
	pub const MaxBalance: Balance = Balance::MAX;
}

/// How often the treasury pays out approved proposals: 6 days (100 blocks fast).
pub type SpendPeriod = Profiled<ConstU32<{ 6 * DAYS }>, ConstU32<100>>;
/// How long an approved spend may be paid out: 30 days (200 blocks fast).
pub type PayoutPeriod = Profiled<ConstU32<{ 30 * DAYS }>, ConstU32<200>>;

impl pallet_treasury::Config for Runtime {
	type Currency = Balances;
	type RejectOrigin = EnsureRoot<AccountId>;
	type RuntimeEvent = RuntimeEvent;
	type SpendPeriod = SpendPeriod;
	/// Nothing burns: the pot is spent only by referendum.
	type Burn = ();
	type PalletId = TreasuryPalletId;
	type BurnDestination = ();
	type WeightInfo = crate::weights::pallet_treasury::WeightInfo<Runtime>;
	type SpendFunds = ();
	type MaxApprovals = ConstU32<100>;
	type SpendOrigin = EitherOf<
		EnsureRootWithSuccess<AccountId, MaxBalance>,
		ensure::Treasurer<MaxTreasurerSpend>,
	>;
	type AssetKind = ();
	type Beneficiary = AccountId;
	type BeneficiaryLookup = IdentityLookup<AccountId>;
	type Paymaster = PayFromTreasury;
	type BalanceConverter = UnityAssetBalanceConversion;
	type PayoutPeriod = PayoutPeriod;
	type BlockNumberProvider = System;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = ();
}

/// Pays a spend from the treasury's pot, keeping the pot alive: a spend of everything would reap
/// it, and protocol fees below the existential deposit paid into a reaped pot would be lost.
pub struct PayFromTreasury;

impl Pay for PayFromTreasury {
	type Balance = Balance;
	type Beneficiary = AccountId;
	type AssetKind = ();
	type Id = ();
	type Error = DispatchError;

	fn pay(who: &AccountId, _: (), amount: Balance) -> Result<(), DispatchError> {
		<Balances as fungible::Mutate<_>>::transfer(
			&super::market::FeeAccount::get(),
			who,
			amount,
			Preservation::Preserve,
		)?;
		Ok(())
	}

	fn check_payment(_: ()) -> PaymentStatus {
		PaymentStatus::Success
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn ensure_successful(who: &AccountId, _: (), amount: Balance) {
		let pot = super::market::FeeAccount::get();
		let ed = <Balances as fungible::Inspect<_>>::minimum_balance();
		let _ = <Balances as fungible::Mutate<_>>::mint_into(&pot, amount.saturating_add(ed));
		// The benchmark pays 100 planck, less than an account needs to exist.
		let _ = <Balances as fungible::Mutate<_>>::mint_into(who, ed);
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn ensure_concluded(_: ()) {}
}

/// Who may cancel a pending slash: Root, or a passed `slash_canceller` referendum.
pub type SlashCancelOrigin = EitherOf<EnsureRoot<AccountId>, ensure::SlashCanceller>;
/// Who may change the provider stake and slashing parameters: Root, or `staking_admin`.
pub type StakingAdminOrigin = EitherOf<EnsureRoot<AccountId>, ensure::StakingAdmin>;
/// Who may change the market's and reputation's parameters: Root, or `market_admin`.
pub type MarketAdminOrigin = EitherOf<EnsureRoot<AccountId>, ensure::MarketAdmin>;

/// The shortest slash defer period the parameters may set: 6 hours live, longer than the
/// fastest `slash_canceller` referendum takes to pass and enact; 10 blocks fast.
pub type MinDeferPeriod = Profiled<ConstU32<{ 6 * HOURS }>, ConstU32<10>>;

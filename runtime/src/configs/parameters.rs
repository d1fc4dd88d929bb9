//! The parameters a referendum may change, their defaults, who may change them, and their safe
//! bounds (`docs/governance.md` has the table and the reasons).
//!
//! They live in `pallet-parameters`' storage; each pallet reads them through `Get` as it read
//! its constants, so the pallets' code does not change. `pallet-parameters`' own call is
//! disabled: `Governance::set_parameter` is the only way in, and it holds every origin, Root
//! included, to the bounds below.
//!
//! What stays a constant, and why:
//! - everything that sizes storage (the `Max*` bounds);
//! - `RevealWindow`: a live job's commit close is `deadline − RevealWindow`, so changing it would
//!   move the windows of jobs already matched;
//! - `MaxJobDuration`: it anchors `UnbondingPeriod ≥ MaxJobDuration + MaxDeferPeriod` and the
//!   removal of retired programs (a program may be removed `MaxJobDuration` after it retires);
//! - `Referees`: a dispute's escrow is computed from it at submission and used again at the
//!   dispute;
//! - `UnbondingPeriod`, reputation's `DecayPeriod`, `WrongWeight` and `SpotCheckScale`.

use super::governance::{MarketAdminOrigin, StakingAdminOrigin};
use crate::{
	Balance, BlockNumber, Runtime, RuntimeOrigin, DAYS, EXISTENTIAL_DEPOSIT, HOURS, MICRO_UNIT,
	MILLI_UNIT, UNIT,
};
use frame_support::{
	dynamic_params::{dynamic_pallet_params, dynamic_params},
	traits::{EnsureOrigin, EnsureOriginWithArg},
};
use pallet_governance::Refusal;
use sp_runtime::Perbill;

#[dynamic_params(RuntimeParameters, pallet_parameters::Parameters::<Runtime>)]
pub mod dynamic_params {
	use super::*;

	/// The market's fees, deposits and windows. Changed by `market_admin`.
	#[dynamic_pallet_params]
	#[codec(index = 0)]
	pub mod market {
		/// The share of every provider payment paid into the treasury.
		#[codec(index = 0)]
		pub static ProtocolFee: Perbill = Perbill::from_percent(2);
		/// The share of replicated jobs that get one more replica, drawn after the first commit.
		#[codec(index = 1)]
		pub static ReplicatedSpotCheck: Perbill = Perbill::from_percent(10);
		/// The least one replica of a job may earn.
		#[codec(index = 2)]
		pub static MinJobValue: Balance = 10 * MICRO_UNIT;
		/// Held per job record until it is reaped.
		#[codec(index = 3)]
		pub static JobDeposit: Balance = 10 * MILLI_UNIT;
		/// Held per registered program, plus `ProgramDepositPerByte` per byte.
		#[codec(index = 4)]
		pub static ProgramDepositBase: Balance = 100 * MILLI_UNIT;
		/// Held per byte of a registered program.
		#[codec(index = 5)]
		pub static ProgramDepositPerByte: Balance = 10 * MICRO_UNIT;
		/// Blocks a provider has to acknowledge a replica it was matched to.
		#[codec(index = 6)]
		pub static AckWindow: BlockNumber = 10;
		/// Blocks an ended job's record is kept before anyone may reap it.
		#[codec(index = 7)]
		pub static RecordRetention: BlockNumber = DAYS;
	}

	/// How reputation decays and when it lets a provider run a job alone. Changed by
	/// `market_admin`.
	#[dynamic_pallet_params]
	#[codec(index = 1)]
	pub mod reputation {
		/// The share of a record's counts kept per decay period (a day).
		#[codec(index = 0)]
		pub static DecayKeep: Perbill = Perbill::from_percent(95);
		/// The score from which a provider may run `adaptive` jobs alone.
		#[codec(index = 1)]
		pub static TrustThreshold: Perbill = Perbill::from_percent(90);
		/// The least spot-check rate of a provider running a job alone.
		#[codec(index = 2)]
		pub static SpotCheckFloor: Perbill = Perbill::from_percent(10);
	}

	/// The providers' stake. Changed by `staking_admin`.
	#[dynamic_pallet_params]
	#[codec(index = 2)]
	pub mod provider_staking {
		/// The stake behind each concurrent slot a provider offers.
		#[codec(index = 0)]
		pub static MinStakePerSlot: Balance = 10 * UNIT;
	}
}

/// The benchmark's parameter: the protocol fee, set inside its bounds.
#[cfg(feature = "runtime-benchmarks")]
impl Default for RuntimeParameters {
	fn default() -> Self {
		RuntimeParameters::Market(dynamic_params::market::Parameters::ProtocolFee(
			dynamic_params::market::ProtocolFee,
			Some(Perbill::from_percent(3)),
		))
	}
}

impl pallet_parameters::Config for Runtime {
	type RuntimeEvent = crate::RuntimeEvent;
	type RuntimeParameters = RuntimeParameters;
	/// Nobody: the pallet's call is disabled, and `Governance::set_parameter` writes its storage.
	type AdminOrigin = frame_support::traits::AsEnsureOriginWithArg<frame_system::EnsureNever<()>>;
	type WeightInfo = ();
}

/// Who may set a parameter: `market_admin` the market's and reputation's, `staking_admin` the
/// providers' stake; Root any.
pub struct ParameterOrigin;

impl EnsureOriginWithArg<RuntimeOrigin, RuntimeParametersKey> for ParameterOrigin {
	type Success = ();

	fn try_origin(
		origin: RuntimeOrigin,
		key: &RuntimeParametersKey,
	) -> Result<Self::Success, RuntimeOrigin> {
		match key {
			RuntimeParametersKey::Market(_) | RuntimeParametersKey::Reputation(_) => {
				MarketAdminOrigin::try_origin(origin)
			},
			RuntimeParametersKey::ProviderStaking(_) => StakingAdminOrigin::try_origin(origin),
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn try_successful_origin(_: &RuntimeParametersKey) -> Result<RuntimeOrigin, ()> {
		Ok(RuntimeOrigin::root())
	}
}

/// `Ok` when `min ≤ value ≤ max`.
fn within<V: PartialOrd>(value: &V, min: V, max: V) -> Result<(), Refusal> {
	if *value < min {
		Err(Refusal::BelowMinimum)
	} else if *value > max {
		Err(Refusal::AboveMaximum)
	} else {
		Ok(())
	}
}

/// The safe bounds of each parameter (`docs/governance.md` says why each).
pub struct Bounds;

impl pallet_governance::ParameterBounds<RuntimeParameters> for Bounds {
	fn check(value: &RuntimeParameters) -> Result<(), Refusal> {
		use dynamic_params::{
			market::Parameters as Market, provider_staking::Parameters as Stake,
			reputation::Parameters as Reputation,
		};
		let percent = Perbill::from_percent;
		match value {
			RuntimeParameters::Market(param) => match param {
				Market::ProtocolFee(_, Some(v)) => within(v, percent(0), percent(10)),
				Market::ReplicatedSpotCheck(_, Some(v)) => within(v, percent(0), percent(50)),
				Market::MinJobValue(_, Some(v)) => within(v, MICRO_UNIT, UNIT),
				// At least the existential deposit: a reaped record's deposit must be worth an
				// account.
				Market::JobDeposit(_, Some(v)) => within(v, EXISTENTIAL_DEPOSIT, UNIT),
				Market::ProgramDepositBase(_, Some(v)) => within(v, 10 * MILLI_UNIT, 10 * UNIT),
				Market::ProgramDepositPerByte(_, Some(v)) => {
					within(v, MICRO_UNIT, 100 * MICRO_UNIT)
				},
				// 15 s to 5 min: a worker polls every block, and a job's windows must still fit
				// in its deadline.
				Market::AckWindow(_, Some(v)) => within(v, 5, 100),
				Market::RecordRetention(_, Some(v)) => within(v, HOURS, 7 * DAYS),
				_ => Ok(()),
			},
			RuntimeParameters::Reputation(param) => match param {
				Reputation::DecayKeep(_, Some(v)) => within(v, percent(50), percent(100)),
				// Below a half, a newcomer (½) would run jobs alone at once.
				Reputation::TrustThreshold(_, Some(v)) => within(v, percent(51), percent(99)),
				Reputation::SpotCheckFloor(_, Some(v)) => within(v, percent(1), percent(100)),
				_ => Ok(()),
			},
			RuntimeParameters::ProviderStaking(param) => match param {
				Stake::MinStakePerSlot(_, Some(v)) => within(v, UNIT, 1_000 * UNIT),
				_ => Ok(()),
			},
		}
	}
}

/// For the runtime's tests: every parameter's key with its default value.
#[cfg(test)]
pub fn defaults() -> alloc::vec::Vec<RuntimeParameters> {
	use dynamic_params::{market as m, provider_staking as s, reputation as r};
	use frame_support::traits::Get;
	alloc::vec![
		RuntimeParameters::Market(m::Parameters::ProtocolFee(
			m::ProtocolFee,
			Some(m::ProtocolFee::get())
		)),
		RuntimeParameters::Market(m::Parameters::ReplicatedSpotCheck(
			m::ReplicatedSpotCheck,
			Some(m::ReplicatedSpotCheck::get())
		)),
		RuntimeParameters::Market(m::Parameters::MinJobValue(
			m::MinJobValue,
			Some(m::MinJobValue::get())
		)),
		RuntimeParameters::Market(m::Parameters::JobDeposit(
			m::JobDeposit,
			Some(m::JobDeposit::get())
		)),
		RuntimeParameters::Market(m::Parameters::ProgramDepositBase(
			m::ProgramDepositBase,
			Some(m::ProgramDepositBase::get())
		)),
		RuntimeParameters::Market(m::Parameters::ProgramDepositPerByte(
			m::ProgramDepositPerByte,
			Some(m::ProgramDepositPerByte::get())
		)),
		RuntimeParameters::Market(m::Parameters::AckWindow(
			m::AckWindow,
			Some(m::AckWindow::get())
		)),
		RuntimeParameters::Market(m::Parameters::RecordRetention(
			m::RecordRetention,
			Some(m::RecordRetention::get())
		)),
		RuntimeParameters::Reputation(r::Parameters::DecayKeep(
			r::DecayKeep,
			Some(r::DecayKeep::get())
		)),
		RuntimeParameters::Reputation(r::Parameters::TrustThreshold(
			r::TrustThreshold,
			Some(r::TrustThreshold::get())
		)),
		RuntimeParameters::Reputation(r::Parameters::SpotCheckFloor(
			r::SpotCheckFloor,
			Some(r::SpotCheckFloor::get())
		)),
		RuntimeParameters::ProviderStaking(s::Parameters::MinStakePerSlot(
			s::MinStakePerSlot,
			Some(s::MinStakePerSlot::get())
		)),
	]
}

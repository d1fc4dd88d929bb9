//! `pallet_reputation`: providers' scores per job kind.

use crate::{Runtime, HOURS};
use frame_support::{parameter_types, traits::ConstU32};
use sp_runtime::Perbill;

parameter_types! {
	/// Both counts of a record keep 95% per day: a result a month old weighs about a fifth.
	pub const DecayKeep: Perbill = Perbill::from_percent(95);
	/// A newcomer (½) needs 8 agreements to run `adaptive` jobs alone (`(a + 1) / (a + f + 2)`),
	/// and after one outvoted result (four failures) it needs 44.
	pub const TrustThreshold: Perbill = Perbill::from_percent(90);
	/// However long its record, a provider running a job alone is spot-checked at least one
	/// time in ten.
	pub const SpotCheckFloor: Perbill = Perbill::from_percent(10);
}

impl pallet_reputation::Config for Runtime {
	type DecayPeriod = ConstU32<{ 24 * HOURS }>;
	type DecayKeep = DecayKeep;
	/// An outvoted result counts as four missed deadlines.
	type WrongWeight = ConstU32<4>;
	type TrustThreshold = TrustThreshold;
	/// The spot-check rate halves by ten valid results in a row (`10 / (10 + run)`).
	type SpotCheckScale = ConstU32<10>;
	type SpotCheckFloor = SpotCheckFloor;
}

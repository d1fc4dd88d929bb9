//! `pallet_reputation`: providers' scores per job kind.

//!
//! `DecayKeep`, `TrustThreshold` and `SpotCheckFloor` are parameters a `market_admin` referendum
//! may change (`super::parameters`). By default: both counts of a record keep 95% per day (a
//! result a month old weighs about a fifth); a newcomer (½) needs 8 agreements to run `adaptive`
//! jobs alone at the 90% threshold (`(a + 1) / (a + f + 2)`), and after one outvoted result
//! (four failures) it needs 44; however long its record, a provider running a job alone is
//! spot-checked at least one time in ten.

use super::parameters::dynamic_params::reputation::{DecayKeep, SpotCheckFloor, TrustThreshold};
use crate::{Runtime, HOURS};
use frame_support::traits::ConstU32;

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

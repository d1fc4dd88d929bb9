//! `pallet_reputation`: providers' scores per job kind.

use crate::{Runtime, HOURS};
use frame_support::{parameter_types, traits::ConstU32};
use sp_runtime::Perbill;

parameter_types! {
	/// Both counts of a record keep 95% per day: a result a month old weighs about a fifth.
	pub const DecayKeep: Perbill = Perbill::from_percent(95);
}

impl pallet_reputation::Config for Runtime {
	type DecayPeriod = ConstU32<{ 24 * HOURS }>;
	type DecayKeep = DecayKeep;
	/// An outvoted result counts as four missed deadlines.
	type WrongWeight = ConstU32<4>;
}

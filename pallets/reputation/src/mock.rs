//! A test runtime: System and this pallet.

use crate as pallet_reputation;
use frame_support::{derive_impl, parameter_types};
use sp_runtime::{BuildStorage, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Reputation: pallet_reputation,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	// Non-zero weights, so the migration tests see what it charges.
	type DbWeight = frame_support::weights::constants::ParityDbWeight;
}

/// Blocks per discount step.
pub const PERIOD: u32 = 100;

parameter_types! {
	pub const DecayPeriod: u32 = PERIOD;
	pub const DecayKeep: Perbill = Perbill::from_percent(90);
	pub const WrongWeight: u32 = 4;
	pub const TrustThreshold: Perbill = Perbill::from_percent(90);
	pub const SpotCheckFloor: Perbill = Perbill::from_percent(10);
}

impl pallet_reputation::Config for Test {
	type DecayPeriod = DecayPeriod;
	type DecayKeep = DecayKeep;
	type WrongWeight = WrongWeight;
	type TrustThreshold = TrustThreshold;
	type SpotCheckScale = frame_support::traits::ConstU32<10>;
	type SpotCheckFloor = SpotCheckFloor;
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

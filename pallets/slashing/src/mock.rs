//! A test runtime: System, Balances, the real provider-staking pallet and this pallet; the market
//! is the test itself, reporting offences through [`OnOffence`].
//!
//! [`ExtBuilder::build_and_execute`] checks both pallets' invariants after the test body.

#![allow(clippy::arithmetic_side_effects)]

use crate::{self as pallet_slashing, SlashParams};
use frame_support::{derive_impl, parameter_types, traits::ConstU32, weights::Weight};
use frame_system::EnsureRoot;
use sp_runtime::{BuildStorage, Perbill};
use stratus_primitives::CapabilityProfile;

type Block = frame_system::mocking::MockBlock<Test>;
/// The account id of the test runtime.
pub type AccountId = u64;
/// The balance of the test runtime.
pub type Balance = u64;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		ProviderStaking: pallet_provider_staking,
		Slashing: pallet_slashing,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = sp_runtime::traits::IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ExistentialDeposit = frame_support::traits::ConstU64<10>;
}

/// One slot's stake.
pub const SLOT: Balance = 1_000;
/// The defer period of the default parameters.
pub const DEFER: u64 = 10;
/// Where the rest of a slash goes.
pub const FEE_ACCOUNT: AccountId = 99;

parameter_types! {
	pub const MinStakePerSlot: Balance = SLOT;
	pub const UnbondingPeriod: u64 = 100;
	pub const FeeAccount: AccountId = FEE_ACCOUNT;
	pub const MinDeferPeriod: u64 = 3;
	pub const MaxDeferPeriod: u64 = 50;
	pub const MaxApplyWeight: Weight = Weight::MAX;
	pub Defaults: SlashParams<u64> = SlashParams {
		missed_ack: Perbill::from_percent(1),
		missed_commit: Perbill::from_percent(5),
		missed_reveal: Perbill::from_percent(10),
		wrong_result: Perbill::from_percent(50),
		defer_period: DEFER,
		requester_share: Perbill::from_percent(50),
		honest_share: Perbill::from_percent(30),
	};
}

impl pallet_provider_staking::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinStakePerSlot = MinStakePerSlot;
	type UnbondingPeriod = UnbondingPeriod;
	type MaxUnbondingChunks = ConstU32<4>;
	type WeightInfo = ();
	type WorkerProof = sp_runtime::testing::TestSignature;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = ();
}

impl pallet_slashing::Config for Test {
	type Currency = Balances;
	type Stake = ProviderStaking;
	type CancelOrigin = EnsureRoot<AccountId>;
	type ParamsOrigin = EnsureRoot<AccountId>;
	type DefaultParams = Defaults;
	type FeeAccount = FeeAccount;
	type MinDeferPeriod = MinDeferPeriod;
	type MaxDeferPeriod = MaxDeferPeriod;
	type MaxHonest = ConstU32<16>;
	type MaxSlashHistory = ConstU32<4>;
	type MaxApplyWeight = MaxApplyWeight;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = StakedProviders;
}

/// The benchmarks' providers, staked through the staking pallet.
#[cfg(feature = "runtime-benchmarks")]
pub struct StakedProviders;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_slashing::BenchmarkHelper<AccountId> for StakedProviders {
	fn stake(who: &AccountId, slots: u32) {
		ProviderStaking::register_for_benchmarks(
			who,
			CapabilityProfile::cpu_only(1, 1024, 0),
			slots,
		);
	}
}

/// What each endowed account starts with.
pub const ENDOWMENT: Balance = 100_000;

/// Builds test externalities: accounts `1..=20` and the fee account endowed, providers `1..=5`
/// registered with five slots' stake each.
pub struct ExtBuilder;

impl ExtBuilder {
	pub fn build(self) -> sp_io::TestExternalities {
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		let mut balances: Vec<(AccountId, Balance)> = (1..=20).map(|a| (a, ENDOWMENT)).collect();
		balances.push((FEE_ACCOUNT, ENDOWMENT));
		pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
			.assimilate_storage(&mut storage)
			.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| {
			System::set_block_number(1);
			for p in 1..=5 {
				pallet_provider_staking::Pallet::<Test>::register(
					RuntimeOrigin::signed(p),
					p + 100,
					CapabilityProfile::cpu_only(4, 4096, 276),
					5 * SLOT,
					Some(sp_runtime::testing::TestSignature(
						p + 100,
						stratus_primitives::worker_key_payload(
							&p,
							&pallet_provider_staking::Pallet::<Test>::genesis_hash(),
						),
					)),
				)
				.unwrap();
			}
		});
		ext
	}

	/// Run `test`, then check both pallets' invariants.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			Slashing::do_try_state().unwrap();
			ProviderStaking::do_try_state().unwrap();
		})
	}
}

/// The benchmark test suite's externalities.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_test_ext() -> sp_io::TestExternalities {
	ExtBuilder.build()
}

/// Run blocks up to `n`, with this pallet's block-start hook.
pub fn run_to_block(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Slashing::on_initialize(next);
	}
}

/// The slashing events since the start, oldest first.
pub fn slashing_events() -> Vec<crate::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| if let RuntimeEvent::Slashing(e) = r.event { Some(e) } else { None })
		.collect()
}

/// The free balance of `who`.
pub fn free(who: AccountId) -> Balance {
	Balances::free_balance(who)
}

/// What `who` holds as stake.
pub fn held(who: AccountId) -> Balance {
	pallet_provider_staking::Providers::<Test>::get(who).map_or(0, |info| info.held())
}

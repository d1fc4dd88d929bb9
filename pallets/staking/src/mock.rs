//! A test runtime: System, Balances and this pallet.
//!
//! Every test runs through [`ExtBuilder::build_and_execute`] (or [`new_test_ext`], whose
//! `execute_with` does the same), which checks the pallet's invariants after the test body.

#![allow(clippy::arithmetic_side_effects)]

use crate::{self as pallet_provider_staking};
use frame_support::{derive_impl, parameter_types, traits::ConstU32, BoundedVec};
use sp_runtime::BuildStorage;
use stratus_primitives::{CapabilityProfile, GpuSpec, JobKind};

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
}

parameter_types! {
	pub const MinStakePerSlot: Balance = 100;
	pub const UnbondingPeriod: u64 = 10;
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

/// What each of the accounts `1..=10` starts with.
pub const ENDOWMENT: Balance = 10_000;

/// Builds test externalities; by default accounts `1..=10` hold [`ENDOWMENT`] each.
pub struct ExtBuilder {
	balances: Vec<(AccountId, Balance)>,
}

impl Default for ExtBuilder {
	fn default() -> Self {
		Self { balances: (1..=10).map(|who| (who, ENDOWMENT)).collect() }
	}
}

impl ExtBuilder {
	/// Endow `who` with `amount` at genesis as well.
	pub fn balance(mut self, who: AccountId, amount: Balance) -> Self {
		self.balances.push((who, amount));
		self
	}

	/// The externalities, at block 1, wrapped so that `execute_with` checks the invariants.
	pub fn build(self) -> TestExt {
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		pallet_balances::GenesisConfig::<Test> { balances: self.balances, ..Default::default() }
			.assimilate_storage(&mut storage)
			.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		// Events are only recorded from block 1 on.
		ext.execute_with(|| System::set_block_number(1));
		TestExt(ext)
	}

	/// Run `test`, then check the pallet's invariants.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(test)
	}
}

/// Test externalities whose `execute_with` checks the pallet's invariants after the closure.
pub struct TestExt(pub sp_io::TestExternalities);

impl TestExt {
	/// Run `f`, then assert `do_try_state()` holds.
	pub fn execute_with<R>(&mut self, f: impl FnOnce() -> R) -> R {
		self.0.execute_with(|| {
			let result = f();
			ProviderStaking::do_try_state().unwrap();
			result
		})
	}
}

/// The default externalities (used by the benchmark test suite); invariants are checked after
/// every `execute_with`.
pub fn new_test_ext() -> TestExt {
	ExtBuilder::default().build()
}

fn bounded<S: frame_support::traits::Get<u32>>(bytes: &[u8]) -> BoundedVec<u8, S> {
	bytes.to_vec().try_into().unwrap()
}

/// A machine with one class of two H100s that runs CUDA and WASM jobs and serves results over
/// HTTPS.
pub fn gpu_profile() -> CapabilityProfile {
	CapabilityProfile {
		kinds: vec![JobKind::Wasm, JobKind::Cuda].try_into().unwrap(),
		gpus: vec![GpuSpec {
			model: bounded(b"NVIDIA H100 80GB HBM3"),
			vram_mib: 81_559,
			compute_capability: 90,
			driver_version: 55_054,
			cuda_version: 12_040,
			count: 2,
		}]
		.try_into()
		.unwrap(),
		cpu_cores: 32,
		memory_mib: 262_144,
		region: 276,
		endpoint: Some(bounded(b"https://worker.example.org/results")),
	}
}

/// A CPU-only machine that runs WASM jobs and serves no endpoint.
pub fn cpu_profile() -> CapabilityProfile {
	CapabilityProfile::cpu_only(8, 16_384, 250)
}

/// The events this pallet deposited, oldest first.
pub fn staking_events() -> Vec<crate::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::ProviderStaking(event) => Some(event),
			_ => None,
		})
		.collect()
}

/// The balance `who` has on hold as provider stake.
pub fn held(who: AccountId) -> Balance {
	use frame_support::traits::fungible::InspectHold;
	Balances::balance_on_hold(
		&RuntimeHoldReason::ProviderStaking(crate::HoldReason::ProviderStake),
		&who,
	)
}

/// The free balance of `who`.
pub fn free(who: AccountId) -> Balance {
	Balances::free_balance(who)
}

/// The worker key `worker`'s consent to sign for `operator` (what `register` and
/// `rotate_worker_key` check).
pub fn proof(operator: AccountId, worker: AccountId) -> Option<sp_runtime::testing::TestSignature> {
	let genesis = crate::Pallet::<Test>::genesis_hash();
	Some(sp_runtime::testing::TestSignature(
		worker,
		stratus_primitives::worker_key_payload(&operator, &genesis),
	))
}

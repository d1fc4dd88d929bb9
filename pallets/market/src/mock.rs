#![allow(clippy::arithmetic_side_effects)]

//! A test runtime with the three market pallets wired as in the real runtime: balances,
//! provider staking, verification and the market. `ExtBuilder::build_and_execute` checks every
//! pallet's invariants after each test.

use crate as pallet_market;
use codec::Encode;
use frame_support::{
	derive_impl, parameter_types,
	traits::{tokens::imbalance::ResolveTo, ConstU32, ConstU8, Hooks},
	weights::Weight,
};
use sp_core::{ConstU128, ConstU64, H256};
use sp_runtime::{BoundedVec, BuildStorage, Perbill};
use stratus_primitives::{CapabilityProfile, GpuSpec, JobKind};

pub type AccountId = u64;
pub type Balance = u128;
type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Staking: pallet_provider_staking,
		Verification: pallet_verification,
		Market: pallet_market,
		Slashing: pallet_slashing,
		Reputation: pallet_reputation,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ConstU128<1>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

/// Stake each slot needs.
pub const STAKE_PER_SLOT: Balance = 100;

impl pallet_provider_staking::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinStakePerSlot = ConstU128<STAKE_PER_SLOT>;
	type UnbondingPeriod = ConstU64<10>;
	type MaxUnbondingChunks = ConstU32<4>;
	type WeightInfo = ();
	type WorkerProof = sp_runtime::testing::TestSignature;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = ();
}

impl pallet_verification::Config for Test {
	type Jobs = Market;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = BenchmarkHelpers;
}

/// The benchmarks' set-up, from the pallets this mock holds (as the runtime's).
#[cfg(feature = "runtime-benchmarks")]
pub struct BenchmarkHelpers;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_market::BenchmarkHelper<AccountId> for BenchmarkHelpers {
	fn register_provider(
		who: &AccountId,
		profile: stratus_primitives::CapabilityProfile,
		slots: u32,
	) {
		Staking::register_for_benchmarks(who, profile, slots);
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_verification::BenchmarkHelper<AccountId> for BenchmarkHelpers {
	fn open_replica(
		replication: u8,
		revealing: bool,
	) -> (stratus_primitives::JobId, stratus_primitives::ReplicaIndex, AccountId, AccountId) {
		Market::prepare_for_benchmarks(replication, revealing)
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_slashing::BenchmarkHelper<AccountId> for BenchmarkHelpers {
	fn stake(who: &AccountId, slots: u32) {
		let profile = stratus_primitives::CapabilityProfile::cpu_only(1, 1024, 0);
		Staking::register_for_benchmarks(who, profile, slots);
	}
}

/// Blocks from a slash's report to its application (long, so that only the tests about slashing
/// see slashes applied).
pub const SLASH_DEFER: u64 = 200;

parameter_types! {
	pub SlashDefaults: pallet_slashing::SlashParams<u64> = pallet_slashing::SlashParams {
		missed_ack: Perbill::from_percent(1),
		missed_commit: Perbill::from_percent(5),
		missed_reveal: Perbill::from_percent(10),
		wrong_result: Perbill::from_percent(50),
		defer_period: SLASH_DEFER,
		requester_share: Perbill::from_percent(50),
		honest_share: Perbill::from_percent(30),
	};
	pub const SlashWeight: Weight = Weight::MAX;
}

parameter_types! {
	pub const DecayKeep: Perbill = Perbill::from_percent(90);
}

parameter_types! {
	pub const TrustThreshold: Perbill = Perbill::from_percent(90);
	pub const SpotCheckFloor: Perbill = Perbill::from_percent(10);
}

impl pallet_reputation::Config for Test {
	type DecayPeriod = ConstU32<1000>;
	type DecayKeep = DecayKeep;
	type WrongWeight = ConstU32<4>;
	type TrustThreshold = TrustThreshold;
	type SpotCheckScale = ConstU32<10>;
	type SpotCheckFloor = SpotCheckFloor;
}

std::thread_local! {
	/// The randomness the market gets, when a test fixes it.
	static RANDOM: core::cell::Cell<Option<H256>> = const { core::cell::Cell::new(None) };
}

/// Fix the randomness the market gets (`None`: the parent block's hash, as in the runtime).
pub fn set_random(seed: Option<H256>) {
	RANDOM.with(|r| r.set(seed));
}

/// Randomness that spot-checks every job run alone (a roll of 0 is under any rate).
pub fn always_spot_check() {
	set_random(Some(H256::zero()));
}

/// Randomness that spares every job run alone whose rate is under 100% (a roll of 99.9999999%).
pub fn never_spot_check() {
	let mut seed = [0u8; 32];
	seed[..4].copy_from_slice(&999_999_999u32.to_le_bytes());
	set_random(Some(H256(seed)));
}

/// The market's randomness in tests: fixed by [`set_random`], or the parent block's hash.
pub struct TestRandomness;

impl pallet_market::SealedRandomness<u64> for TestRandomness {
	fn of_block(subject: &[u8], block: u64) -> Option<H256> {
		match RANDOM.with(|r| r.get()) {
			Some(seed) => Some(seed),
			None => pallet_market::BlockHashRandomness::<Test>::of_block(subject, block),
		}
	}

	fn of_hash(subject: &[u8], hash: H256) -> H256 {
		RANDOM
			.with(|r| r.get())
			.unwrap_or_else(|| pallet_market::BlockHashRandomness::<Test>::of_hash(subject, hash))
	}
}

impl frame_support::traits::Randomness<H256, u64> for TestRandomness {
	fn random(subject: &[u8]) -> (H256, u64) {
		match RANDOM.with(|r| r.get()) {
			Some(seed) => (seed, System::block_number()),
			None => pallet_market::BlockHashRandomness::<Test>::random(subject),
		}
	}
}

impl pallet_slashing::Config for Test {
	type Currency = Balances;
	type Stake = Staking;
	type CancelOrigin = frame_system::EnsureRoot<AccountId>;
	type ParamsOrigin = frame_system::EnsureRoot<AccountId>;
	type DefaultParams = SlashDefaults;
	type FeeAccount = FeeAccount;
	type MinDeferPeriod = ConstU64<1>;
	type MaxDeferPeriod = ConstU64<1000>;
	type MaxHonest = ConstU32<8>;
	type MaxSlashHistory = ConstU32<8>;
	type MaxApplyWeight = SlashWeight;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = BenchmarkHelpers;
}

/// Where protocol fees go.
pub const FEE_ACCOUNT: AccountId = 999;
/// The acknowledgement window.
pub const ACK: u64 = 3;
/// The reveal window.
pub const REVEAL: u64 = 4;

parameter_types! {
	pub const FeeAccount: AccountId = FEE_ACCOUNT;
	pub const Fee: Perbill = Perbill::from_percent(10);
	pub const DeadlineWeight: Weight = Weight::MAX;
	/// Referees a dispute calls: two, or what a test sets.
	pub storage Referees: u8 = 2;
	/// The chance a replicated job is spot-checked: never, unless a test sets it.
	pub storage ReplicatedSpotCheck: Perbill = Perbill::zero();
}

impl pallet_market::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Providers = Staking;
	type Verifier = Verification;
	type OnDispute = ();
	type OnOffence = Slashing;
	type Reputation = Reputation;
	type Randomness = TestRandomness;
	type Referees = Referees;
	type ReplicatedSpotCheck = ReplicatedSpotCheck;
	type FeeDestination = ResolveTo<FeeAccount, Balances>;
	type ProtocolFee = Fee;
	type MinJobValue = ConstU128<100>;
	type JobDeposit = ConstU128<5>;
	type MaxRestingJobs = ConstU32<64>;
	type ProgramDepositBase = ConstU128<10>;
	type ProgramDepositPerByte = ConstU128<1>;
	type MaxProgramSize = ConstU32<1024>;
	type MaxInlineInput = ConstU32<256>;
	type MaxOutputBytes = ConstU32<{ 1 << 20 }>;
	type MaxUrlLength = ConstU32<64>;
	type MaxRequirementItems = ConstU32<4>;
	type MaxReplication = ConstU8<5>;
	type MaxReplicasPerJob = ConstU32<10>;
	type MaxOffersPerProvider = ConstU32<4>;
	type MaxSlotsPerOffer = ConstU32<16>;
	type MaxMatchScan = ConstU32<32>;
	type MaxDeadlineWeight = DeadlineWeight;
	type AckWindow = ConstU64<ACK>;
	type RevealWindow = ConstU64<REVEAL>;
	type MaxJobDuration = ConstU64<1000>;
	type RecordRetention = ConstU64<20>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = BenchmarkHelpers;
}

/// Requesters: accounts 1..=9. Providers: accounts 10..=29 (their worker keys are `+100`).
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
/// Every endowed account's starting balance.
pub const ENDOWMENT: Balance = 1_000_000;

/// A CPU-only profile in `region`.
pub fn cpu_profile(region: u16) -> CapabilityProfile {
	CapabilityProfile::cpu_only(16, 32_768, region)
}

/// A GPU profile: one class of `model` with `vram_mib` and compute capability `cc`.
pub fn gpu_profile(model: &str, vram_mib: u32, cc: u16) -> CapabilityProfile {
	CapabilityProfile {
		kinds: BoundedVec::truncate_from(vec![JobKind::Wasm, JobKind::Cuda]),
		gpus: BoundedVec::truncate_from(vec![GpuSpec {
			model: BoundedVec::truncate_from(model.as_bytes().to_vec()),
			vram_mib,
			compute_capability: cc,
			driver_version: 55054,
			cuda_version: 12040,
			count: 1,
		}]),
		cpu_cores: 32,
		memory_mib: 65_536,
		region: 276,
		endpoint: None,
	}
}

/// Register `provider` (worker key `provider + 100`) with `profile`, staked for `slots` slots.
pub fn register(provider: AccountId, profile: CapabilityProfile, slots: u32) {
	// The worker key's consent to sign for the provider.
	let genesis = pallet_provider_staking::Pallet::<Test>::genesis_hash();
	let proof = sp_runtime::testing::TestSignature(
		provider + 100,
		stratus_primitives::worker_key_payload(&provider, &genesis),
	);
	frame_support::assert_ok!(Staking::register(
		RuntimeOrigin::signed(provider),
		provider + 100,
		profile,
		STAKE_PER_SLOT * Balance::from(slots),
		Some(proof),
	));
}

/// A minimal WASM module (the magic and version only).
pub fn wasm_code() -> Vec<u8> {
	b"\0asm\x01\0\0\0".to_vec()
}

/// Register a minimal WASM program from `owner`; returns its hash.
pub fn register_wasm(owner: AccountId) -> H256 {
	frame_support::assert_ok!(Market::register_program(
		RuntimeOrigin::signed(owner),
		JobKind::Wasm,
		wasm_code()
	));
	H256(sp_io::hashing::blake2_256(&wasm_code()))
}

/// Advance to block `n`, running the market's block-start hook on the way.
/// The hash block `n` gets in tests once its successor starts (as `frame_system` stores a
/// block's parent hash).
pub fn sealed_hash(n: u64) -> H256 {
	H256(sp_io::hashing::blake2_256(&(b"test block", n).encode()))
}

/// Start the next block as `frame_system` would: its parent's hash stored, its number set.
pub fn start_block(next: u64) {
	frame_system::BlockHash::<Test>::insert(next - 1, sealed_hash(next - 1));
	System::set_block_number(next);
}

pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		start_block(next);
		Market::on_initialize(next);
		Slashing::on_initialize(next);
	}
}

/// The market events since the last call.
pub fn market_events() -> Vec<pallet_market::Event<Test>> {
	let events = System::events()
		.into_iter()
		.filter_map(|r| if let RuntimeEvent::Market(e) = r.event { Some(e) } else { None })
		.collect();
	System::reset_events();
	events
}

#[derive(Default)]
pub struct ExtBuilder;

impl ExtBuilder {
	pub fn build(self) -> sp_io::TestExternalities {
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		let mut balances: Vec<(AccountId, Balance)> =
			(1..=29).chain(110..=129).map(|a| (a, ENDOWMENT)).collect();
		balances.push((FEE_ACCOUNT, 1));
		pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
			.assimilate_storage(&mut storage)
			.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| System::set_block_number(1));
		ext
	}

	/// Run `test`, then check every pallet's invariants.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			Market::do_try_state().expect("market invariants hold");
			Staking::do_try_state().expect("staking invariants hold");
			Slashing::do_try_state().expect("slashing invariants hold");
		});
	}
}

/// The total of free and held balance of `who`.
pub fn total(who: AccountId) -> Balance {
	use frame_support::traits::fungible::Inspect;
	Balances::total_balance(&who)
}

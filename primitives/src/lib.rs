//! # Stratus primitives
//!
//! The vocabulary the Stratus pallets share, and the small traits through which they talk. The
//! pallets never name each other: `pallet-market` asks a [`ProviderRegistry`] about providers and
//! a [`Verifier`] about results; `pallet-verification` tells the market about commits and reveals
//! through [`ReplicaResults`]; the runtime wires the real pallets behind these traits.
//!
//! Everything here is `no_std` and bounded, so it can be stored on chain as it is.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H256};
use sp_runtime::{BoundedVec, DispatchResult};

/// The native token's symbol.
pub const TOKEN_SYMBOL: &str = "STRAT";
/// The native token's decimals: one STRAT is `10^12` of the smallest unit (planck).
pub const TOKEN_DECIMALS: u8 = 12;
/// Planck in one STRAT (`10^TOKEN_DECIMALS`).
pub const PLANCK_PER_STRAT: u128 = 1_000_000_000_000;
/// The SS58 address prefix of Stratus accounts.
pub const SS58_PREFIX: u16 = 7007;

/// A job's identifier, assigned by the market in submission order.
pub type JobId = u64;
/// An offer's identifier, assigned by the market in posting order.
pub type OfferId = u64;
/// The index of a replica within its job: `0, 1, …` in assignment order; a reissued replica gets
/// a fresh index, so an index names one assignment for the job's whole life.
pub type ReplicaIndex = u8;
/// A region code chosen by the network (ISO 3166-1 numeric country codes by convention).
pub type RegionCode = u16;

/// Longest GPU model name, in bytes (`"NVIDIA H100 80GB HBM3"` is 21).
pub const MAX_GPU_MODEL_LEN: u32 = 48;
/// Most GPU classes one provider declares.
pub const MAX_GPU_CLASSES: u32 = 8;
/// Longest result endpoint URL, in bytes.
pub const MAX_ENDPOINT_LEN: u32 = 256;

/// What kind of program a job runs, and so which executor a worker needs.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum JobKind {
	/// A WebAssembly module run by the worker's sandbox (wasmtime) on CPU.
	Wasm,
	/// A CUDA program (source or PTX) run on one of the provider's GPUs.
	Cuda,
}

/// A GPU model name as the driver reports it, e.g. `NVIDIA H100 80GB HBM3`.
pub type GpuModel = BoundedVec<u8, ConstU32<MAX_GPU_MODEL_LEN>>;

/// One class of identical GPUs in a provider's machine.
#[derive(
	Clone, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, PartialEq, Eq, Debug,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct GpuSpec {
	/// The model name as the driver reports it.
	pub model: GpuModel,
	/// Memory per GPU, in MiB.
	pub vram_mib: u32,
	/// CUDA compute capability as `major * 10 + minor` (9.0 → `90`).
	pub compute_capability: u16,
	/// Driver version as `major * 100 + minor` (550.54 → `55054`).
	pub driver_version: u32,
	/// Highest CUDA version the driver supports as `major * 1000 + minor * 10` (12.4 → `12040`).
	pub cuda_version: u32,
	/// How many GPUs of this class the machine has.
	pub count: u8,
}

/// What a provider's machine can do; matching reads it to decide which jobs an offer may serve.
#[derive(
	Clone, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, PartialEq, Eq, Debug,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct CapabilityProfile {
	/// The job kinds the provider's worker runs.
	pub kinds: BoundedVec<JobKind, ConstU32<2>>,
	/// The provider's GPU classes; offers for GPU work name one by its index here.
	pub gpus: BoundedVec<GpuSpec, ConstU32<MAX_GPU_CLASSES>>,
	/// CPU cores available to jobs.
	pub cpu_cores: u16,
	/// Memory available to jobs, in MiB.
	pub memory_mib: u32,
	/// Where the machine is.
	pub region: RegionCode,
	/// An HTTP(S) endpoint the worker serves results on, if it serves them.
	pub endpoint: Option<BoundedVec<u8, ConstU32<MAX_ENDPOINT_LEN>>>,
}

impl CapabilityProfile {
	/// A machine without GPUs that runs WASM jobs, with no result endpoint.
	pub fn cpu_only(cpu_cores: u16, memory_mib: u32, region: RegionCode) -> Self {
		Self {
			kinds: BoundedVec::truncate_from(alloc::vec![JobKind::Wasm]),
			gpus: Default::default(),
			cpu_cores,
			memory_mib,
			region,
			endpoint: None,
		}
	}

	/// Whether the provider runs jobs of `kind`.
	pub fn supports(&self, kind: JobKind) -> bool {
		self.kinds.contains(&kind)
	}
}

/// What matching needs to know about a registered provider, read in one go.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Standing<Balance> {
	/// The provider's capability profile.
	pub profile: CapabilityProfile,
	/// Its active stake.
	pub stake: Balance,
	/// Whether that stake covers the slots reserved against it.
	pub slots_covered: bool,
}

/// What an offer sells: CPU time for WASM jobs, or time on one of the provider's GPU classes.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	PartialEq,
	Eq,
	Debug,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum ResourceClass {
	/// CPU slots, serving `JobKind::Wasm` jobs.
	Cpu,
	/// Slots on the GPU class at this index of the provider's profile, serving `JobKind::Cuda`.
	Gpu(u8),
}

impl ResourceClass {
	/// The job kind this class serves.
	pub fn kind(&self) -> JobKind {
		match self {
			ResourceClass::Cpu => JobKind::Wasm,
			ResourceClass::Gpu(_) => JobKind::Cuda,
		}
	}
}

/// The provider registry as the market sees it (implemented by `pallet-provider-staking`).
///
/// A provider is known by its operator account; its worker key may sign for it. Every offered slot
/// must be covered by stake: the registry counts the slots the market holds against each provider
/// (`reserve_slots` / `release_slots`) and refuses a reservation the stake does not cover.
pub trait ProviderRegistry<AccountId, Balance> {
	/// The provider's capability profile, if `who` is a registered (not leaving) provider.
	fn profile(who: &AccountId) -> Option<CapabilityProfile>;
	/// The provider's active (bonded, not unbonding) stake; zero for unknown accounts.
	fn stake(who: &AccountId) -> Balance;
	/// Profile, stake and whether the stake covers the reserved slots, for a registered (not
	/// leaving) provider: what matching checks for every offer it looks at, in one read.
	fn standing(who: &AccountId) -> Option<Standing<Balance>>;
	/// The provider `signer` acts for: itself when it is a provider's operator account, or the
	/// operator whose worker key it is.
	fn provider_of(signer: &AccountId) -> Option<AccountId>;
	/// Slots the market currently holds against the provider's stake.
	fn reserved_slots(who: &AccountId) -> u32;
	/// Whether the provider is registered and its stake covers its reserved slots plus `extra`.
	fn can_serve(who: &AccountId, extra: u32) -> bool;
	/// Reserve `slots` more slots against the provider's stake; fails when the provider is not
	/// registered or the stake does not cover them.
	fn reserve_slots(who: &AccountId, slots: u32) -> DispatchResult;
	/// Give back `slots` slots (saturating at zero).
	fn release_slots(who: &AccountId, slots: u32);
	/// Register `who` as a provider with `profile`, staked for `slots` slots (benchmarks only).
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmarks(who: &AccountId, profile: CapabilityProfile, slots: u32);
}

/// How the verification pallet reports commits and reveals to the market (implemented by
/// `pallet-market`). Each method checks that `signer` may act for the replica's provider and that
/// the replica is in a state that allows the step, records it, and moves the job on.
pub trait ReplicaResults<AccountId> {
	/// The provider of `replica` committed its result, having used `units` compute units.
	fn on_commit(
		job: JobId,
		replica: ReplicaIndex,
		signer: &AccountId,
		units: u64,
	) -> DispatchResult;
	/// The provider of `replica` revealed `digest`, which matches its commitment.
	fn on_reveal(
		job: JobId,
		replica: ReplicaIndex,
		signer: &AccountId,
		digest: H256,
	) -> DispatchResult;
	/// Put a job in the state where `replica` can commit (`revealing = false`) or reveal
	/// (`revealing = true`) and the reveal completes the job with `replication` replicas; return
	/// the account that signs for the replica (benchmarks only).
	#[cfg(feature = "runtime-benchmarks")]
	fn prepare_for_benchmarks(replication: u8, revealing: bool)
		-> (JobId, ReplicaIndex, AccountId);
}

/// The outcome of comparing a job's revealed digests.
#[derive(Clone, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
pub enum Verdict {
	/// The replicas in `agreeing` revealed `digest`, and they are a quorum.
	Canonical { digest: H256, agreeing: Vec<ReplicaIndex> },
	/// Reveals disagree and no digest has a quorum.
	Disputed,
	/// Too few reveals to decide, and none disagree.
	Inconclusive,
}

/// Decides a job's canonical result from its reveals (implemented by `pallet-verification`): the
/// seam where escalation, adaptive replication and referees plug in later.
pub trait Verifier {
	/// Judge the reveals of a job that asked for `replication` agreeing replicas.
	fn judge(replication: u8, reveals: &[(ReplicaIndex, H256)]) -> Verdict;
	/// Forget whatever is stored about `job` (its commitments); called when the job ends.
	fn forget(job: JobId);
}

/// Told when a job ends disputed, with the reveals that disagreed.
pub trait OnDispute {
	/// `job` ended without a quorum.
	fn on_dispute(job: JobId, reveals: &[(ReplicaIndex, H256)]);
}

impl OnDispute for () {
	fn on_dispute(_: JobId, _: &[(ReplicaIndex, H256)]) {}
}

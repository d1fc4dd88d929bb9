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

pub mod market;

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H256};
use sp_runtime::{BoundedVec, DispatchError, DispatchResult};

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
	Default,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum JobKind {
	/// A WebAssembly module run by the worker's sandbox (wasmtime) on CPU: the default, the kind
	/// every provider serves.
	#[default]
	Wasm,
	/// A CUDA program (source or PTX) run on one of the provider's GPUs.
	Cuda,
}

impl JobKind {
	/// The kind's name in manifests, the CLI's output and the worker's records.
	pub const fn name(&self) -> &'static str {
		match self {
			JobKind::Wasm => "wasm",
			JobKind::Cuda => "cuda",
		}
	}

	/// The kind a name (any case) names: `wasm` or `cuda`.
	pub fn from_name(name: &str) -> Option<Self> {
		[JobKind::Wasm, JobKind::Cuda].into_iter().find(|k| k.name().eq_ignore_ascii_case(name))
	}
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
	/// Its active stake that no pending slash has frozen: what backs new work (and weighs in
	/// verifier draws).
	pub stake: Balance,
	/// Whether that stake covers the slots reserved against it: a provider whose pending slashes
	/// leave its slots uncovered is passed over until they are applied or cancelled (or it bonds
	/// more), so it cannot keep taking work while its stake is already spoken for.
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
	Hash,
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
}

/// The domain tag that starts every commitment's preimage (see [`commitment`]).
pub const COMMIT_DOMAIN: [u8; 17] = *b"stratus/commit/v1";

/// The commitment a replica's provider submits before anything of its job's results is public:
///
/// ```text
/// blake2_256("stratus/commit/v1" ‖ genesis ‖ job ‖ replica ‖ provider ‖ units ‖ digest ‖ salt)
/// ```
///
/// with `genesis` the chain's genesis hash (32 bytes), `job` and `units` as 8 little-endian
/// bytes, `replica` one byte, `provider` the SCALE encoding of the replica's provider (operator)
/// account (an `AccountId32` is its 32 bytes), `digest` the output's blake2-256 and `salt` 32
/// random bytes — exactly the SCALE encoding of that tuple. It binds the network, the job, the
/// replica, who did the work and how much, so a commitment copied from another replica, another
/// job or another chain never opens for the copier. The verification pallet recomputes it at
/// reveal time with the replica's own provider; the worker and the tests call this function, so
/// the rule has one owner.
pub fn commitment<AccountId: Encode>(
	genesis: &[u8; 32],
	job: JobId,
	replica: ReplicaIndex,
	provider: &AccountId,
	units: u64,
	digest: &H256,
	salt: &[u8; 32],
) -> H256 {
	let preimage = (COMMIT_DOMAIN, genesis, job, replica, provider, units, digest, salt).encode();
	H256(sp_crypto_hashing::blake2_256(&preimage))
}

/// The output a job that failed commits to: `stratus-failure/1 <kind>` (ASCII), only the kind of
/// failure, never its message, so that honest replicas that fail the same way commit the same
/// digest (`docs/job-abi.md`, "Failures"). Deterministic failures are results like any other:
/// verified by the quorum and paid for the units they used.
pub fn failure_output(kind: &str) -> Vec<u8> {
	let mut output = b"stratus-failure/1 ".to_vec();
	output.extend_from_slice(kind.as_bytes());
	output
}

/// The memory a WASM job runs with when its requirements name none (`min_memory_mib` = 0), in
/// MiB.
pub const DEFAULT_JOB_MEMORY_MIB: u32 = 256;

/// The most memory a WASM job can use, in MiB: a 32-bit linear memory's 4 GiB.
pub const MAX_JOB_MEMORY_MIB: u32 = 4096;

/// The memory limit of a WASM job whose requirements ask for `min_memory_mib`: its linear
/// memory and its output together may use this much, on every provider alike (a job's limits
/// are part of the job, so honest replicas cannot disagree because their hosts differ). A
/// worker that cannot give a job this much declines it.
pub fn job_memory_mib(min_memory_mib: u32) -> u32 {
	match min_memory_mib {
		0 => DEFAULT_JOB_MEMORY_MIB,
		asked => asked.min(MAX_JOB_MEMORY_MIB),
	}
}

/// The failure kind of a job that ran past its wall-clock limit.
pub const TIMEOUT_FAILURE: &str = "timeout";

/// The digest of the timeout failure record. A wall-clock timeout depends on the provider's
/// machine, so it is not a verifiable result: a replica that reveals it abstains. It is not
/// counted for or against a quorum, not paid and not held against the provider's result.
pub fn timeout_digest() -> H256 {
	H256(sp_crypto_hashing::blake2_256(&failure_output(TIMEOUT_FAILURE)))
}

/// Whether a revealed digest abstains from its quorum: the timeout record
/// ([`timeout_digest`]) is no result to agree with or to dispute, is not paid and is no offence.
/// The one owner of that rule: the verifier leaves abstentions out of its verdict, and the market
/// treats a round with one as short of reveals.
pub fn abstains(digest: &H256) -> bool {
	*digest == timeout_digest()
}

/// How a job's result is verified: the manifest's `policy` (the default is `adaptive`).
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
	Default,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum VerificationPolicy {
	/// One replica and no check: the cheapest, and nothing verifies the result. An explicit
	/// opt-in.
	Unverified,
	/// `n` (at least 2) distinct providers; all of them agree below three, a strict majority
	/// decides from three on; no majority escalates to referee replicas.
	Replicated(u8),
	/// A provider with a long record runs the job alone and the chain decides after its
	/// commitment, at random, whether to spot-check it with a second replica; other providers get
	/// a second replica always. Disagreement escalates to referees.
	#[default]
	Adaptive,
}

impl VerificationPolicy {
	/// The replicas the job's first round asks for (an adaptive job may add a second).
	pub fn first_round(&self) -> u8 {
		match self {
			Self::Unverified | Self::Adaptive => 1,
			Self::Replicated(n) => *n,
		}
	}

	/// The most replicas the job can pay, with `referees` referee replicas after a dispute: what
	/// its escrow holds (its worst case), the rest refunded at its end. A replicated job may be
	/// spot-checked by one more replica.
	pub fn most_paid(&self, referees: u8) -> u8 {
		match self {
			Self::Unverified => 1,
			Self::Replicated(n) => n.saturating_add(1).saturating_add(referees),
			Self::Adaptive => 2u8.saturating_add(referees),
		}
	}

	/// Whether a disagreement escalates to referees.
	pub fn escalates(&self) -> bool {
		!matches!(self, Self::Unverified)
	}
}

/// The first `N` bytes of `bytes` (zeros past its end): a fixed-size piece of a hash, for the
/// random numbers and genesis hashes the pallets read from hashes.
pub fn leading_bytes<const N: usize>(bytes: &[u8]) -> [u8; N] {
	let mut out = [0u8; N];
	for (o, b) in out.iter_mut().zip(bytes) {
		*o = *b;
	}
	out
}

/// The domain of a worker key's consent ([`worker_key_payload`]).
pub const WORKER_KEY_DOMAIN: &[u8] = b"stratus/worker-key/v1";

/// What a worker key signs to agree to sign for `operator` on the chain with genesis hash
/// `genesis`: the SCALE encoding of `(WORKER_KEY_DOMAIN, operator, genesis)`. `ProviderStaking`
/// asks for it at `register` and `rotate_worker_key` (unless the key is the operator itself), so
/// nobody can register someone else's account as its worker key (finding M-9); the worker signs
/// it with this function.
pub fn worker_key_payload<AccountId: Encode>(operator: &AccountId, genesis: &[u8; 32]) -> Vec<u8> {
	(WORKER_KEY_DOMAIN, operator, genesis).encode()
}

/// How the verification pallet reports commits and reveals to the market (implemented by
/// `pallet-market`). Each method checks that `signer` may act for the replica's provider and that
/// the replica is in a state that allows the step, records it, and moves the job on.
pub trait ReplicaResults<AccountId> {
	/// The provider (operator account) of `replica` of a job that has not ended, when `signer`
	/// may act for it (the operator itself or its worker key). Fails with the market's error
	/// for an unknown or ended job, an unknown replica, or a signer that is not its provider.
	fn replica_provider(
		job: JobId,
		replica: ReplicaIndex,
		signer: &AccountId,
	) -> Result<AccountId, DispatchError>;
	/// The provider of `replica` committed its result. A commit of a replica still waiting for
	/// its acknowledgement acknowledges it first (the result is there: the work was taken on).
	/// Returns the weight the market used beyond the benchmarked commit: the implied
	/// acknowledgement and the verifier it may draw, at most [`Self::commit_extra_weight`].
	fn on_commit(
		job: JobId,
		replica: ReplicaIndex,
		signer: &AccountId,
	) -> Result<sp_runtime::Weight, DispatchError>;
	/// The most weight a commit can cost the market beyond its benchmarked step: the
	/// acknowledgement it implies and the missing verifier that draws. The verification pallet
	/// adds it to `commit`'s declared weight.
	fn commit_extra_weight() -> sp_runtime::Weight;
	/// The provider of `replica` revealed `digest` and `units`, which open its commitment.
	fn on_reveal(
		job: JobId,
		replica: ReplicaIndex,
		signer: &AccountId,
		digest: H256,
		units: u64,
	) -> DispatchResult;
	/// The most weight a reveal can cost the market beyond its benchmarked settlement: the
	/// reveal that completes a disputed round calls referees, and drawing them walks the book.
	/// The verification pallet adds it to `reveal`'s declared weight.
	fn reveal_extra_weight() -> sp_runtime::Weight;
}

/// One replica's revealed result: its output's digest and the compute units it reports.
#[derive(Clone, Copy, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
pub struct Reveal {
	/// The replica.
	pub replica: ReplicaIndex,
	/// The blake2-256 of its output (or of its failure record).
	pub digest: H256,
	/// The compute units it used.
	pub units: u64,
}

/// The outcome of comparing a job's revealed results.
#[derive(Clone, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
pub enum Verdict {
	/// The replicas in `agreeing` revealed `digest` (and, for WASM, `units`), and they are a
	/// quorum; the job pays `units` per agreeing replica. The replicas in `outvoted` revealed
	/// another result (abstentions, [`abstains`], are in neither list).
	Canonical { digest: H256, units: u64, agreeing: Vec<ReplicaIndex>, outvoted: Vec<ReplicaIndex> },
	/// Reveals disagree and no result has a quorum.
	Disputed,
	/// Too few reveals to decide, and none disagree.
	Inconclusive,
}

/// Decides a job's canonical result from its reveals (implemented by `pallet-verification`): the
/// seam where escalation, adaptive replication and referees plug in.
pub trait Verifier {
	/// Judge the reveals of a job of `kind` that asked for `replication` agreeing replicas.
	fn judge(kind: JobKind, replication: u8, reveals: &[Reveal]) -> Verdict;
	/// Whether `reveal` reports the canonical result `digest` and `units` of a job of `kind` (the
	/// same rule as the quorum's): how a dispute's replicas are held against its referees.
	fn agrees(kind: JobKind, digest: H256, units: u64, reveal: &Reveal) -> bool;
	/// Forget whatever is stored about `job` (its commitments); called when the job ends or a
	/// new round of its replicas starts.
	fn forget(job: JobId);
}

/// What a provider did wrong in the market; each slashes a share of the stake behind one slot
/// (`pallet-slashing`, parameters set by governance).
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
pub enum OffenceKind {
	/// A replica was assigned and not acknowledged (nor declined) before its deadline.
	MissedAck,
	/// A replica was acknowledged and did not commit before its commit deadline.
	MissedCommit,
	/// A replica committed and did not reveal before the reveal window closed.
	MissedReveal,
	/// A replica revealed a result (digest or units) outside the verified quorum.
	WrongResult,
}

/// One offence, as the market reports it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Offence<AccountId> {
	/// The provider (operator account) that committed it.
	pub provider: AccountId,
	/// The job.
	pub job: JobId,
	/// The replica.
	pub replica: ReplicaIndex,
	/// What it did.
	pub kind: OffenceKind,
	/// The job's requester, compensated first from the slash.
	pub requester: AccountId,
	/// The providers of the job the offence harmed that did their part (the quorum that
	/// outvoted a wrong result; the replicas that revealed in a round a missing reveal left
	/// without a verdict), compensated next.
	pub honest: Vec<AccountId>,
}

/// Told about every offence (implemented by `pallet-slashing`).
pub trait OnOffence<AccountId> {
	/// `offence` happened.
	fn on_offence(offence: Offence<AccountId>);
}

impl<AccountId> OnOffence<AccountId> for () {
	fn on_offence(_: Offence<AccountId>) {}
}

/// The stake behind providers' slots, as the slashing pallet sees it (implemented by
/// `pallet-provider-staking`). A pending slash *freezes* stake: frozen stake can neither unbond
/// nor be withdrawn until the slash is applied (it is then taken) or cancelled (it is thawed).
pub trait StakeManager<AccountId, Balance> {
	/// The stake that backs one slot (`MinStakePerSlot`).
	fn slot_stake() -> Balance;
	/// Freeze up to `amount` of `who`'s held stake (active and unbonding) that is not frozen
	/// yet; returns what was frozen.
	fn freeze(who: &AccountId, amount: Balance) -> Balance;
	/// Thaw `amount` of `who`'s frozen stake (saturating).
	fn thaw(who: &AccountId, amount: Balance);
	/// Take up to `amount` of `who`'s frozen stake and pay it to `to`'s free balance; returns
	/// what was paid.
	fn slash(who: &AccountId, amount: Balance, to: &AccountId) -> Balance;
	/// `who`'s frozen stake.
	fn frozen(who: &AccountId) -> Balance;
}

/// What happened to one replica's result, as reputation records it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ResultOutcome {
	/// It agreed with the verified quorum.
	Agreed,
	/// It was outside a verified quorum.
	Outvoted,
	/// The replica missed a deadline.
	Missed,
	/// The job's replicas disagreed without a quorum.
	Disputed,
}

/// Providers' reputation as the market sees it (implemented by `pallet-reputation`).
pub trait ReputationProvider<AccountId> {
	/// `provider`'s score for jobs of `kind`, in `(0, 1)`; a newcomer has ½.
	fn score(provider: &AccountId, kind: JobKind) -> sp_runtime::Perbill;
	/// `provider`'s results in a row for jobs of `kind` that agreed with their quorum.
	fn consecutive_valid(provider: &AccountId, kind: JobKind) -> u32;
	/// Record what happened to one of `provider`'s results for a job of `kind`.
	fn record_result(provider: &AccountId, kind: JobKind, outcome: ResultOutcome);
	/// For an `adaptive` job: `Some(rate)` when `provider` is trusted to run a job of `kind` alone,
	/// spot-checked with probability `rate` (which falls with its record, never below a floor);
	/// `None` when the job needs a second replica.
	fn spot_check_rate(provider: &AccountId, kind: JobKind) -> Option<sp_runtime::Perbill>;
}

impl<AccountId> ReputationProvider<AccountId> for () {
	fn score(_: &AccountId, _: JobKind) -> sp_runtime::Perbill {
		sp_runtime::Perbill::from_percent(50)
	}
	fn consecutive_valid(_: &AccountId, _: JobKind) -> u32 {
		0
	}
	fn record_result(_: &AccountId, _: JobKind, _: ResultOutcome) {}
	fn spot_check_rate(_: &AccountId, _: JobKind) -> Option<sp_runtime::Perbill> {
		None
	}
}

/// Told when a job ends disputed, with the reveals that disagreed.
pub trait OnDispute {
	/// `job` ended without a quorum.
	fn on_dispute(job: JobId, reveals: &[Reveal]);
}

impl OnDispute for () {
	fn on_dispute(_: JobId, _: &[Reveal]) {}
}

#[cfg(test)]
mod tests {
	use super::*;

	const GENESIS: [u8; 32] = [7; 32];

	fn commit(job: JobId, replica: ReplicaIndex, provider: [u8; 32], units: u64, d: u8) -> H256 {
		commitment(&GENESIS, job, replica, &provider, units, &H256([d; 32]), &[9; 32])
	}

	#[test]
	fn the_preimage_is_the_documented_concatenation() {
		let mut preimage = b"stratus/commit/v1".to_vec();
		preimage.extend_from_slice(&GENESIS);
		preimage.extend_from_slice(&5u64.to_le_bytes());
		preimage.push(2);
		preimage.extend_from_slice(&[1; 32]);
		preimage.extend_from_slice(&1234u64.to_le_bytes());
		preimage.extend_from_slice(&[3; 32]);
		preimage.extend_from_slice(&[9; 32]);
		assert_eq!(preimage.len(), 162);
		assert_eq!(commit(5, 2, [1; 32], 1234, 3), H256(sp_crypto_hashing::blake2_256(&preimage)));
	}

	#[test]
	fn every_field_is_bound() {
		let base = commit(5, 2, [1; 32], 1234, 3);
		assert_ne!(base, commit(6, 2, [1; 32], 1234, 3), "job");
		assert_ne!(base, commit(5, 3, [1; 32], 1234, 3), "replica");
		assert_ne!(base, commit(5, 2, [2; 32], 1234, 3), "provider");
		assert_ne!(base, commit(5, 2, [1; 32], 1235, 3), "units");
		assert_ne!(base, commit(5, 2, [1; 32], 1234, 4), "digest");
		let other_chain = commitment(&[8; 32], 5, 2, &[1u8; 32], 1234, &H256([3; 32]), &[9; 32]);
		assert_ne!(base, other_chain, "genesis");
		let other_salt = commitment(&GENESIS, 5, 2, &[1u8; 32], 1234, &H256([3; 32]), &[0; 32]);
		assert_ne!(base, other_salt, "salt");
	}

	#[test]
	fn a_job_kind_reads_back_from_its_name_in_any_case_and_nothing_else() {
		for kind in [JobKind::Wasm, JobKind::Cuda] {
			assert_eq!(JobKind::from_name(kind.name()), Some(kind));
			assert_eq!(JobKind::from_name(&kind.name().to_uppercase()), Some(kind));
		}
		assert_eq!((JobKind::Wasm.name(), JobKind::Cuda.name()), ("wasm", "cuda"));
		assert_eq!(JobKind::from_name("opencl"), None);
		assert_eq!(JobKind::from_name(""), None);
	}
}

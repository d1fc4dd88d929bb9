//! The market's records: programs, offers, jobs and their replicas, and the call arguments they
//! are made from.

use crate::{BalanceOf, Config};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::{BoundedVec, ConstU32},
	traits::Get,
	CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::traits::Saturating;
pub use stratus_primitives::market::{JobPhase, Missed, ReplicaState, Role, SpotCheck};
use stratus_primitives::{
	GpuModel, JobId, JobKind, OfferId, RegionCode, ReplicaIndex, ResourceClass, VerificationPolicy,
};

/// A registered program.
#[derive(Clone, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEq, Eq, Debug)]
pub struct ProgramInfo<AccountId, Balance, BlockNumber> {
	/// Who registered it and holds its deposit.
	pub owner: AccountId,
	/// Which executor runs it.
	pub kind: JobKind,
	/// Its size in bytes.
	pub len: u32,
	/// The deposit held from `owner`, returned when the program is removed.
	pub deposit: Balance,
	/// Set by its owner's first `remove_program`: no job may be submitted with it since, and from
	/// this block on, when every job that could run it is past its deadline, the owner's next
	/// `remove_program` deletes it and returns the deposit. Retiring costs jobs nothing: no job
	/// writes the program's record (a use count would cost every job two writes).
	pub removable_at: Option<BlockNumber>,
}

/// An offer (ask): slots of one resource class at a price per compute unit, until `expires_at`.
#[derive(
	CloneNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Offer<T: Config> {
	/// The provider (operator account) selling the slots.
	pub provider: T::AccountId,
	/// What is sold.
	pub class: ResourceClass,
	/// Price per compute unit.
	pub price: BalanceOf<T>,
	/// Concurrent slots the offer holds against the provider's stake.
	pub slots: u32,
	/// The jobs whose live replicas it serves, one slot each (a job has at most one replica on a
	/// provider): the index `market_providerReplicas` reads instead of every job. The record
	/// is written whenever a slot is taken or given back, so the index costs no write of its own.
	pub jobs: BoundedVec<JobId, T::MaxSlotsPerOffer>,
	/// The block from which the offer no longer matches.
	pub expires_at: BlockNumberFor<T>,
	/// `false` once cancelled or expired: the offer only waits for its replicas to end.
	pub open: bool,
}

impl<T: Config> Offer<T> {
	/// Slots serving replicas now.
	pub fn in_use(&self) -> u32 {
		self.jobs.len() as u32
	}

	/// Slots not serving a replica.
	pub fn free(&self) -> u32 {
		self.slots.saturating_sub(self.in_use())
	}
}

/// Inline inputs of at most this many bytes (a seed, a few parameters, a hash) are kept in the
/// job's own record rather than in `JobInputs`: the record is written anyway, so such a job costs
/// one storage write fewer to submit and one fewer to reap.
pub const SMALL_INPUT_BYTES: u32 = 128;

/// An inline input kept in its job's record.
pub type SmallInput = BoundedVec<u8, ConstU32<SMALL_INPUT_BYTES>>;

/// A job's input as stored: inline bytes or a URL with the hash and size of what it serves.
#[derive(
	CloneNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub enum JobInput<T: Config> {
	/// The input bytes themselves.
	Inline(BoundedVec<u8, T::MaxInlineInput>),
	/// Fetched by the worker from `url`; it must hash (blake2-256) to `hash` and be `size` bytes.
	Remote { url: BoundedVec<u8, T::MaxUrlLength>, hash: H256, size: u64 },
}

/// What a provider must have to serve a job. Empty lists impose nothing.
#[derive(
	CloneNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Requirements<T: Config> {
	/// Least GPU memory, in MiB (CUDA jobs).
	pub min_vram_mib: u32,
	/// Least compute capability, `major * 10 + minor` (CUDA jobs).
	pub min_compute_capability: u16,
	/// GPU models allowed (CUDA jobs); empty allows any.
	pub gpu_models: BoundedVec<GpuModel, T::MaxRequirementItems>,
	/// Regions allowed; empty allows any.
	pub regions_allowed: BoundedVec<RegionCode, T::MaxRequirementItems>,
	/// Regions refused.
	pub regions_denied: BoundedVec<RegionCode, T::MaxRequirementItems>,
	/// Least CPU cores.
	pub min_cpu_cores: u16,
	/// Least memory, in MiB.
	pub min_memory_mib: u32,
	/// Least active stake the provider must have bonded.
	pub min_stake: BalanceOf<T>,
	/// Least reputation (`pallet-reputation`'s score for the job's kind) the provider must have;
	/// zero imposes nothing (a newcomer scores ½).
	pub min_reputation: sp_runtime::Perbill,
}

/// One replica of a job: an assignment of the job to one provider's offer.
#[derive(
	CloneNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Replica<T: Config> {
	/// The replica's index within the job.
	pub index: ReplicaIndex,
	/// The round of the job it belongs to: replicas are judged only against their own round.
	pub round: u8,
	/// Why it was assigned (and so how its provider was chosen).
	pub role: Role,
	/// The provider running it.
	pub provider: T::AccountId,
	/// The offer whose slot it uses.
	pub offer: OfferId,
	/// The offer's price per compute unit when it was assigned.
	pub price: BalanceOf<T>,
	/// Where it is in its life.
	pub state: ReplicaState,
	/// When it was assigned.
	pub assigned_at: BlockNumberFor<T>,
	/// The last block in which it may be acknowledged.
	pub ack_by: BlockNumberFor<T>,
	/// The last block in which it may commit; set when acknowledged.
	pub commit_by: Option<BlockNumberFor<T>>,
	/// Compute units revealed (bound by the commitment).
	pub units: Option<u64>,
	/// The digest revealed.
	pub digest: Option<H256>,
	/// What the provider was paid (after the protocol fee).
	pub paid: BalanceOf<T>,
}

/// A job (bid): a program to run on `replication` distinct providers, within a budget.
#[derive(
	CloneNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Job<T: Config> {
	/// Who posted it and pays for it.
	pub requester: T::AccountId,
	/// The program's hash.
	pub program: H256,
	/// The program's kind, and so the resource class that serves it.
	pub kind: JobKind,
	/// Its inline input when that is at most `SMALL_INPUT_BYTES` long; `None`: its input is in
	/// `JobInputs`.
	pub small_input: Option<SmallInput>,
	/// What a provider must have.
	pub requirements: Requirements<T>,
	/// Highest price per compute unit the requester pays.
	pub max_price: BalanceOf<T>,
	/// Most compute units one replica may charge.
	pub max_units: u64,
	/// How its result is verified.
	pub policy: VerificationPolicy,
	/// How many distinct providers run its current round (an `adaptive` job: 1 alone, 2 with a
	/// second replica; a referee round: `Referees`).
	pub replication: u8,
	/// For an `adaptive` job its provider runs alone: whether it is spot-checked.
	pub spot_check: Option<SpotCheck<BlockNumberFor<T>>>,
	/// Whether the current round is a referee round after a dispute (the disputed replicas are
	/// `Referred`).
	pub referees: bool,
	/// Blocks a replica has from its acknowledgement to its commit.
	pub commit_window: BlockNumberFor<T>,
	/// The last block of the job: the reveal window closes by then and the job ends.
	pub deadline: BlockNumberFor<T>,
	/// Largest output, in bytes, the requester accepts.
	pub max_output_bytes: u32,
	/// What is still held from the requester for this job.
	pub escrow: BalanceOf<T>,
	/// The storage deposit held from the requester until the record is reaped.
	pub deposit: BalanceOf<T>,
	/// When it was posted.
	pub submitted_at: BlockNumberFor<T>,
	/// Where it is in its life.
	pub phase: JobPhase<BlockNumberFor<T>>,
	/// When it ended.
	pub ended_at: Option<BlockNumberFor<T>>,
	/// Every replica it has had, reissued ones included.
	pub replicas: BoundedVec<Replica<T>, T::MaxReplicasPerJob>,
	/// The current round: 0 at first, one more each time a reveal round ends without a verdict
	/// because replicas missed their reveal and the job starts again with fresh replicas.
	pub round: u8,
	/// The block whose start handles its earliest pending deadline (its entry in `Deadlines`);
	/// `None` once it has ended.
	pub wake_at: Option<BlockNumberFor<T>>,
}

impl<T: Config> Job<T> {
	/// Replicas holding a slot.
	pub fn live(&self) -> usize {
		self.replicas.iter().filter(|r| r.state.is_live()).count()
	}

	/// Replicas still to be matched (none once the job has ended).
	pub fn unfilled(&self) -> usize {
		if self.phase.is_final() {
			return 0;
		}
		usize::from(self.replication).saturating_sub(self.live())
	}

	/// Whether the next replica matched is its round's primary (cheapest-first) rather than a
	/// verifier drawn at random: no replica of the round is live and it is not a referee round.
	pub fn needs_primary(&self) -> bool {
		!self.referees && !self.replicas.iter().any(|r| r.round == self.round && r.state.is_live())
	}

	/// Whether the job waits for the chain's spot-check decision on its only replica.
	pub fn spot_check_undecided(&self) -> bool {
		matches!(
			self.spot_check,
			Some(SpotCheck::Pending | SpotCheck::Due { .. } | SpotCheck::Drawing { .. })
		)
	}

	/// Whether `provider` runs (or ran) a replica of this job.
	pub fn has_provider(&self, provider: &T::AccountId) -> bool {
		self.replicas.iter().any(|r| &r.provider == provider)
	}

	/// The replica with `index`.
	pub fn replica_mut(&mut self, index: ReplicaIndex) -> Option<&mut Replica<T>> {
		self.replicas.iter_mut().find(|r| r.index == index)
	}

	/// The block from which no replica may commit: the reveal window must fit before the deadline.
	pub fn commit_close(&self) -> BlockNumberFor<T> {
		self.deadline.saturating_sub(T::RevealWindow::get())
	}
}

impl InputSpec {
	/// What the job stores of its input apart from its record (in `JobInputs`), in KiB rounded
	/// up: the inline bytes, or the URL; `None` for an inline input of at most
	/// `SMALL_INPUT_BYTES`, which the record keeps. `submit_job` is weighed by it (whole KiB keep
	/// the benchmark's fit well conditioned).
	pub fn stored_apart_kib(&self) -> Option<u32> {
		let bytes = match self {
			InputSpec::Inline(bytes) if bytes.len() <= SMALL_INPUT_BYTES as usize => return None,
			InputSpec::Inline(bytes) => bytes.len(),
			InputSpec::Remote { url, .. } => url.len(),
		};
		Some(u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX))
	}
}

/// A job's input as submitted.
#[derive(Clone, Encode, Decode, DecodeWithMemTracking, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum InputSpec {
	/// The input bytes, at most `MaxInlineInput`.
	Inline(Vec<u8>),
	/// A URL (at most `MaxUrlLength` bytes) serving `size` bytes that hash to `hash`.
	Remote { url: Vec<u8>, hash: H256, size: u64 },
}

/// A job's requirements as submitted; each list holds at most `MaxRequirementItems` entries.
#[derive(Clone, Encode, Decode, DecodeWithMemTracking, TypeInfo, PartialEq, Eq, Debug, Default)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "std",
	serde(
		rename_all = "camelCase",
		default,
		bound(deserialize = "Balance: serde::Deserialize<'de> + Default")
	)
)]
pub struct RequirementsSpec<Balance> {
	/// Least GPU memory, in MiB.
	pub min_vram_mib: u32,
	/// Least compute capability, `major * 10 + minor`.
	pub min_compute_capability: u16,
	/// GPU models allowed (exact names as the driver reports them); empty allows any.
	pub gpu_models: Vec<Vec<u8>>,
	/// Regions allowed; empty allows any.
	pub regions_allowed: Vec<RegionCode>,
	/// Regions refused.
	pub regions_denied: Vec<RegionCode>,
	/// Least CPU cores.
	pub min_cpu_cores: u16,
	/// Least memory, in MiB.
	pub min_memory_mib: u32,
	/// Least active provider stake.
	pub min_stake: Balance,
	/// Least provider reputation for the job's kind (a newcomer scores ½); zero imposes nothing.
	pub min_reputation: sp_runtime::Perbill,
}

/// Everything a requester says about a job when posting it.
#[derive(Clone, Encode, Decode, DecodeWithMemTracking, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "std",
	serde(bound(
		deserialize = "Balance: serde::Deserialize<'de> + Default, BlockNumber: serde::Deserialize<'de>"
	))
)]
pub struct JobSpec<Balance, BlockNumber> {
	/// The hash of a registered program.
	pub program: H256,
	/// The program's input.
	pub input: InputSpec,
	/// What a provider must have.
	pub requirements: RequirementsSpec<Balance>,
	/// Highest price per compute unit.
	pub max_price: Balance,
	/// Most compute units one replica may charge.
	pub max_units: u64,
	/// How its result is verified: `Unverified`, `Replicated(n)` (2 to `MaxReplication`) or
	/// `Adaptive`.
	pub policy: VerificationPolicy,
	/// Blocks a replica has from acknowledging to committing.
	pub commit_window: BlockNumber,
	/// The last block of the job.
	pub deadline: BlockNumber,
	/// Largest output the requester accepts, in bytes.
	pub max_output_bytes: u32,
}

//! The market's phases and states, and the views its runtime API and the node's `market_*` RPC
//! methods answer with: one definition for the pallet that stores and serves them, the node that
//! writes them as JSON (amounts as decimal strings, which JavaScript reads without loss) and the
//! client that decodes them (the worker and the `stratus` CLI).

use crate::{JobId, JobKind, OfferId, ReplicaIndex, ResourceClass, VerificationPolicy};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

/// Why a replica stopped without being paid.
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
pub enum Missed {
	/// It was not acknowledged before its acknowledgement deadline.
	Ack,
	/// It did not commit before its commit deadline (or the job's commit window closed).
	Commit,
	/// It committed but did not reveal before the reveal window closed.
	Reveal,
	/// Its provider declined it before its acknowledgement deadline (no offence).
	Declined,
}

/// Where a replica is in its life.
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
pub enum ReplicaState {
	/// Assigned to a provider, waiting for its acknowledgement.
	Assigned,
	/// The provider took the work on.
	Acknowledged,
	/// The provider committed a result.
	Committed,
	/// The provider revealed its digest.
	Revealed,
	/// It missed a deadline; the job reissued it (or ran out of time to).
	Missed(Missed),
	/// It revealed in a round that ended without a verdict because other replicas missed their
	/// reveal; the job went on with a new round of fresh replicas, judged without it (its digest
	/// was public, so later replicas could have copied it). Not paid.
	Superseded,
	/// It revealed in a round whose results disagreed without a majority; referee replicas
	/// decide, and its result is then held against theirs (paid when it agrees, slashed when it
	/// does not). It gave its slot back.
	Referred,
	/// The job ended; `paid` on the replica says what the provider earned.
	Done,
}

impl ReplicaState {
	/// Whether the replica still holds one of its offer's slots.
	pub fn is_live(&self) -> bool {
		matches!(self, Self::Assigned | Self::Acknowledged | Self::Committed | Self::Revealed)
	}

	/// Whether the replica has committed a result (and maybe revealed it).
	pub fn has_committed(&self) -> bool {
		matches!(self, Self::Committed | Self::Revealed)
	}
}

/// Why a replica was assigned, and so how its provider was chosen.
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
pub enum Role {
	/// The first replica of a round: the cheapest eligible offer (price-time priority).
	Primary,
	/// Another replica of a round (`replicated(n)`, or the second replica `adaptive` gives a
	/// provider without a long record): drawn at random, weighted by stake.
	Verifier,
	/// The second replica of an `adaptive` job run alone, drawn after its commitment: drawn at
	/// random, weighted by stake.
	SpotCheck,
	/// A replica of a referee round after a dispute: drawn at random, weighted by stake.
	Referee,
}

/// Whether an `adaptive` job run by one trusted provider alone is spot-checked.
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
pub enum SpotCheck<BlockNumber> {
	/// The replica runs alone; the chain decides after its commitment.
	Pending,
	/// It committed (in state written before spec 114); the block-start hook of block `at`
	/// decides at the rate its provider has then, from the randomness of the block it runs in.
	Due { at: BlockNumber },
	/// A second replica, drawn at random weighted by stake, checks it.
	Checked,
	/// The draw spared it: its result is judged alone.
	Spared,
	/// It committed; the block-start hook of block `at` (or a later one, if it is late) draws
	/// whether it is checked, with chance `rate` (fixed when it committed), from the randomness
	/// that the block before `at` — the block holding the commitment — fixed when it was sealed.
	/// So the outcome is known to all as soon as that block is, and the same whichever block
	/// draws it: a worker that sees it spared reveals at once, into block `at`
	/// (docs/market.md, "What each step waits for").
	Drawing { at: BlockNumber, rate: sp_runtime::Perbill },
}

impl<BlockNumber: Copy> SpotCheck<BlockNumber> {
	/// The block whose hook decides, while the decision waits for it.
	pub fn due_at(&self) -> Option<BlockNumber> {
		match self {
			Self::Due { at } | Self::Drawing { at, .. } => Some(*at),
			_ => None,
		}
	}
}

/// Where a job is in its life.
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
pub enum JobPhase<BlockNumber> {
	/// Replicas are being matched, acknowledged, run and committed.
	Open,
	/// Every replica has committed (or the commit window closed); reveals are due by `until`.
	Revealing { until: BlockNumber },
	/// A quorum agreed on `digest`; its replicas were paid and the rest refunded.
	Settled { digest: H256 },
	/// Reveals disagreed without a quorum; the escrow was refunded.
	Disputed,
	/// The requester cancelled it.
	Cancelled,
	/// It ran out of time without a result; the escrow was refunded.
	Expired,
}

impl<B> JobPhase<B> {
	/// Whether the job has ended.
	pub fn is_final(&self) -> bool {
		matches!(self, Self::Settled { .. } | Self::Disputed | Self::Cancelled | Self::Expired)
	}
}

/// Serde helpers: amounts travel as decimal strings, which JavaScript reads without loss.
#[cfg(feature = "std")]
pub mod amount {
	use serde::{de::Error, Deserialize, Deserializer, Serializer};

	/// Write an amount as a decimal string.
	pub fn serialize<S: Serializer, B: core::fmt::Display>(b: &B, s: S) -> Result<S::Ok, S::Error> {
		s.collect_str(b)
	}

	/// Read an amount from a decimal string.
	pub fn deserialize<'de, D: Deserializer<'de>, B: core::str::FromStr>(
		d: D,
	) -> Result<B, D::Error> {
		let text = alloc::string::String::deserialize(d)?;
		text.parse().map_err(|_| D::Error::custom("not a decimal amount"))
	}
}

/// An offer as a provider sees it.
#[derive(Clone, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
#[cfg_attr(
	feature = "std",
	serde(bound(
		serialize = "Balance: core::fmt::Display, BlockNumber: serde::Serialize",
		deserialize = "Balance: core::str::FromStr, BlockNumber: serde::Deserialize<'de>"
	))
)]
pub struct OfferView<Balance, BlockNumber> {
	/// The offer's id.
	pub offer: OfferId,
	/// What it sells.
	pub class: ResourceClass,
	/// Price per compute unit.
	#[cfg_attr(feature = "std", serde(with = "amount"))]
	pub price: Balance,
	/// Slots it holds.
	pub slots: u32,
	/// Slots serving replicas.
	pub in_use: u32,
	/// The block from which it no longer matches.
	pub expires_at: BlockNumber,
	/// Whether it still matches new jobs.
	pub open: bool,
}

/// One replica of a job.
#[derive(Clone, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
#[cfg_attr(
	feature = "std",
	serde(bound(
		serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: serde::Serialize",
		deserialize = "AccountId: serde::Deserialize<'de>, Balance: core::str::FromStr, BlockNumber: serde::Deserialize<'de>"
	))
)]
pub struct ReplicaView<AccountId, Balance, BlockNumber> {
	/// The job.
	pub job: JobId,
	/// The replica's index.
	pub replica: ReplicaIndex,
	/// The round it belongs to (0 first; a new round starts with fresh replicas when a reveal
	/// round ends without a verdict because replicas missed their reveal).
	pub round: u8,
	/// Why it was assigned: the round's primary (cheapest-first), or a verifier, spot-check or
	/// referee (drawn at random, weighted by stake).
	pub role: Role,
	/// Its provider.
	pub provider: AccountId,
	/// The offer it uses.
	pub offer: OfferId,
	/// Price per compute unit.
	#[cfg_attr(feature = "std", serde(with = "amount"))]
	pub price: Balance,
	/// Where it is.
	pub state: ReplicaState,
	/// Last block to acknowledge.
	pub ack_by: BlockNumber,
	/// Last block to commit, once acknowledged.
	pub commit_by: Option<BlockNumber>,
	/// Units revealed (bound by the commitment).
	pub units: Option<u64>,
	/// The digest revealed.
	pub digest: Option<H256>,
	/// What the provider was paid.
	#[cfg_attr(feature = "std", serde(with = "amount"))]
	pub paid: Balance,
}

/// Everything about a job.
#[derive(Clone, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
#[cfg_attr(
	feature = "std",
	serde(bound(
		serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: serde::Serialize",
		deserialize = "AccountId: serde::Deserialize<'de>, Balance: core::str::FromStr, BlockNumber: serde::Deserialize<'de>"
	))
)]
pub struct JobView<AccountId, Balance, BlockNumber> {
	/// The job's id.
	pub job: JobId,
	/// Who pays for it.
	pub requester: AccountId,
	/// The program's hash.
	pub program: H256,
	/// Its kind.
	pub kind: JobKind,
	/// Inline input size, or `None` for a URL input.
	pub inline_input_bytes: Option<u32>,
	/// The input URL (UTF-8), its blake2-256 hash and size, for a URL input.
	pub input_url: Option<(Vec<u8>, H256, u64)>,
	/// Highest price per compute unit.
	#[cfg_attr(feature = "std", serde(with = "amount"))]
	pub max_price: Balance,
	/// Most units one replica may charge.
	pub max_units: u64,
	/// How its result is verified.
	pub policy: VerificationPolicy,
	/// Replicas its current round asks for.
	pub replication: u8,
	/// For an `adaptive` job run by one provider alone: whether it is spot-checked.
	pub spot_check: Option<SpotCheck<BlockNumber>>,
	/// Whether its current round is a referee round after a dispute.
	pub referees: bool,
	/// Replicas still to be matched.
	pub unfilled: u8,
	/// Blocks from acknowledgement to commit.
	pub commit_window: BlockNumber,
	/// The job's last block.
	pub deadline: BlockNumber,
	/// Largest output accepted.
	pub max_output_bytes: u32,
	/// Still held in escrow.
	#[cfg_attr(feature = "std", serde(with = "amount"))]
	pub escrow: Balance,
	/// Where it is.
	pub phase: JobPhase<BlockNumber>,
	/// When it was posted.
	pub submitted_at: BlockNumber,
	/// When it ended.
	pub ended_at: Option<BlockNumber>,
	/// Every replica it has had.
	pub replicas: Vec<ReplicaView<AccountId, Balance, BlockNumber>>,
}

/// A requirement of a job, as `why_no_match` counts them.
#[derive(Clone, Copy, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum Requirement {
	/// The job's `max_price`.
	MaxPrice,
	/// Offers must not have expired.
	NotExpired,
	/// The provider must be registered with stake covering its slots.
	ProviderInGoodStanding,
	/// The job's `min_stake`.
	MinStake,
	/// The job's allowed and denied regions.
	Region,
	/// The job's `min_cpu_cores`.
	MinCpuCores,
	/// The job's `min_memory_mib`.
	MinMemory,
	/// The job's `min_vram_mib`.
	MinVram,
	/// The job's `min_compute_capability`.
	MinComputeCapability,
	/// The job's allowed GPU models.
	GpuModel,
	/// The job's `min_reputation`.
	MinReputation,
	/// One replica per provider.
	DistinctProvider,
}

/// Why a job has no (full) match: for each requirement, how many offers it excludes.
#[derive(Clone, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct NoMatchReport {
	/// The job.
	pub job: JobId,
	/// The job's kind: only offers for it were considered.
	pub kind: JobKind,
	/// Replicas still to be matched.
	pub unfilled: u8,
	/// Whether a replica matched now could still finish before the commit window closes.
	pub time_left: bool,
	/// Open offers with a free slot for the job's kind.
	pub offers: u32,
	/// Of those, how many no requirement excludes.
	pub eligible: u32,
	/// For each requirement that excludes any offer, how many it excludes (an offer may be
	/// excluded by several).
	pub excluded_by: Vec<(Requirement, u32)>,
}

/// Why a job's requirements cannot be stored: which list is over its bound.
#[derive(Clone, Copy, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum RequirementsProblem {
	/// `gpuModels` has more than `max` entries.
	TooManyGpuModels { max: u32 },
	/// A GPU model name is longer than `max` bytes.
	GpuModelTooLong { max: u32 },
	/// `regionsAllowed` has more than `max` entries.
	TooManyRegionsAllowed { max: u32 },
	/// `regionsDenied` has more than `max` entries.
	TooManyRegionsDenied { max: u32 },
}

#[cfg(feature = "std")]
impl core::fmt::Display for RequirementsProblem {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::TooManyGpuModels { max } => write!(f, "gpuModels holds at most {max} models"),
			Self::GpuModelTooLong { max } => {
				write!(f, "a GPU model name in gpuModels is longer than {max} bytes")
			},
			Self::TooManyRegionsAllowed { max } => {
				write!(f, "regionsAllowed holds at most {max} regions")
			},
			Self::TooManyRegionsDenied { max } => {
				write!(f, "regionsDenied holds at most {max} regions")
			},
		}
	}
}

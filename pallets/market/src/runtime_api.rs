//! The market's runtime API, and the plain views it answers with (also served by the node's
//! `market_*` RPC methods as JSON, amounts as decimal strings).

use crate::{
	matching::{split_key, Exclusions},
	BalanceOf, Config, JobInput, JobPhase, Jobs, OfferBook, Offers, Pallet, ProviderOffers,
	Replica, ReplicaState, RequirementsSpec, Role, SpotCheck,
};
use alloc::vec::Vec;
use codec::{Codec, Decode, Encode};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use sp_core::H256;
use stratus_primitives::{
	JobId, JobKind, OfferId, ProviderRegistry, ReplicaIndex, ResourceClass, VerificationPolicy,
};

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

sp_api::decl_runtime_apis! {
	/// Read the market: a provider's work, a job's status, prices, and why a job waits.
	pub trait MarketApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// The live replicas assigned to `provider` (operator account or worker key).
		fn provider_assignments(provider: AccountId) -> Vec<ReplicaView<AccountId, Balance, BlockNumber>>;
		/// The offers of `provider` (operator account or worker key).
		fn provider_offers(provider: AccountId) -> Vec<OfferView<Balance, BlockNumber>>;
		/// A job's full status, while its record exists.
		fn job_status(job: JobId) -> Option<JobView<AccountId, Balance, BlockNumber>>;
		/// The lowest price per unit among open offers of `kind` that meet `requirements`; `None`
		/// when none does, or when the requirements cannot be stored (ask `check_requirements`).
		fn best_price(kind: JobKind, requirements: RequirementsSpec<Balance>) -> Option<Balance>;
		/// Which list of `requirements` is over its bound, if any: a job with them is refused
		/// (`TooManyRequirements`) and `best_price` answers `None` for them.
		fn check_requirements(requirements: RequirementsSpec<Balance>) -> Option<RequirementsProblem>;
		/// Why `job` is not (fully) matched: how many offers each requirement excludes.
		fn why_no_match(job: JobId) -> Option<NoMatchReport>;
	}
}

/// How many book entries the read-only walks look at, at most.
const READ_SCAN_LIMIT: usize = 10_000;

type ReplicaViewOf<T> =
	ReplicaView<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

impl<T: Config> Pallet<T> {
	fn replica_view(id: JobId, r: &Replica<T>) -> ReplicaViewOf<T> {
		ReplicaView {
			job: id,
			replica: r.index,
			round: r.round,
			role: r.role,
			provider: r.provider.clone(),
			offer: r.offer,
			price: r.price,
			state: r.state,
			ack_by: r.ack_by,
			commit_by: r.commit_by,
			units: r.units,
			digest: r.digest,
			paid: r.paid,
		}
	}

	/// The live replicas of the provider `who` acts for (scans the jobs; for off-chain use).
	pub fn provider_assignments(who: T::AccountId) -> Vec<ReplicaViewOf<T>> {
		let Some(provider) = T::Providers::provider_of(&who) else { return Vec::new() };
		// Bounded by the provider's offers and their slots (`MaxOffersPerProvider ×
		// MaxSlotsPerOffer` jobs read), however many jobs the chain holds.
		let mut out = Vec::new();
		for offer_id in ProviderOffers::<T>::get(&provider) {
			let Some(offer) = Offers::<T>::get(offer_id) else { continue };
			for id in offer.jobs {
				let Some(job) = Jobs::<T>::get(id) else { continue };
				out.extend(
					job.replicas
						.iter()
						.filter(|r| r.offer == offer_id && r.state.is_live())
						.map(|r| Self::replica_view(id, r)),
				);
			}
		}
		out.sort_unstable_by_key(|r| (r.job, r.replica));
		out
	}

	/// The offers of the provider `who` acts for.
	pub fn provider_offers(who: T::AccountId) -> Vec<OfferView<BalanceOf<T>, BlockNumberFor<T>>> {
		let Some(provider) = T::Providers::provider_of(&who) else { return Vec::new() };
		ProviderOffers::<T>::get(&provider)
			.into_iter()
			.filter_map(|id| {
				Offers::<T>::get(id).map(|o| OfferView {
					offer: id,
					class: o.class,
					price: o.price,
					slots: o.slots,
					in_use: o.in_use(),
					expires_at: o.expires_at,
					open: o.open,
				})
			})
			.collect()
	}

	/// A job's full status.
	pub fn job_status(id: JobId) -> Option<JobView<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		let job = Jobs::<T>::get(id)?;
		let (inline_input_bytes, input_url) = match &job.small_input {
			Some(bytes) => (Some(bytes.len() as u32), None),
			None => match crate::JobInputs::<T>::get(id)? {
				JobInput::Inline(bytes) => (Some(bytes.len() as u32), None),
				JobInput::Remote { url, hash, size } => (None, Some((url.to_vec(), hash, size))),
			},
		};
		Some(JobView {
			job: id,
			requester: job.requester.clone(),
			program: job.program,
			kind: job.kind,
			inline_input_bytes,
			input_url,
			max_price: job.max_price,
			max_units: job.max_units,
			policy: job.policy,
			replication: job.replication,
			spot_check: job.spot_check,
			referees: job.referees,
			unfilled: job.unfilled() as u8,
			commit_window: job.commit_window,
			deadline: job.deadline,
			max_output_bytes: job.max_output_bytes,
			escrow: job.escrow,
			phase: job.phase,
			submitted_at: job.submitted_at,
			ended_at: job.ended_at,
			replicas: job.replicas.iter().map(|r| Self::replica_view(id, r)).collect(),
		})
	}

	/// The cheapest open offer of `kind` that meets `requirements`.
	pub fn best_price(
		kind: JobKind,
		requirements: RequirementsSpec<BalanceOf<T>>,
	) -> Option<BalanceOf<T>> {
		let requirements = Self::requirements(requirements).ok()?;
		let now = frame_system::Pallet::<T>::block_number();
		for (key, ()) in OfferBook::<T>::iter_prefix(kind).take(READ_SCAN_LIMIT) {
			let (_, id) = split_key(&key);
			let Some(offer) = Offers::<T>::get(id) else { continue };
			let standing = T::Providers::standing(&offer.provider);
			let ex = Self::exclusions(&requirements, offer.price, &offer, standing.as_ref(), now);
			if ex.eligible() {
				return Some(offer.price);
			}
		}
		None
	}

	/// Which list of `spec` is over its bound, if any (the bounds `submit_job` holds it to).
	pub fn check_requirements(
		spec: &RequirementsSpec<BalanceOf<T>>,
	) -> Option<RequirementsProblem> {
		use frame_support::traits::Get;
		let max = T::MaxRequirementItems::get();
		let over = |len: usize| u32::try_from(len).map_or(true, |n| n > max);
		if over(spec.gpu_models.len()) {
			return Some(RequirementsProblem::TooManyGpuModels { max });
		}
		let longest = stratus_primitives::MAX_GPU_MODEL_LEN;
		if spec.gpu_models.iter().any(|m| u32::try_from(m.len()).map_or(true, |n| n > longest)) {
			return Some(RequirementsProblem::GpuModelTooLong { max: longest });
		}
		if over(spec.regions_allowed.len()) {
			return Some(RequirementsProblem::TooManyRegionsAllowed { max });
		}
		if over(spec.regions_denied.len()) {
			return Some(RequirementsProblem::TooManyRegionsDenied { max });
		}
		None
	}

	/// Why `id` is not (fully) matched.
	pub fn why_no_match(id: JobId) -> Option<NoMatchReport> {
		let job = Jobs::<T>::get(id)?;
		let now = frame_system::Pallet::<T>::block_number();
		let mut counts = Exclusions::default().by_requirement().map(|(r, _)| (r, 0u32));
		let (mut offers, mut eligible) = (0u32, 0u32);
		for (key, ()) in OfferBook::<T>::iter_prefix(job.kind).take(READ_SCAN_LIMIT) {
			let (_, offer_id) = split_key(&key);
			let Some(offer) = Offers::<T>::get(offer_id) else { continue };
			let standing = T::Providers::standing(&offer.provider);
			let mut ex =
				Self::exclusions(&job.requirements, job.max_price, &offer, standing.as_ref(), now);
			ex.same_provider = job.has_provider(&offer.provider);
			offers = offers.saturating_add(1);
			if ex.eligible() {
				eligible = eligible.saturating_add(1);
			}
			for ((_, count), (_, excluded)) in counts.iter_mut().zip(ex.by_requirement()) {
				if excluded {
					*count = count.saturating_add(1);
				}
			}
		}
		Some(NoMatchReport {
			job: id,
			kind: job.kind,
			unfilled: job.unfilled() as u8,
			time_left: Self::time_allows(&job, now),
			offers,
			eligible,
			excluded_by: counts.into_iter().filter(|(_, n)| *n > 0).collect(),
		})
	}
}

impl Exclusions {
	/// Each requirement, and whether it excludes the offer.
	pub fn by_requirement(&self) -> [(Requirement, bool); 12] {
		[
			(Requirement::MaxPrice, self.price),
			(Requirement::NotExpired, self.expired),
			(Requirement::ProviderInGoodStanding, self.provider),
			(Requirement::MinStake, self.stake),
			(Requirement::Region, self.region),
			(Requirement::MinCpuCores, self.cpu_cores),
			(Requirement::MinMemory, self.memory),
			(Requirement::MinVram, self.vram),
			(Requirement::MinComputeCapability, self.compute_capability),
			(Requirement::GpuModel, self.gpu_model),
			(Requirement::MinReputation, self.reputation),
			(Requirement::DistinctProvider, self.same_provider),
		]
	}
}

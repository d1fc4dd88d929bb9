//! The market's reads: the views its runtime API answers with, built from storage without
//! changing it (a provider's replicas and offers, a job's status, the best price, why a job
//! waits).

use crate::{
	matching::{split_key, Exclusions},
	runtime_api::{
		JobView, NoMatchReport, OfferView, ReplicaView, Requirement, RequirementsProblem,
	},
	BalanceOf, Config, JobInput, Jobs, OfferBook, Offers, Pallet, ProviderOffers, Replica,
	RequirementsSpec,
};
use alloc::vec::Vec;
use frame_system::pallet_prelude::BlockNumberFor;
use stratus_primitives::{JobId, JobKind, ProviderRegistry};

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
	pub fn provider_replicas(who: T::AccountId) -> Vec<ReplicaViewOf<T>> {
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

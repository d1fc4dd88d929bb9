//! The order book: keys, eligibility, and the two matching walks (a job against offers, an offer
//! against resting jobs).

use crate::{
	weights::WeightInfo, BalanceOf, BookPosition, BookSize, BookSlots, Config, Error, Event, Job,
	JobBook, Offer, OfferBook, Offers, Pallet, Replica, ReplicaState, Requirements, RestingJobs,
	Role, SpotCheck,
};
use alloc::vec::Vec;
use codec::Encode;
use frame_support::pallet_prelude::*;
use frame_support::traits::Randomness;
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{Saturating, UniqueSaturatedInto};
use stratus_primitives::{
	leading_bytes, JobId, JobKind, OfferId, ProviderRegistry, ReputationProvider, ResourceClass,
	Standing, VerificationPolicy,
};

/// `price (big-endian) ‖ id (big-endian)`: byte order is price order, then id order.
pub(crate) fn order_key(price: u128, id: u64) -> [u8; 24] {
	let mut key = [0u8; 24];
	let (head, tail) = key.split_at_mut(16);
	head.copy_from_slice(&price.to_be_bytes());
	tail.copy_from_slice(&id.to_be_bytes());
	key
}

/// The price and id an order key was made from.
pub(crate) fn split_key(key: &[u8; 24]) -> (u128, u64) {
	let mut price = [0u8; 16];
	let mut id = [0u8; 8];
	let (head, tail) = key.split_at(16);
	price.copy_from_slice(head);
	id.copy_from_slice(tail);
	(u128::from_be_bytes(price), u64::from_be_bytes(id))
}

/// An offer's key in `OfferBook`: cheapest first, then oldest.
pub(crate) fn offer_key<T: Config>(price: BalanceOf<T>, offer: OfferId) -> [u8; 24] {
	order_key(price.unique_saturated_into(), offer)
}

/// A job's key in `JobBook`: highest `max_price` first, then oldest.
pub(crate) fn job_key<T: Config>(max_price: BalanceOf<T>, job: JobId) -> [u8; 24] {
	let price: u128 = max_price.unique_saturated_into();
	order_key(u128::MAX.saturating_sub(price), job)
}

impl<T: Config> Pallet<T> {
	/// Put an offer into the ask side: `OfferBook` and its dense index `BookSlots`.
	pub(crate) fn book_insert(kind: JobKind, price: BalanceOf<T>, offer_id: OfferId) {
		OfferBook::<T>::insert(kind, offer_key::<T>(price, offer_id), ());
		if BookPosition::<T>::contains_key(offer_id) {
			return;
		}
		let size = BookSize::<T>::get(kind);
		BookSlots::<T>::insert(kind, size, offer_id);
		BookPosition::<T>::insert(offer_id, size);
		BookSize::<T>::insert(kind, size.saturating_add(1));
	}

	/// Take an offer out of the ask side; the last entry of the dense index takes its position.
	pub(crate) fn book_remove(kind: JobKind, price: BalanceOf<T>, offer_id: OfferId) {
		OfferBook::<T>::remove(kind, offer_key::<T>(price, offer_id));
		let Some(position) = BookPosition::<T>::take(offer_id) else { return };
		let last = BookSize::<T>::get(kind).saturating_sub(1);
		if position != last {
			if let Some(moved) = BookSlots::<T>::get(kind, last) {
				BookSlots::<T>::insert(kind, position, moved);
				BookPosition::<T>::insert(moved, position);
			}
		}
		BookSlots::<T>::remove(kind, last);
		BookSize::<T>::insert(kind, last);
	}
}

/// Which requirements exclude an offer from a job; the offer is eligible when none does.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Exclusions {
	/// The offer's price is above the job's `max_price`.
	pub price: bool,
	/// The offer has expired.
	pub expired: bool,
	/// The provider is no longer registered, or its stake no longer covers its slots.
	pub provider: bool,
	/// The provider's stake is below the job's `min_stake`.
	pub stake: bool,
	/// The provider's region is not allowed, or is denied.
	pub region: bool,
	/// Too few CPU cores.
	pub cpu_cores: bool,
	/// Too little memory.
	pub memory: bool,
	/// Too little GPU memory (or the offer's GPU class is gone from the profile).
	pub vram: bool,
	/// Too low a compute capability.
	pub compute_capability: bool,
	/// A GPU model the job does not allow.
	pub gpu_model: bool,
	/// The provider's reputation for the job's kind is below the job's `min_reputation`.
	pub reputation: bool,
	/// The provider already runs (or ran) a replica of the job.
	pub same_provider: bool,
}

impl Walk {
	/// Both walks' counts together.
	pub(crate) fn and(self, other: Walk) -> Walk {
		Walk {
			matched: self.matched.saturating_add(other.matched),
			filled: self.filled.saturating_add(other.filled),
			passed: self.passed.saturating_add(other.passed),
			expired: self.expired.saturating_add(other.expired),
		}
	}
}

impl Exclusions {
	/// Whether nothing excludes the offer.
	pub fn eligible(&self) -> bool {
		*self == Self::default()
	}
}

/// What one walk of the offer book for a job did: what the job is charged for.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Walk {
	/// Replicas assigned.
	pub matched: u32,
	/// Of those, replicas that took an offer's last free slot (and so its book entry).
	pub filled: u32,
	/// Book entries looked at and passed over as ineligible (or from a provider the job already
	/// has).
	pub passed: u32,
	/// Book entries looked at that had expired, and were closed on the way.
	pub expired: u32,
}

/// What placing a job did: its walk of the book, and whether it was left short of replicas
/// (resting in the job book, or at least with its commit-close deadline queued).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Placement {
	pub walk: Walk,
	pub short: bool,
}

impl<T: Config> Pallet<T> {
	/// The weight `submit_job` is charged. `None`: its worst case, before dispatch.
	///
	/// `submit_job(r)` places `r` replicas on the first offers met, each keeping a free slot,
	/// with a small input kept in the job's record; an input stored apart adds `store_input(k)`
	/// for its `k` KiB; each replica that takes its offer's last slot adds
	/// `fill_offer` (the offer leaves the book and its dense index); the walk past `s` ineligible
	/// and `e` expired entries comes on top, as its cost over an empty walk
	/// (`match_walk(s, e) − match_walk(0, 0)`). A job left short of replicas also pays for resting
	/// (`rest_job`).
	pub(crate) fn submit_job_weight(
		placement: Option<&Placement>,
		input_kib: Option<u32>,
	) -> Weight {
		let walk = |passed: u32, expired: u32| {
			T::WeightInfo::match_walk(passed, expired)
				.saturating_sub(T::WeightInfo::match_walk(0, 0))
		};
		let Some(placement) = placement else {
			// Every replica placed, each filling its offer, and every entry the walk may look at
			// passed over, or every one expired, whichever costs more (the cost is linear in
			// each): a bound on any mix. Refunded after dispatch.
			let r = u32::from(T::MaxReplication::get());
			let scan = T::MaxMatchScan::get();
			return Self::placed_weight(r, r, input_kib)
				.saturating_add(walk(scan, 0).max(walk(0, scan)))
				.saturating_add(T::WeightInfo::rest_job());
		};
		let Walk { matched, filled, passed, expired } = placement.walk;
		let weight =
			Self::placed_weight(matched, filled, input_kib).saturating_add(walk(passed, expired));
		if placement.short {
			weight.saturating_add(T::WeightInfo::rest_job())
		} else {
			weight
		}
	}

	/// Placing `matched` replicas of a job, `filled` of them on their offer's last slot, with
	/// `input_kib` KiB of input stored apart (`None`: none).
	pub(crate) fn placed_weight(matched: u32, filled: u32, input_kib: Option<u32>) -> Weight {
		T::WeightInfo::submit_job(matched)
			.saturating_add(T::WeightInfo::fill_offer().saturating_mul(u64::from(filled)))
			.saturating_add(input_kib.map_or(Weight::zero(), T::WeightInfo::store_input))
	}

	/// The weight `acknowledge` is charged: with `drew`, the draw of a missing verifier (a walk
	/// of the whole matching window, one replica placed).
	pub(crate) fn acknowledge_weight(drew: bool) -> Weight {
		T::WeightInfo::acknowledge().saturating_add(Self::draw_weight(drew))
	}

	/// The weight of drawing a job's missing verifiers, spot-check or referees (when `drew`), at
	/// its worst: the uniform sample of `MaxMatchScan` book slots and then the cheapest window of
	/// as many entries, each passed over (`match_walk`'s cost per entry, twice the window), every
	/// replica a job can still need placed, each filling its offer (`placed_weight`'s), the job resting or leaving the bid
	/// book, and the job and its randomness read and written.
	pub(crate) fn draw_weight(drew: bool) -> Weight {
		if !drew {
			return Weight::zero();
		}
		let scan = T::MaxMatchScan::get();
		let passed = T::WeightInfo::match_walk(scan.saturating_mul(2), 0)
			.saturating_sub(T::WeightInfo::match_walk(0, 0));
		let r = u32::from(T::MaxReplication::get());
		Self::placed_weight(r, r, None)
			.saturating_add(passed)
			.saturating_add(T::WeightInfo::rest_job())
			.saturating_add(T::DbWeight::get().reads_writes(2, 3))
	}

	/// What excludes `offer` from a job with these requirements and `max_price`, judged at `now`
	/// against the standing of the offer's provider (`None`: not registered).
	pub(crate) fn exclusions(
		requirements: &Requirements<T>,
		max_price: BalanceOf<T>,
		offer: &Offer<T>,
		standing: Option<&Standing<BalanceOf<T>>>,
		now: BlockNumberFor<T>,
	) -> Exclusions {
		let mut ex = Exclusions {
			price: offer.price > max_price,
			expired: offer.expires_at <= now,
			..Default::default()
		};
		let Some(standing) = standing.filter(|s| s.slots_covered) else {
			ex.provider = true;
			return ex;
		};
		let profile = &standing.profile;
		ex.stake = standing.stake < requirements.min_stake;
		ex.region = (!requirements.regions_allowed.is_empty()
			&& !requirements.regions_allowed.contains(&profile.region))
			|| requirements.regions_denied.contains(&profile.region);
		ex.cpu_cores = profile.cpu_cores < requirements.min_cpu_cores;
		// Read only when the job asks for it.
		ex.reputation = !requirements.min_reputation.is_zero()
			&& T::Reputation::score(&offer.provider, offer.class.kind())
				< requirements.min_reputation;
		ex.memory = profile.memory_mib < requirements.min_memory_mib;
		if let ResourceClass::Gpu(index) = offer.class {
			match profile.gpus.get(usize::from(index)) {
				Some(gpu) => {
					ex.vram = gpu.vram_mib < requirements.min_vram_mib;
					ex.compute_capability =
						gpu.compute_capability < requirements.min_compute_capability;
					ex.gpu_model = !requirements.gpu_models.is_empty()
						&& !requirements.gpu_models.contains(&gpu.model);
				},
				None => ex.vram = true,
			}
		}
		ex
	}

	/// Whether a replica assigned now could still be acknowledged and committed before the
	/// job's commit window closes.
	pub(crate) fn time_allows(job: &Job<T>, now: BlockNumberFor<T>) -> bool {
		now.saturating_add(T::AckWindow::get()).saturating_add(job.commit_window)
			< job.commit_close()
	}

	/// Whether the job should rest in the job book: open, short of replicas, and with time and
	/// room left for more.
	fn should_rest(job: &Job<T>, now: BlockNumberFor<T>) -> bool {
		job.phase == crate::JobPhase::Open
			&& job.unfilled() > 0
			&& (job.replicas.len() as u32) < T::MaxReplicasPerJob::get()
			&& Self::time_allows(job, now)
	}

	/// Put the job into the job book or take it out, as its state says. (A job short of
	/// replicas ends at its commit close even if nothing more is matched: `Self::next_wake`.)
	pub(crate) fn sync_job_book(id: JobId, job: &Job<T>) {
		let now = frame_system::Pallet::<T>::block_number();
		if Self::should_rest(job, now) {
			let key = job_key::<T>(job.max_price, id);
			if !JobBook::<T>::contains_key(job.kind, key) {
				JobBook::<T>::insert(job.kind, key, ());
				RestingJobs::<T>::mutate(&job.requester, |n| *n = n.saturating_add(1));
			}
		} else {
			Self::leave_job_book(id, job);
		}
	}

	/// Take the job out of the job book (if it rests there).
	pub(crate) fn leave_job_book(id: JobId, job: &Job<T>) {
		let key = job_key::<T>(job.max_price, id);
		if JobBook::<T>::take(job.kind, key).is_some() {
			RestingJobs::<T>::mutate_exists(&job.requester, |n| {
				*n = (*n).and_then(|v| v.checked_sub(1)).filter(|v| *v > 0);
			});
		}
	}

	/// Assign a new replica of `job` to `offer`, using one of its free slots.
	pub(crate) fn assign(
		id: JobId,
		job: &mut Job<T>,
		offer_id: OfferId,
		offer: &mut Offer<T>,
		role: Role,
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let index = u8::try_from(job.replicas.len()).map_err(|_| Error::<T>::UnknownReplica)?;
		let ack_by = now.saturating_add(T::AckWindow::get());
		job.replicas
			.try_push(Replica {
				index,
				round: job.round,
				role,
				provider: offer.provider.clone(),
				offer: offer_id,
				price: offer.price,
				state: ReplicaState::Assigned,
				assigned_at: now,
				ack_by,
				commit_by: None,
				units: None,
				digest: None,
				paid: Default::default(),
			})
			.map_err(|_| Error::<T>::UnknownReplica)?;
		offer.jobs.try_push(id).map_err(|_| Error::<T>::UnknownReplica)?;
		if offer.free() == 0 {
			Self::book_remove(offer.class.kind(), offer.price, offer_id);
		}
		Self::deposit_event(Event::ReplicaAssigned {
			job: id,
			replica: index,
			provider: offer.provider.clone(),
			offer: offer_id,
			price: offer.price,
			ack_by,
		});
		Ok(())
	}

	/// Match `job`'s missing replicas: its round's primary against the cheapest eligible offer
	/// (price-time priority), every other replica (verifiers, spot-checks, referees) drawn at
	/// random, weighted by stake, among the eligible offers at or under its `max_price`.
	pub(crate) fn fill(id: JobId, job: &mut Job<T>) -> Result<Walk, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut walk = Walk::default();
		if job.unfilled() == 0 || !Self::time_allows(job, now) {
			return Ok(walk);
		}
		if job.needs_primary() {
			walk = Self::walk_book(id, job, Role::Primary)?;
			if walk.matched == 0 {
				return Ok(walk);
			}
			Self::choose_replication(job);
		}
		if job.unfilled() > 0 {
			let role = if job.referees {
				Role::Referee
			} else if job.spot_check == Some(SpotCheck::Checked) {
				Role::SpotCheck
			} else {
				Role::Verifier
			};
			walk = walk.and(Self::walk_book(id, job, role)?);
		}
		Ok(walk)
	}

	/// An `adaptive` job's first round once its primary is matched: the primary runs alone, and
	/// whether a second replica checks it is decided after its commitment
	/// ([`Self::decide_spot_check`]): always for a provider its reputation does not trust, at
	/// random for one it does. A provider cannot know at commit time who (if anyone) will check
	/// it, so a ring cannot lie only when one of its own was drawn to verify it.
	///
	/// A `Replicated(n)` job's round may get a spot-check too ([`Config::ReplicatedSpotCheck`]),
	/// decided the same way after its first commitment.
	fn choose_replication(job: &mut Job<T>) {
		if job.referees {
			return;
		}
		match job.policy {
			VerificationPolicy::Adaptive => {
				job.replication = 1;
				job.spot_check = Some(SpotCheck::Pending);
			},
			VerificationPolicy::Replicated(_) if !T::ReplicatedSpotCheck::get().is_zero() => {
				job.spot_check = Some(SpotCheck::Pending);
			},
			_ => {},
		}
	}

	/// Find `job`'s missing replicas: for a primary, the cheapest eligible offer (a walk of the
	/// book in price-time order); for any other role, candidates sampled uniformly from the whole
	/// book (`BookSlots`: every booked offer when there are no more than `MaxMatchScan`, else
	/// `MaxMatchScan` random picks) and, when the sample holds too few eligible ones, the
	/// cheapest window as well — from which the replicas are drawn weighted by their providers'
	/// stake, without replacement. Uniform picks weighted by stake give each eligible offer a
	/// chance in proportion to its stake wherever its price puts it in the book.
	fn walk_book(id: JobId, job: &mut Job<T>, role: Role) -> Result<Walk, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let needed = if role == Role::Primary { 1 } else { job.unfilled() };
		let room = (T::MaxReplicasPerJob::get() as usize).saturating_sub(job.replicas.len());
		let needed = needed.min(room);
		let mut scanned = 0u32;
		let mut expired = Vec::new();
		let mut candidates: Vec<(OfferId, Offer<T>, u128)> = Vec::new();
		// An offer met on the way: closed when expired, a candidate when eligible.
		let consider = |offer_id: OfferId,
		                candidates: &mut Vec<(OfferId, Offer<T>, u128)>,
		                expired: &mut Vec<OfferId>| {
			if candidates.iter().any(|c| c.0 == offer_id) || expired.contains(&offer_id) {
				return;
			}
			let Some(offer) = Offers::<T>::get(offer_id) else { return };
			if offer.expires_at <= now {
				expired.push(offer_id);
				return;
			}
			if job.has_provider(&offer.provider) {
				return;
			}
			let standing = T::Providers::standing(&offer.provider);
			if Self::exclusions(&job.requirements, job.max_price, &offer, standing.as_ref(), now)
				.eligible()
			{
				let stake = standing.map_or(0, |s| s.stake.unique_saturated_into());
				candidates.push((offer_id, offer, stake));
			}
		};
		if role != Role::Primary && needed > 0 {
			let size = BookSize::<T>::get(job.kind);
			let picks = T::MaxMatchScan::get();
			let (seed, _) = T::Randomness::random(
				&(b"stratus/sample", id, job.round, job.replicas.len() as u32).encode(),
			);
			for i in 0..picks.min(size) {
				let position = if size <= picks {
					i
				} else {
					let bytes = sp_io::hashing::blake2_256(&(seed, i).encode());
					u32::from_le_bytes(leading_bytes(&bytes)).checked_rem(size).unwrap_or(0)
				};
				let Some(offer_id) = BookSlots::<T>::get(job.kind, position) else { continue };
				scanned = scanned.saturating_add(1);
				consider(offer_id, &mut candidates, &mut expired);
			}
		}
		if role == Role::Primary || candidates.len() < needed {
			let max_price: u128 = job.max_price.unique_saturated_into();
			let mut window = 0u32;
			for (key, ()) in OfferBook::<T>::iter_prefix(job.kind) {
				if window >= T::MaxMatchScan::get()
					|| (role == Role::Primary && candidates.len() >= needed)
				{
					break;
				}
				window = window.saturating_add(1);
				let (price, offer_id) = split_key(&key);
				if price > max_price {
					break;
				}
				consider(offer_id, &mut candidates, &mut expired);
			}
			scanned = scanned.saturating_add(window);
		}
		let closed = expired.len() as u32;
		for offer_id in expired {
			Self::close_offer(offer_id, true);
		}
		let picked = if role == Role::Primary {
			candidates.truncate(needed);
			candidates
		} else {
			Self::draw(id, job, candidates, needed)
		};
		let matched = picked.len() as u32;
		let mut filled = 0u32;
		for (offer_id, mut offer, _) in picked {
			Self::assign(id, job, offer_id, &mut offer, role)?;
			if offer.free() == 0 {
				filled = filled.saturating_add(1);
			}
			Offers::<T>::insert(offer_id, offer);
		}
		let passed = scanned.saturating_sub(matched).saturating_sub(closed);
		Ok(Walk { matched, filled, passed, expired: closed })
	}

	/// Draw `needed` of `candidates` at random, each with a chance proportional to its stake,
	/// without replacement (one per provider: the book holds one open offer per provider and
	/// class). The randomness is [`Config::Randomness`] for this job and its replica count.
	pub(crate) fn draw(
		id: JobId,
		job: &Job<T>,
		mut candidates: Vec<(OfferId, Offer<T>, u128)>,
		needed: usize,
	) -> Vec<(OfferId, Offer<T>, u128)> {
		let mut picked = Vec::new();
		let subject = (b"stratus/draw", id, job.round, job.replicas.len() as u32);
		let (seed, _) = T::Randomness::random(&subject.encode());
		for round in 0..needed {
			let total = candidates.iter().fold(0u128, |t, c| t.saturating_add(c.2.max(1)));
			if candidates.is_empty() || total == 0 {
				break;
			}
			let bytes = sp_io::hashing::blake2_256(&(seed, round as u32).encode());
			let mut point =
				u128::from_le_bytes(leading_bytes(&bytes)).checked_rem(total).unwrap_or(0);
			let mut chosen = candidates.len().saturating_sub(1);
			for (i, candidate) in candidates.iter().enumerate() {
				let weight = candidate.2.max(1);
				if point < weight {
					chosen = i;
					break;
				}
				point = point.saturating_sub(weight);
			}
			picked.push(candidates.swap_remove(chosen));
		}
		picked
	}

	/// Match an offer's free slots against resting jobs, highest bid first. A job waiting for a
	/// verifier (which is drawn, never chosen by who arrives) is served first: it draws again
	/// among every eligible offer, this one included — at most one such draw per call; then jobs
	/// waiting for their primary take the slots left. Verifiers first, because a job short of a
	/// verifier already holds its primary's slot: were new primaries served first, every slot
	/// could end up held by primaries of jobs that wait for a verifier none is left to be, until
	/// their commit close expires them unpaid (found by the soak, `docs/reliability.md`). Returns
	/// the number of job-book entries looked at, and whether it drew.
	pub(crate) fn match_offer(offer_id: OfferId) -> Result<(u32, bool), DispatchError> {
		let Some(mut offer) = Offers::<T>::get(offer_id) else { return Ok((0, false)) };
		let now = frame_system::Pallet::<T>::block_number();
		if !offer.open || offer.expires_at <= now || offer.free() == 0 {
			return Ok((0, false));
		}
		let kind: JobKind = offer.class.kind();
		let price: u128 = offer.price.unique_saturated_into();
		let standing = T::Providers::standing(&offer.provider);
		let mut scanned = 0u32;
		let mut picked: Vec<JobId> = Vec::new();
		let mut redraw: Option<JobId> = None;
		for (key, ()) in JobBook::<T>::iter_prefix(kind) {
			if scanned >= T::MaxMatchScan::get() || picked.len() >= offer.free() as usize {
				break;
			}
			scanned = scanned.saturating_add(1);
			let (inverse, job_id) = split_key(&key);
			if u128::MAX.saturating_sub(inverse) < price {
				break;
			}
			let Some(job) = crate::Jobs::<T>::get(job_id) else { continue };
			if job.has_provider(&offer.provider) || !Self::time_allows(&job, now) {
				continue;
			}
			if !Self::exclusions(&job.requirements, job.max_price, &offer, standing.as_ref(), now)
				.eligible()
			{
				continue;
			}
			if job.needs_primary() {
				picked.push(job_id);
			} else if redraw.is_none() {
				redraw = Some(job_id);
			}
		}
		let drew = redraw.is_some();
		if let Some(job_id) = redraw.take() {
			Self::redraw(job_id);
			// The draw may have taken one of this offer's slots.
			let Some(drawn) = Offers::<T>::get(offer_id) else { return Ok((scanned, drew)) };
			offer = drawn;
		}
		for job_id in picked {
			if offer.free() == 0 {
				break;
			}
			let Some(mut job) = crate::Jobs::<T>::get(job_id) else { continue };
			Self::assign(job_id, &mut job, offer_id, &mut offer, Role::Primary)?;
			Self::choose_replication(&mut job);
			// An `adaptive` job whose primary needs a second replica draws it now when no other
			// draw is due in this call, or else when its primary acknowledges.
			if job.unfilled() > 0 && !drew && redraw.is_none() {
				redraw = Some(job_id);
			}
			Self::sync_job_book(job_id, &job);
			Self::store_job(job_id, job);
		}
		Offers::<T>::insert(offer_id, offer);
		if let Some(job_id) = redraw {
			Self::redraw(job_id);
		}
		Ok((scanned, drew || redraw.is_some()))
	}

	/// Draw the missing replicas of resting job `id` again.
	fn redraw(id: JobId) {
		if let Some(mut job) = crate::Jobs::<T>::get(id) {
			Self::refill(id, &mut job);
			Self::store_job(id, job);
		}
	}
}

//! The market's invariants, checked after every unit test and by `try-runtime`.
//!
//! 1. **Escrow**: for every requester, the balance held for `JobEscrow` equals the sum of the
//!    `escrow` of its jobs; a finished job holds nothing.
//! 2. **Providers**: every live replica's provider is registered (its stake covered its slots
//!    when the replica was assigned; a slash may since have taken some).
//! 3. **Price**: no replica is priced above its job's `max_price`.
//! 4. **Distinct providers**: no provider holds two replicas of one job.
//! 5. **Slots**: every offer's `jobs` are exactly the jobs of the live replicas on it (their
//!    number is its `in_use`, never above its `slots`); a closed offer holds exactly its slots
//!    in use.
//! 6. **Books**: `OfferBook` holds exactly the open offers with a free slot, under their price
//!    key; every `JobBook` entry is an open job with replicas to match.
//! 7. **Programs**: every job that has not ended runs a registered program until its deadline
//!    has passed, and a retiring program's `removable_at` is after the deadline of every such
//!    job.
//! 8. **Liveness**: every job that has not ended has exactly one wake-up in `Deadlines`, at its
//!    `wake_at`, which the block-start hook has not passed yet and which is no later than its
//!    earliest pending deadline (so it always ends by its deadline); an ended job has none, and
//!    every wake-up belongs to a job that has not ended.

use crate::{
	matching::{job_key, offer_key, split_key},
	BalanceOf, BookPosition, BookSize, BookSlots, Config, DeadlineCursor, Deadlines, HoldReason,
	JobBook, JobPhase, Jobs, OfferBook, Offers, Pallet, Programs, RestingJobs,
};
use alloc::{collections::btree_map::BTreeMap, vec::Vec};
use frame_support::traits::fungible::InspectHold;
use sp_runtime::{traits::Saturating, TryRuntimeError};
use stratus_primitives::{JobId, OfferId, ProviderRegistry};

impl<T: Config> Pallet<T> {
	/// Check every invariant listed in this module's documentation.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		let mut escrow: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut in_use: BTreeMap<OfferId, Vec<JobId>> = BTreeMap::new();
		let now = frame_system::Pallet::<T>::block_number();
		let cursor = DeadlineCursor::<T>::get();
		for (id, job) in Jobs::<T>::iter() {
			match job.wake_at {
				None => ensure(job.phase.is_final(), "8: a running job without a wake-up")?,
				Some(at) => {
					ensure(!job.phase.is_final(), "8: an ended job keeps a wake-up")?;
					ensure(Deadlines::<T>::contains_key(at, id), "8: a wake-up is not queued")?;
					ensure(cursor.is_none_or(|c| at >= c), "8: a wake-up the hook has passed")?;
					let next = Self::next_wake(&job).unwrap_or(at);
					ensure(
						at <= next.max(now.saturating_add(1u32.into())),
						"8: a wake-up later than the job's earliest deadline",
					)?;
				},
			}
			let held = escrow.entry(job.requester.clone()).or_default();
			*held = held.saturating_add(job.escrow);
			let deposit = deposits.entry(job.requester.clone()).or_default();
			*deposit = deposit.saturating_add(job.deposit);
			if job.phase.is_final() {
				ensure(job.escrow == Default::default(), "1: a finished job holds escrow")?;
			} else if job.deadline >= now {
				let program = Programs::<T>::get(job.program);
				ensure(program.is_some(), "7: a job runs a missing program")?;
				ensure(
					program.and_then(|p| p.removable_at).is_none_or(|at| at > job.deadline),
					"7: a program removable before the deadline of a job that runs it",
				)?;
			}
			let mut providers = Vec::new();
			for replica in job.replicas.iter() {
				ensure(replica.price <= job.max_price, "3: a replica above its job's max price")?;
				ensure(!providers.contains(&replica.provider), "4: a provider holds two replicas")?;
				providers.push(replica.provider.clone());
				if replica.state.is_live() {
					ensure(
						T::Providers::profile(&replica.provider).is_some(),
						"2: a replica's provider is unregistered",
					)?;
					in_use.entry(replica.offer).or_default().push(id);
				}
			}
		}
		let mut resting: BTreeMap<T::AccountId, u32> = BTreeMap::new();
		for (kind, key, ()) in JobBook::<T>::iter() {
			let (_, id) = split_key(&key);
			let job = Jobs::<T>::get(id).ok_or(TryRuntimeError::Other("6: a bid without a job"))?;
			let n = resting.entry(job.requester.clone()).or_default();
			*n = n.saturating_add(1);
			ensure(
				job.kind == kind && key == job_key::<T>(job.max_price, id),
				"6: a bid under the wrong key",
			)?;
			ensure(
				job.phase == JobPhase::Open && job.unfilled() > 0,
				"6: a job rests in the job book with nothing to match",
			)?;
		}
		for (who, total) in escrow {
			let held = T::Currency::balance_on_hold(&HoldReason::JobEscrow.into(), &who);
			ensure(held == total, "1: held escrow differs from the jobs' escrow")?;
		}
		for (who, total) in deposits {
			let held = T::Currency::balance_on_hold(&HoldReason::JobDeposit.into(), &who);
			ensure(held == total, "1: held job deposits differ from the jobs' deposits")?;
		}
		for (who, n) in resting {
			ensure(RestingJobs::<T>::get(&who) == n, "6: a requester's resting count is wrong")?;
		}
		ensure(
			RestingJobs::<T>::iter().all(|(_, n)| n > 0),
			"6: a resting count of zero is stored",
		)?;
		let mut booked = 0usize;
		for (id, offer) in Offers::<T>::iter() {
			let mut used = in_use.remove(&id).unwrap_or_default();
			let mut jobs = offer.jobs.to_vec();
			used.sort_unstable();
			jobs.sort_unstable();
			ensure(jobs == used, "5: an offer's jobs differ from its live replicas")?;
			ensure(offer.in_use() <= offer.slots, "5: an offer uses more slots than it has")?;
			if !offer.open {
				ensure(offer.slots == offer.in_use(), "5: a closed offer holds free slots")?;
			}
			let in_book =
				OfferBook::<T>::contains_key(offer.class.kind(), offer_key::<T>(offer.price, id));
			ensure(
				in_book == (offer.open && offer.free() > 0),
				"6: the offer book is out of step",
			)?;
			booked = booked.saturating_add(usize::from(in_book));
		}
		ensure(in_use.is_empty(), "5: a live replica on a missing offer")?;
		// The dense index holds exactly the booked offers, each at its recorded position.
		let mut indexed = 0usize;
		for (kind, position, id) in BookSlots::<T>::iter() {
			ensure(position < BookSize::<T>::get(kind), "6: a book index entry past its size")?;
			ensure(BookPosition::<T>::get(id) == Some(position), "6: a book index out of step")?;
			let offer = Offers::<T>::get(id)
				.ok_or(TryRuntimeError::Other("6: an index without an offer"))?;
			ensure(
				offer.class.kind() == kind
					&& OfferBook::<T>::contains_key(kind, offer_key::<T>(offer.price, id)),
				"6: an indexed offer out of the book",
			)?;
			indexed = indexed.saturating_add(1);
		}
		ensure(indexed == booked, "6: the book index misses booked offers")?;
		ensure(
			BookPosition::<T>::iter().count() == indexed,
			"6: a book position without an index entry",
		)?;
		ensure(
			OfferBook::<T>::iter().count() == booked,
			"6: an offer-book entry without an offer",
		)?;
		for (at, id, ()) in Deadlines::<T>::iter() {
			let job = Jobs::<T>::get(id);
			ensure(
				job.is_some_and(|j| j.wake_at == Some(at)),
				"8: a wake-up of a missing, ended or rescheduled job",
			)?;
		}
		Ok(())
	}
}

fn ensure(condition: bool, message: &'static str) -> Result<(), TryRuntimeError> {
	if condition {
		Ok(())
	} else {
		Err(TryRuntimeError::Other(message))
	}
}

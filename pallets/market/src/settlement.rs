//! Money and the end of things: payments, refunds, slots given back, reveal windows, verdicts.

use crate::{
	BalanceOf, Config, Deadlines, Event, HoldReason, Job, JobPhase, Missed, Offers, Pallet,
	ProviderOffers, ReplicaState, Role,
};
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{BalancedHold, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
		OnUnbalanced,
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{SaturatedConversion, Saturating, Zero};
use stratus_primitives::{
	JobId, Offence, OffenceKind, OfferId, OnDispute, OnOffence, ProviderRegistry, ReplicaIndex,
	ReputationProvider, ResultOutcome, Reveal, Verdict, VerificationPolicy, Verifier,
};

impl<T: Config> Pallet<T> {
	/// Stop an offer matching: out of the book, free slots back to the stake. The record goes
	/// once no replica uses it.
	pub(crate) fn close_offer(offer_id: OfferId, expired: bool) {
		if let Some(offer) = Offers::<T>::get(offer_id) {
			Self::close_loaded_offer(offer_id, offer, expired);
		}
	}

	/// [`Self::close_offer`] for an offer already read (and maybe changed but not yet stored).
	fn close_loaded_offer(offer_id: OfferId, mut offer: crate::Offer<T>, expired: bool) {
		if !offer.open {
			return;
		}
		Self::book_remove(offer.class.kind(), offer.price, offer_id);
		T::Providers::release_slots(&offer.provider, offer.free());
		offer.open = false;
		offer.slots = offer.in_use();
		Self::deposit_event(Event::OfferClosed { offer: offer_id, expired });
		Self::store_or_drop_offer(offer_id, offer);
	}

	/// Keep an offer's record, or drop it when it is closed and serves nobody.
	fn store_or_drop_offer(offer_id: OfferId, offer: crate::Offer<T>) {
		if !offer.open && offer.jobs.is_empty() {
			ProviderOffers::<T>::mutate(&offer.provider, |ids| ids.retain(|id| *id != offer_id));
			Offers::<T>::remove(offer_id);
			Self::deposit_event(Event::OfferReaped { offer: offer_id });
		} else {
			Offers::<T>::insert(offer_id, offer);
		}
	}

	/// A replica ends: its slot goes back to its offer (and the offer back into the book), or,
	/// when the offer is closed or expired, back to the provider's stake.
	pub(crate) fn release_slot(offer_id: OfferId, job: JobId) {
		let Some(mut offer) = Offers::<T>::get(offer_id) else { return };
		let now = frame_system::Pallet::<T>::block_number();
		let was_full = offer.free() == 0;
		offer.jobs.retain(|j| *j != job);
		if offer.open && offer.expires_at <= now {
			Self::close_loaded_offer(offer_id, offer, true);
			return;
		}
		if offer.open {
			if was_full {
				Self::book_insert(offer.class.kind(), offer.price, offer_id);
			}
		} else {
			offer.slots = offer.slots.saturating_sub(1);
			T::Providers::release_slots(&offer.provider, 1);
		}
		Self::store_or_drop_offer(offer_id, offer);
	}

	/// Mark a live replica missed, give its slot back and report the offence: which deadline it
	/// missed follows from where it was (assigned: the acknowledgement; acknowledged: the commit;
	/// committed: the reveal).
	pub(crate) fn miss(id: JobId, job: &mut Job<T>, index: ReplicaIndex) {
		let round = job.round;
		let Some(state) = job.replicas.iter().find(|r| r.index == index).map(|r| r.state) else {
			return;
		};
		let (missed, kind, honest) = match state {
			ReplicaState::Assigned => (Missed::Ack, OffenceKind::MissedAck, Vec::new()),
			ReplicaState::Acknowledged => (Missed::Commit, OffenceKind::MissedCommit, Vec::new()),
			// The replicas that revealed in this round: a missing reveal leaves them without a
			// verdict, and the slash compensates them.
			ReplicaState::Committed => (
				Missed::Reveal,
				OffenceKind::MissedReveal,
				job.replicas
					.iter()
					.filter(|r| r.state == ReplicaState::Revealed && r.round == round)
					.map(|r| r.provider.clone())
					.collect(),
			),
			_ => return,
		};
		let requester = job.requester.clone();
		let Some(replica) = job.replica_mut(index) else { return };
		replica.state = ReplicaState::Missed(missed);
		let (offer, provider) = (replica.offer, replica.provider.clone());
		Self::release_slot(offer, id);
		Self::deposit_event(Event::ReplicaMissed {
			job: id,
			replica: index,
			provider: provider.clone(),
			missed,
		});
		T::Reputation::record_result(&provider, job.kind, ResultOutcome::Missed);
		T::OnOffence::on_offence(Offence {
			provider,
			job: id,
			replica: index,
			kind,
			requester,
			honest,
		});
	}

	/// Pay the provider of replica `index` for `units` (at most the job's `max_units`) at its
	/// price, less the protocol fee, from the job's escrow. Returns the amount taken from the
	/// escrow.
	pub(crate) fn pay(
		id: JobId,
		job: &mut Job<T>,
		index: ReplicaIndex,
		units: u64,
	) -> BalanceOf<T> {
		let requester = job.requester.clone();
		let (max_units, escrow) = (job.max_units, job.escrow);
		let Some(replica) = job.replica_mut(index) else { return Zero::zero() };
		let units = units.min(max_units);
		let amount = replica.price.saturating_mul(units.saturated_into()).min(escrow);
		if amount.is_zero() {
			return amount;
		}
		let fee = T::ProtocolFee::get().mul_floor(amount);
		let to_provider = amount.saturating_sub(fee);
		let reason = HoldReason::JobEscrow.into();
		let paid = T::Currency::transfer_on_hold(
			&reason,
			&requester,
			&replica.provider,
			to_provider,
			Precision::Exact,
			Restriction::Free,
			Fortitude::Polite,
		);
		if paid.is_err() {
			// The escrow always covers `amount` (held at submission, only ever reduced by what is
			// paid out): this cannot happen. The money stays held and is refunded at the end.
			frame_support::defensive!("escrow could not pay a provider");
			return Zero::zero();
		}
		let (credit, _) =
			<T::Currency as BalancedHold<T::AccountId>>::slash(&reason, &requester, fee);
		T::FeeDestination::on_unbalanced(credit);
		replica.paid = to_provider;
		let provider = replica.provider.clone();
		job.escrow = job.escrow.saturating_sub(amount);
		Self::deposit_event(Event::ProviderPaid {
			job: id,
			replica: index,
			provider,
			amount: to_provider,
			fee,
		});
		amount
	}

	/// End a job in `phase`: give every live slot back, refund what is still held, forget its
	/// commitments. Returns the amount refunded.
	pub(crate) fn end_job(
		id: JobId,
		job: &mut Job<T>,
		phase: JobPhase<BlockNumberFor<T>>,
	) -> BalanceOf<T> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut offers = Vec::new();
		for replica in job.replicas.iter_mut() {
			if replica.state.is_live() {
				replica.state = ReplicaState::Done;
				offers.push(replica.offer);
			}
		}
		for offer in offers {
			Self::release_slot(offer, id);
		}
		let refunded = T::Currency::release(
			&HoldReason::JobEscrow.into(),
			&job.requester,
			job.escrow,
			Precision::BestEffort,
		)
		.unwrap_or_default();
		job.escrow = Zero::zero();
		job.phase = phase;
		job.ended_at = Some(now);
		// Its wake-up goes with it: an ended job costs the hook nothing later.
		if let Some(at) = job.wake_at.take() {
			Deadlines::<T>::remove(at, id);
		}
		T::Verifier::forget(id);
		Self::leave_job_book(id, job);
		refunded
	}

	/// Start a new round of a job whose reveal round ended without a verdict because replicas
	/// missed their reveal: the replicas that revealed are superseded (their digests are public,
	/// so a replica assigned now could copy them) and give their slots back, the commitments are
	/// forgotten, and `replication` fresh replicas on providers the job has not had are matched
	/// and judged among themselves (finding M-5).
	pub(crate) fn new_round(id: JobId, job: &mut Job<T>) {
		let mut offers = Vec::new();
		for replica in job.replicas.iter_mut() {
			if replica.state.is_live() {
				replica.state = ReplicaState::Superseded;
				offers.push(replica.offer);
			}
		}
		for offer in offers {
			Self::release_slot(offer, id);
		}
		T::Verifier::forget(id);
		job.round = job.round.saturating_add(1);
		if !job.referees {
			// The new round starts as the first did: its primary decides an adaptive job's
			// replicas again.
			job.replication = job.policy.first_round();
			job.spot_check = None;
		}
		Self::deposit_event(Event::RoundStarted { job: id, round: job.round });
	}

	/// Call referees on a round whose results disagreed without a majority: its replicas are
	/// referred (they give their slots back; their results wait for the referees' verdict), the
	/// commitments are forgotten, and `Referees` fresh replicas, drawn at random weighted by stake
	/// from providers the job has not had, run the job in a round of their own.
	pub(crate) fn call_referees(id: JobId, job: &mut Job<T>) {
		let mut offers = Vec::new();
		for replica in job.replicas.iter_mut() {
			if replica.state == ReplicaState::Revealed {
				replica.state = ReplicaState::Referred;
				offers.push(replica.offer);
			}
		}
		for offer in offers {
			Self::release_slot(offer, id);
		}
		T::Verifier::forget(id);
		job.round = job.round.saturating_add(1);
		job.referees = true;
		job.replication = T::Referees::get();
		job.phase = JobPhase::Open;
		Self::deposit_event(Event::RefereesCalled { job: id, round: job.round });
		Self::refill(id, job);
	}

	/// Open the reveal window for whatever has committed.
	pub(crate) fn open_reveal(id: JobId, job: &mut Job<T>) {
		let now = frame_system::Pallet::<T>::block_number();
		let until = now.saturating_add(T::RevealWindow::get()).min(job.deadline);
		job.phase = JobPhase::Revealing { until };
		Self::leave_job_book(id, job);
		Self::deposit_event(Event::RevealOpened { job: id, until });
	}

	/// Move an open job on after one of its replicas changed: open the reveal window once every
	/// replica has committed; finish a revealing job once every committed replica revealed.
	pub(crate) fn advance(id: JobId, job: &mut Job<T>) {
		match job.phase {
			JobPhase::Open => {
				let all_done = job.unfilled() == 0
					&& job
						.replicas
						.iter()
						.filter(|r| r.state.is_live())
						.all(|r| r.state.has_committed());
				let any_pending = job.replicas.iter().any(|r| r.state == ReplicaState::Committed);
				if all_done && any_pending && !job.spot_check_undecided() {
					Self::open_reveal(id, job);
				}
			},
			JobPhase::Revealing { .. }
				if !job.replicas.iter().any(|r| r.state == ReplicaState::Committed) =>
			{
				Self::finalize(id, job)
			},
			_ => {},
		}
	}

	/// The result a replica revealed.
	fn reveal_of(r: &crate::Replica<T>) -> Option<Reveal> {
		Some(Reveal { replica: r.index, digest: r.digest?, units: r.units.unwrap_or(0) })
	}

	/// Settle a job on its canonical result: the replicas in `agreeing` are paid `units` each
	/// and credited; those in `outvoted` are reported for a wrong result (the agreeing ones are
	/// the honest replicas their slash compensates); the rest of the escrow is refunded.
	fn settle(
		id: JobId,
		job: &mut Job<T>,
		digest: sp_core::H256,
		units: u64,
		agreeing: Vec<ReplicaIndex>,
		outvoted: Vec<ReplicaIndex>,
	) {
		let provider_of = |job: &Job<T>, index: ReplicaIndex| {
			job.replicas.iter().find(|r| r.index == index).map(|r| r.provider.clone())
		};
		let honest: Vec<T::AccountId> =
			agreeing.iter().filter_map(|i| provider_of(job, *i)).collect();
		let mut paid = BalanceOf::<T>::zero();
		for index in agreeing {
			paid = paid.saturating_add(Self::pay(id, job, index, units));
		}
		for provider in honest.iter() {
			T::Reputation::record_result(provider, job.kind, ResultOutcome::Agreed);
		}
		for replica in outvoted {
			let Some(provider) = provider_of(job, replica) else { continue };
			T::Reputation::record_result(&provider, job.kind, ResultOutcome::Outvoted);
			T::OnOffence::on_offence(Offence {
				provider,
				job: id,
				replica,
				kind: OffenceKind::WrongResult,
				requester: job.requester.clone(),
				honest: honest.clone(),
			});
		}
		let refunded = Self::end_job(id, job, JobPhase::Settled { digest });
		Self::deposit_event(Event::JobSettled { job: id, digest, units, paid, refunded });
	}

	/// Judge a job's reveals: settle on a quorum, reissue missed reveals while there is time,
	/// otherwise end it disputed or expired.
	pub(crate) fn finalize(id: JobId, job: &mut Job<T>) {
		let unrevealed: Vec<ReplicaIndex> = job
			.replicas
			.iter()
			.filter(|r| r.state == ReplicaState::Committed)
			.map(|r| r.index)
			.collect();
		for index in &unrevealed {
			Self::miss(id, job, *index);
		}
		// Only this round's replicas reveal (earlier rounds' are superseded).
		let reveals: Vec<Reveal> = job
			.replicas
			.iter()
			.filter(|r| r.state == ReplicaState::Revealed && r.round == job.round)
			.filter_map(Self::reveal_of)
			.collect();
		let now = frame_system::Pallet::<T>::block_number();
		// A replicated job's spot-check that did not reveal leaves its round to stand on its own
		// (its replicas verify each other); an adaptive job's is its only check.
		let checker: Vec<ReplicaIndex> = job
			.replicas
			.iter()
			.filter(|r| r.round == job.round && r.role == Role::SpotCheck)
			.map(|r| r.index)
			.collect();
		let checked = reveals.iter().any(|r| checker.contains(&r.replica));
		let replication = match job.policy {
			VerificationPolicy::Replicated(n) if !job.referees && !checked => n,
			_ => job.replication,
		};
		let mut verdict = T::Verifier::judge(job.kind, replication, &reveals);
		let overruled = match &verdict {
			// Referees decide only together: a result that not all of them gave settles nothing
			// (a ring must hold every referee, not a majority of them, to outvote an honest
			// replica). A spot-check is never simply outvoted by the round it checks (a ring
			// holding the round would always be): its disagreement calls the referees.
			Verdict::Canonical { agreeing, outvoted, .. } => {
				(job.referees && agreeing.len() < usize::from(job.replication))
					|| outvoted.iter().any(|i| checker.contains(i))
			},
			_ => false,
		};
		if overruled {
			verdict = Verdict::Disputed;
		}
		match verdict {
			Verdict::Canonical { digest, units, mut agreeing, mut outvoted } => {
				// A referee round's verdict judges the referred results as well.
				for r in job.replicas.iter().filter(|r| r.state == ReplicaState::Referred) {
					let Some(reveal) = Self::reveal_of(r) else { continue };
					if stratus_primitives::abstains(&reveal.digest) {
						continue;
					}
					if T::Verifier::agrees(job.kind, digest, units, &reveal) {
						agreeing.push(r.index);
					} else {
						outvoted.push(r.index);
					}
				}
				Self::settle(id, job, digest, units, agreeing, outvoted);
			},
			Verdict::Disputed
				if job.policy.escalates()
					&& !job.referees
					&& job.replicas.len().saturating_add(usize::from(T::Referees::get()))
						<= T::MaxReplicasPerJob::get() as usize
					&& Self::time_allows(job, now) =>
			{
				Self::call_referees(id, job);
			},
			verdict => {
				let room = job.replicas.len().saturating_add(usize::from(job.replication))
					<= T::MaxReplicasPerJob::get() as usize;
				// A timed-out replica abstained: like a missing reveal, it leaves the round short.
				let short = !unrevealed.is_empty()
					|| reveals.iter().any(|r| stratus_primitives::abstains(&r.digest));
				if short && room && Self::time_allows(job, now) {
					Self::new_round(id, job);
					job.phase = JobPhase::Open;
					// Whatever cannot be matched now rests in the job book.
					Self::refill(id, job);
					return;
				}
				// A referee round without a verdict leaves the dispute it was called on standing.
				let disputed = verdict == Verdict::Disputed || job.referees;
				let phase = if disputed { JobPhase::Disputed } else { JobPhase::Expired };
				let refunded = Self::end_job(id, job, phase);
				if disputed {
					// Every replica records the disagreement (the referred ones too); nobody is
					// slashed for it.
					let mut disputed = reveals.clone();
					disputed.extend(
						job.replicas
							.iter()
							.filter(|r| r.state == ReplicaState::Referred)
							.filter_map(Self::reveal_of),
					);
					for reveal in disputed.iter() {
						if let Some(r) = job.replicas.iter().find(|r| r.index == reveal.replica) {
							T::Reputation::record_result(
								&r.provider,
								job.kind,
								ResultOutcome::Disputed,
							);
						}
					}
					T::OnDispute::on_dispute(id, &disputed);
					Self::deposit_event(Event::JobDisputed { job: id, refunded });
				} else {
					Self::deposit_event(Event::JobExpired { job: id, refunded });
				}
			},
		}
	}
}

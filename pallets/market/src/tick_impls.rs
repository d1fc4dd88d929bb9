//! Deadlines: every job that has not ended has exactly one wake-up queued, at the block after
//! its earliest pending deadline; the block-start hook handles what is due (metered, so that a
//! crowded block carries the rest over to the next), and anyone may end an overdue job whose
//! wake-up the hook has not reached yet.
//!
//! The queue, `Deadlines`, is a map keyed by `(block, job)` with no per-block cap: queuing cannot
//! fail, so no deadline is ever dropped (finding H-2 of the December 2026 review), and an ended job
//! takes its wake-up with it.

use crate::{
	Config, DeadlineCursor, Deadlines, Error, Event, Job, JobPhase, Jobs, Pallet, ReplicaState,
	SealedRandomness, SpotCheck, WeightInfo,
};
use alloc::vec::Vec;
use codec::Encode;
use frame_support::traits::Randomness;
use frame_support::{pallet_prelude::*, weights::WeightMeter};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_core::H256;
use sp_runtime::traits::{One, Saturating};
use sp_runtime::Perbill;
use stratus_primitives::ReputationProvider;
use stratus_primitives::{JobId, VerificationPolicy};

/// What handling one job's wake-up did, for its weight.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Handled {
	/// Replicas that missed their acknowledgement or commit, with the refill walk after them.
	pub missed: bool,
	/// The commit window closed (replicas missed, the reveal window opened or the job ended).
	pub commit_close: bool,
	/// The reveal window closed and the job was judged.
	pub reveal_close: bool,
	/// An `adaptive` job's spot-check was decided (and, when it is checked, drawn).
	pub spot_check: bool,
}

impl<T: Config> Pallet<T> {
	/// The block's share of what every job placed in it writes: the job counter (`NextJobId`),
	/// read and written once per block however many jobs touch it, so the block pays for it here
	/// and `submit_job`'s benchmark whitelists it — the way FRAME treats `System::Account` of the
	/// signer or `System::BlockWeight`.
	pub(crate) fn hot_keys_weight() -> Weight {
		T::DbWeight::get().reads_writes(1, 1)
	}

	/// The block in which the hook must look at `job` next: the block after its earliest pending
	/// deadline (a replica's acknowledgement or commit deadline, the commit close when it is short
	/// of replicas or has some to judge, the reveal window's close), and never after the block
	/// after its deadline. `None` for an ended job.
	pub(crate) fn next_wake(job: &Job<T>) -> Option<BlockNumberFor<T>> {
		let after = |b: BlockNumberFor<T>| b.saturating_add(One::one());
		let mut wake = after(job.deadline);
		match job.phase {
			JobPhase::Open => {
				for replica in job.replicas.iter() {
					let due = match replica.state {
						ReplicaState::Assigned => Some(replica.ack_by),
						ReplicaState::Acknowledged => replica.commit_by,
						_ => None,
					};
					if let Some(due) = due {
						wake = wake.min(after(due));
					}
				}
				if let Some(at) = job.spot_check.and_then(|s| s.due_at()) {
					wake = wake.min(at);
				}
				// The commit close ends a job that is short of replicas, and opens the reveals of
				// one whose missing replicas could not be reissued.
				let waiting = job.replicas.iter().any(|r| r.state.is_live());
				if job.unfilled() > 0 || !waiting {
					wake = wake.min(job.commit_close());
				}
			},
			JobPhase::Revealing { until } => wake = wake.min(after(until)),
			_ => return None,
		}
		Some(wake)
	}

	/// Store `job`, its wake-up queued where [`Self::next_wake`] says.
	pub(crate) fn store_job(id: JobId, mut job: Job<T>) {
		Self::reschedule(id, &mut job);
		Jobs::<T>::insert(id, job);
	}

	/// Queue the job's wake-up where [`Self::next_wake`] says (never before the next block, which
	/// the hook has not reached), moving the one it had; an ended job's wake-up is removed. Call
	/// after any change to a job's deadlines or phase, before storing it.
	pub(crate) fn reschedule(id: JobId, job: &mut Job<T>) {
		let now = frame_system::Pallet::<T>::block_number();
		let wake = Self::next_wake(job).map(|at| at.max(now.saturating_add(One::one())));
		if wake == job.wake_at {
			return;
		}
		if let Some(old) = job.wake_at {
			Deadlines::<T>::remove(old, id);
		}
		if let Some(at) = wake {
			Deadlines::<T>::insert(at, id, ());
		}
		job.wake_at = wake;
	}

	/// The weight of handling one wake-up at its worst: replicas missing their deadlines and the
	/// refill walk, the spot-check's decision, the commit close, and the judging of the reveals.
	pub(crate) fn wake_weight_max() -> Weight {
		Self::handled_weight(Handled {
			missed: true,
			commit_close: true,
			reveal_close: true,
			spot_check: true,
		})
	}

	/// Replicas missing their deadlines and their reissue: measured for a walk to the cheapest
	/// offer (`deadline_ack`, `deadline_commit`), plus a draw, for a missed verifier, spot-check or
	/// referee (and the referees a judged dispute calls) is drawn instead.
	pub(crate) fn missed_weight() -> Weight {
		let scan = T::MaxMatchScan::get();
		T::WeightInfo::deadline_ack(scan)
			.max(T::WeightInfo::deadline_commit(scan))
			.saturating_add(Self::draw_weight(true))
	}

	/// Deciding a spot-check: the provider's reputation and the randomness read, and the draw of
	/// the second replica.
	pub(crate) fn spot_check_weight() -> Weight {
		T::DbWeight::get().reads(2).saturating_add(Self::draw_weight(true))
	}

	/// The weight of handling one wake-up that did `handled`: reading the job and moving its
	/// wake-up, and what it handled.
	pub(crate) fn wake_weight(handled: Handled) -> Weight {
		T::DbWeight::get().reads_writes(1, 3).saturating_add(Self::handled_weight(handled))
	}

	/// What the deadlines `handled` cost, beyond reading the job.
	fn handled_weight(handled: Handled) -> Weight {
		// A dispute's referee round judges the replicas of its first round and its referees.
		let replicas = T::MaxReplicasPerJob::get();
		let mut weight = Weight::zero();
		if handled.missed {
			weight = weight.saturating_add(Self::missed_weight());
		}
		if handled.spot_check {
			weight = weight.saturating_add(Self::spot_check_weight());
		}
		if handled.commit_close {
			weight = weight.saturating_add(T::WeightInfo::deadline_commit_close(replicas));
		}
		if handled.reveal_close {
			weight = weight.saturating_add(T::WeightInfo::deadline_reveal(replicas));
		}
		weight
	}

	/// Handle every wake-up due by `now`, within `MaxDeadlineWeight`.
	pub(crate) fn on_initialize_deadlines(now: BlockNumberFor<T>) -> Weight {
		let mut meter = WeightMeter::with_limit(T::MaxDeadlineWeight::get());
		let per_block = T::WeightInfo::deadlines_block();
		let worst = Self::wake_weight_max();
		// A chain that gains this pallet later starts from its current block.
		let mut block = DeadlineCursor::<T>::get().unwrap_or(now);
		while block <= now {
			if meter.try_consume(per_block).is_err() {
				break;
			}
			// Handlers queue only from `now + 1` on, never into the block being drained.
			let due: Vec<JobId> = Deadlines::<T>::iter_key_prefix(block).collect();
			for id in due {
				if !meter.can_consume(worst) {
					DeadlineCursor::<T>::put(block);
					return meter.consumed();
				}
				let handled = Self::wake(id, now);
				meter.consume(Self::wake_weight(handled));
			}
			block = block.saturating_add(One::one());
		}
		DeadlineCursor::<T>::put(block);
		meter.consumed()
	}

	/// Handle the wake-up of job `id`: act on every deadline of it that has passed by `now`, then
	/// queue its next wake-up.
	pub(crate) fn wake(id: JobId, now: BlockNumberFor<T>) -> Handled {
		let Some(mut job) = Jobs::<T>::get(id) else {
			// Defensive: a job takes its wake-up with it when it is removed.
			Deadlines::<T>::remove(now, id);
			return Handled::default();
		};
		if let Some(at) = job.wake_at {
			Deadlines::<T>::remove(at, id);
			job.wake_at = None;
		}
		let handled = Self::handle_due(id, &mut job, now);
		Self::reschedule(id, &mut job);
		Jobs::<T>::insert(id, job);
		handled
	}

	/// Act on the deadlines of `job` that have passed by `now`; a deadline the job has moved past
	/// is ignored.
	pub(crate) fn handle_due(id: JobId, job: &mut Job<T>, now: BlockNumberFor<T>) -> Handled {
		let mut handled = Handled::default();
		if job.phase == JobPhase::Open {
			let late: Vec<_> = job
				.replicas
				.iter()
				.filter(|r| match r.state {
					ReplicaState::Assigned => r.ack_by < now,
					ReplicaState::Acknowledged => r.commit_by.is_some_and(|c| c < now),
					_ => false,
				})
				.map(|r| r.index)
				.collect();
			if !late.is_empty() {
				handled.missed = true;
				for index in late {
					Self::miss(id, job, index);
				}
				Self::refill(id, job);
				Self::advance(id, job);
			}
		}
		if job.phase == JobPhase::Open {
			if let Some(at) = job.spot_check.and_then(|s| s.due_at()) {
				if at <= now {
					handled.spot_check = true;
					Self::decide_spot_check(id, job);
				}
			}
		}
		if job.phase == JobPhase::Open && now >= job.commit_close() {
			handled.commit_close = true;
			Self::close_commits(id, job);
		}
		match job.phase {
			JobPhase::Revealing { until } if until < now => {
				handled.reveal_close = true;
				Self::finalize(id, job);
				// A new round walked the book for fresh replicas.
				handled.missed |= job.phase == JobPhase::Open;
			},
			_ => {},
		}
		if !job.phase.is_final() && now > job.deadline {
			// Defensive: every path above ends a job by its deadline. Whatever is still held is
			// refunded rather than kept for ever.
			frame_support::defensive!("a job outlived its deadline");
			let refunded = Self::end_job(id, job, JobPhase::Expired);
			Self::deposit_event(Event::JobExpired { job: id, refunded });
		}
		handled
	}

	/// The chance that the round of `job` is spot-checked: for an `adaptive` job's replica running
	/// alone, what its provider's reputation gives (certainly, for a provider without a record);
	/// for a `Replicated(n)` job's round, [`Config::ReplicatedSpotCheck`].
	pub(crate) fn spot_check_rate(job: &Job<T>) -> Perbill {
		if let VerificationPolicy::Replicated(_) = job.policy {
			return T::ReplicatedSpotCheck::get();
		}
		job.replicas
			.iter()
			.find(|r| r.round == job.round && r.state.is_live())
			.and_then(|r| T::Reputation::spot_check_rate(&r.provider, job.kind))
			.unwrap_or_else(Perbill::one)
	}

	/// What the spot-check's draw for round `round` of job `id` is mixed with.
	fn spot_check_subject(id: JobId, round: u8) -> Vec<u8> {
		(b"stratus/spot-check", id, round).encode()
	}

	/// Whether `seed` draws a spot-check at `rate`.
	fn spot_check_drawn(seed: H256, rate: Perbill) -> bool {
		let head = stratus_primitives::leading_bytes(seed.as_bytes());
		Perbill::from_parts(u32::from_le_bytes(head) % 1_000_000_000) < rate
	}

	/// Whether the spot-check of job `id`, waiting for its draw, will draw a second replica
	/// (`Some(true)`; a `Replicated(n)` job's may still be dropped for want of one), asked at the
	/// block whose hash is `hash`; `None` when no draw waits or its outcome is not known yet.
	/// The commitment's block fixes the outcome ([`SpotCheck::Drawing`]): a worker asks at that
	/// block and, spared, reveals into the next one, whose hook opens the reveal window.
	pub fn spot_check_forecast(id: JobId, hash: H256) -> Option<bool> {
		let job = Jobs::<T>::get(id)?;
		let Some(SpotCheck::Drawing { at, rate }) = job.spot_check else { return None };
		let sealed = at.saturating_sub(One::one());
		let subject = Self::spot_check_subject(id, job.round);
		let now = frame_system::Pallet::<T>::block_number();
		let seed = if sealed == now {
			T::Randomness::of_hash(&subject, hash)
		} else if sealed < now {
			T::Randomness::of_block(&subject, sealed)?
		} else {
			return None;
		};
		Some(Self::spot_check_drawn(seed, rate))
	}

	/// Decide whether the committed replica of an `adaptive` job that runs alone is spot-checked,
	/// with the chance [`Self::spot_check_rate`] gave when it committed, from the randomness the
	/// commitment's block fixed ([`SpotCheck::Drawing`]). A spot-check draws a second replica at
	/// random, weighted by stake; a spared replica's result goes to its reveal.
	///
	/// A `Replicated(n)` job's round is checked at the fixed rate
	/// [`Config::ReplicatedSpotCheck`]; its `n` replicas verify each other anyway, so when nobody
	/// eligible is there to draw, the check is dropped rather than waited for.
	pub(crate) fn decide_spot_check(id: JobId, job: &mut Job<T>) {
		let subject = Self::spot_check_subject(id, job.round);
		let (rate, sealed) = match job.spot_check {
			Some(SpotCheck::Drawing { at, rate }) => {
				(rate, T::Randomness::of_block(&subject, at.saturating_sub(One::one())))
			},
			// State from before spec 114: the rate now, the randomness of the parent block.
			_ => (Self::spot_check_rate(job), None),
		};
		let seed = sealed.unwrap_or_else(|| T::Randomness::random(&subject).0);
		let adaptive = job.policy == VerificationPolicy::Adaptive;
		let mut checked = Self::spot_check_drawn(seed, rate);
		if adaptive {
			Self::deposit_event(Event::SpotCheckDecided { job: id, checked, rate });
		}
		if checked {
			let (round, short) = (job.replication, job.unfilled());
			job.spot_check = Some(SpotCheck::Checked);
			job.replication = round.saturating_add(1);
			Self::refill(id, job);
			if !adaptive && job.unfilled() > short {
				job.replication = round;
				job.spot_check = Some(SpotCheck::Spared);
				Self::sync_job_book(id, job);
				checked = false;
			}
		} else {
			job.spot_check = Some(SpotCheck::Spared);
		}
		if !adaptive {
			Self::deposit_event(Event::SpotCheckDecided { job: id, checked, rate });
		}
		Self::advance(id, job);
	}

	/// The commit window closed: uncommitted replicas miss; the reveal window opens for whatever
	/// committed, the reveals already in are judged, or the job expires.
	fn close_commits(id: JobId, job: &mut Job<T>) {
		let late: Vec<_> = job
			.replicas
			.iter()
			.filter(|r| r.state.is_live() && !r.state.has_committed())
			.map(|r| r.index)
			.collect();
		for index in late {
			Self::miss(id, job, index);
		}
		Self::leave_job_book(id, job);
		if job.replicas.iter().any(|r| r.state == ReplicaState::Committed) {
			Self::open_reveal(id, job);
		} else if job.referees || job.replicas.iter().any(|r| r.state == ReplicaState::Revealed) {
			// Judge what revealed; a referee round judges (and ends) its dispute even when no
			// referee came.
			Self::finalize(id, job);
		} else {
			let refunded = Self::end_job(id, job, JobPhase::Expired);
			Self::deposit_event(Event::JobExpired { job: id, refunded });
		}
	}

	/// Match a job's missing replicas and put it in (or take it out of) the job book. A refill
	/// can fail only where it cannot happen (a replica index past 255, guarded by
	/// `MaxReplicasPerJob`); the job then waits for its deadlines as it is.
	pub(crate) fn refill(id: JobId, job: &mut Job<T>) {
		if Self::fill(id, job).is_err() {
			frame_support::defensive!("refilling a job failed");
		}
		Self::sync_job_book(id, job);
	}

	/// End job `id` if one of its deadlines has passed and the block-start hook has not handled
	/// it yet (a crowded chain carries wake-ups over): what `end_overdue` does.
	pub(crate) fn do_end_overdue(id: JobId) -> Result<Handled, DispatchError> {
		let job = Self::running_job(id)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(job.wake_at.is_some_and(|at| at <= now), Error::<T>::NotOverdue);
		Ok(Self::wake(id, now))
	}
}

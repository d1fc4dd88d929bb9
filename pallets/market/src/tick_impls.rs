//! Deadlines: scheduled when they are set, handled at the start of the block after they pass,
//! metered so that a crowded block carries the rest over to the next.

use crate::{
	Config, Error, Event, JobPhase, Jobs, Missed, Pallet, ReplicaState, Timeout, TimeoutCursor,
	Timeouts, WeightInfo,
};
use frame_support::{pallet_prelude::*, weights::WeightMeter};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{One, Saturating};

/// How many blocks past its due block a deadline may be queued when its block is full.
const SPILL_BLOCKS: u32 = 8;

impl<T: Config> Pallet<T> {
	/// The block's share of what every job placed in it writes: the job counter (`NextJobId`)
	/// and the queue of the acknowledgement deadlines its replicas get (`Timeouts` at
	/// `now + AckWindow + 1`, or a spill block after it). However many jobs touch them, each
	/// key is read from and written to the database once per block, so the block pays for them
	/// here, once, and `submit_job`'s benchmark whitelists them — the way FRAME treats
	/// `System::Account` of the signer (paid by the transaction extensions) or
	/// `System::BlockWeight`.
	pub(crate) fn hot_keys_weight() -> Weight {
		let keys = 2u64.saturating_add(SPILL_BLOCKS.into());
		T::DbWeight::get().reads_writes(keys, keys)
	}

	/// Queue `timeout` to be handled at block `at`, or in one of the next `SPILL_BLOCKS` blocks
	/// when `at` is full.
	pub(crate) fn schedule(at: BlockNumberFor<T>, timeout: Timeout) -> DispatchResult {
		let mut block = at;
		for _ in 0..=SPILL_BLOCKS {
			// `try_append` reads only the length prefix: queuing stays O(1) however full the block.
			let pushed = Timeouts::<T>::try_append(block, timeout).is_ok();
			if pushed {
				return Ok(());
			}
			block = block.saturating_add(One::one());
		}
		Err(Error::<T>::TimeoutQueueFull.into())
	}

	/// The weight of handling one deadline of this kind, at its worst.
	fn timeout_weight(timeout: &Timeout) -> Weight {
		let scan = T::MaxMatchScan::get();
		let replicas = T::MaxReplicasPerJob::get();
		match timeout {
			Timeout::Ack(..) => T::WeightInfo::timeout_ack(scan),
			Timeout::Commit(..) => T::WeightInfo::timeout_commit(scan),
			Timeout::CommitClose(..) => T::WeightInfo::timeout_commit_close(replicas),
			Timeout::Reveal(..) => T::WeightInfo::timeout_reveal(replicas),
		}
	}

	/// Handle every deadline due by `now`, within `MaxTimeoutWeight`.
	pub(crate) fn on_initialize_timeouts(now: BlockNumberFor<T>) -> Weight {
		let mut meter = WeightMeter::with_limit(T::MaxTimeoutWeight::get());
		let per_block = T::WeightInfo::timeouts_block();
		// A chain that gains this pallet later starts from its current block.
		let mut block = TimeoutCursor::<T>::get().unwrap_or(now);
		while block <= now {
			if meter.try_consume(per_block).is_err() {
				break;
			}
			let mut queue = Timeouts::<T>::take(block).into_inner();
			let mut handled = 0usize;
			for timeout in queue.iter() {
				if meter.try_consume(Self::timeout_weight(timeout)).is_err() {
					break;
				}
				Self::handle_timeout(*timeout, now);
				handled = handled.saturating_add(1);
			}
			if handled < queue.len() {
				// Out of weight: keep the rest for the next block.
				let rest = queue.split_off(handled);
				Timeouts::<T>::insert(
					block,
					BoundedVec::<Timeout, T::MaxTimeoutsPerBlock>::truncate_from(rest),
				);
				TimeoutCursor::<T>::put(block);
				return meter.consumed();
			}
			block = block.saturating_add(One::one());
		}
		TimeoutCursor::<T>::put(block);
		meter.consumed()
	}

	/// Act on one deadline; a deadline the job has moved past is ignored.
	pub(crate) fn handle_timeout(timeout: Timeout, now: BlockNumberFor<T>) {
		let id = timeout.job();
		let Some(mut job) = Jobs::<T>::get(id) else { return };
		if job.phase.is_final() {
			return;
		}
		match timeout {
			Timeout::Ack(_, index) | Timeout::Commit(_, index) => {
				let Some(replica) = job.replicas.iter().find(|r| r.index == index) else {
					return;
				};
				let missed = match (timeout, replica.state) {
					(Timeout::Ack(..), ReplicaState::Assigned) if replica.ack_by < now => {
						Missed::Ack
					},
					(Timeout::Commit(..), ReplicaState::Acknowledged)
						if replica.commit_by.is_some_and(|c| c < now) =>
					{
						Missed::Commit
					},
					_ => return,
				};
				Self::miss(id, &mut job, index, missed);
				if job.phase == JobPhase::Open {
					// Whatever cannot be matched now rests in the bid book.
					let _ = Self::fill(id, &mut job);
					// A full deadline queue leaves the job to its replicas' deadlines.
					let _ = Self::sync_bid_book(id, &mut job);
					Self::advance(id, &mut job);
				}
			},
			Timeout::CommitClose(_) => {
				job.close_scheduled = false;
				if job.phase != JobPhase::Open {
					Jobs::<T>::insert(id, job);
					return;
				}
				let late: alloc::vec::Vec<_> = job
					.replicas
					.iter()
					.filter(|r| r.state.is_live() && !r.state.has_committed())
					.map(|r| r.index)
					.collect();
				for index in late {
					Self::miss(id, &mut job, index, Missed::Commit);
				}
				if job.replicas.iter().any(|r| r.state == ReplicaState::Committed) {
					Self::open_reveal(id, &mut job);
				} else if job.replicas.iter().any(|r| r.state == ReplicaState::Revealed) {
					Self::finalize(id, &mut job);
				} else {
					let refunded = Self::end_job(id, &mut job, JobPhase::Expired);
					Self::deposit_event(Event::JobExpired { job: id, refunded });
				}
			},
			Timeout::Reveal(_) => match job.phase {
				JobPhase::Revealing { until } if until < now => Self::finalize(id, &mut job),
				_ => return,
			},
		}
		Jobs::<T>::insert(id, job);
	}
}

//! The reconciler: at each block the daemon acts on (the best block, or the finalized one), what
//! the market says about this provider's replicas against the job store — take new replicas on
//! (run at once and commit, which acknowledges, or acknowledge first on a runtime without that)
//! or decline them, start job tasks, commit and reveal results — then the offers' upkeep; at each
//! new *finalized* block, how replicas ended (only finality makes an end, and the right to serve
//! an output, final); between blocks, the outcomes of the transactions it sent.
//!
//! On the best chain a block can be retracted (a reorg). The reconciler acts on the chain's
//! state, not on what it sent: a step whose transaction was retracted is sent again from the
//! store (the same commitment and salt: a result is computed once per replica and kept), and a
//! record whose job is not the job the new chain has under its id (ids are handed out again on
//! another fork) is dropped with its output and checkpoint, and the new job taken on afresh.

use std::{
	collections::HashSet,
	sync::{atomic::Ordering, Arc},
	time::Duration,
};

use stratus_primitives::market::{JobPhase, ReplicaState, SpotCheck};
use tokio::sync::{mpsc, watch};

use stratus_client::subxt::utils::H256;

use super::{job_fingerprint, new_record, now_block, Daemon, Tip};
use crate::{
	chain::{self, AtBlock, Chain, ChainError, Job, Replica},
	config::Follow,
	store::{Record, ReplicaKey, Stage},
	submitter::{Outcome, Tx, TxKey},
};

/// Reconciles each block the follower hands over, and records each transaction's outcome, until
/// the daemon stops. A block it cannot finish (a chain read failed, the store refused a write)
/// asks the follower for a reconnect, after which the next block is reconciled from scratch.
pub(super) async fn reconcile(
	daemon: Arc<Daemon>,
	mut blocks: watch::Receiver<Option<Tip>>,
	mut outcomes: mpsc::Receiver<Outcome>,
	reconnect: mpsc::Sender<String>,
) {
	let mut progress = Progress::default();
	loop {
		tokio::select! {
			_ = daemon.cancel.cancelled() => return,
			changed = blocks.changed() => {
				if changed.is_err() {
					return;
				}
				let Some(tip) = blocks.borrow_and_update().clone() else { continue };
				if let Err(e) = daemon.on_block(&tip, &mut progress).await {
					// A full disk or a failing write is not the end of the worker: nothing was
					// sent that the store does not hold (results are stored before their commit
					// leaves), and the state is reconciled again after the reconnect's backoff,
					// when the store may be writable again.
					if let BlockError::Store(e) = &e {
						tracing::error!("{e}: will retry after a reconnect");
					}
					progress = Progress::default();
					let _ = reconnect.try_send(e.to_string());
				}
			},
			Some(outcome) = outcomes.recv() => daemon.on_outcome(outcome),
		}
	}
}

/// How the reconciler may act at a block.
#[derive(Clone, Copy)]
struct Pace {
	/// On the best chain: run a replica at once and let its commit acknowledge it.
	fast: bool,
	/// The block is final (the finalized head moved to the best block).
	at_final: bool,
}

impl Pace {
	/// Whether a replica may be revealed before its window opens, into the block whose hook
	/// opens it ([`Daemon::reveals_next_block`]): on the best chain, once the block holding the
	/// commitments — whose hash draws the spot-check — is final. No reorg can then change the
	/// draw after the digest is out, and finality (about 1 s) comes well before the next slot;
	/// when it comes later the reveal simply waits for the window, as before.
	fn early_reveal(self) -> bool {
		self.fast && self.at_final
	}
}

/// What the reconciler has done so far, across blocks.
#[derive(Default)]
struct Progress {
	/// The finalized block whose ends it recorded last.
	ended_at: Option<H256>,
}

impl Daemon {
	/// Reconciles the market's view of this provider's replicas at `tip` with the job store.
	async fn on_block(
		self: &Arc<Self>,
		tip: &Tip,
		progress: &mut Progress,
	) -> Result<(), BlockError> {
		let started = std::time::Instant::now();
		let at = &tip.at;
		let now = now_block(at);
		let block_time = Chain::block_time(at)?;
		// How replicas ended, from the finalized block: on the best chain a replica that left
		// the live list may come back with a reorg, and an output is the requester's only once
		// its job's settlement is final. Recorded first, so that a replica assigned in this
		// block finds their slots free (a replica declined for a slot the block had just freed
		// is never offered to this provider again: found by the soak, docs/reliability.md), and
		// before anything else is read: the requester of a job whose settlement was just
		// finalized is asking this worker's server for the output, served once marked paid.
		let finalized = tip.finalized.block_hash();
		let mut replicas = None;
		if progress.ended_at != Some(finalized) {
			let final_replicas = Chain::provider_replicas(&tip.finalized, &self.worker).await?;
			let final_live: HashSet<ReplicaKey> =
				final_replicas.iter().map(|r| (r.job, r.replica)).collect();
			if finalized == at.block_hash() {
				replicas = Some(final_replicas);
			}
			// Each ended replica's reads at once: a block that settles several of this worker's
			// jobs serves all their outputs a round trip after it is final, not one after another.
			let ended = self
				.store
				.live()
				.into_iter()
				.filter(|record| !final_live.contains(&(record.job, record.replica)));
			let ended: Vec<Record> = ended.collect();
			futures::future::try_join_all(
				ended.iter().map(|record| self.on_ended(&tip.finalized, record)),
			)
			.await?;
			progress.ended_at = Some(finalized);
		}
		let replicas = match replicas {
			Some(replicas) => replicas,
			None => Chain::provider_replicas(at, &self.worker).await?,
		};
		let live: HashSet<ReplicaKey> = replicas.iter().map(|r| (r.job, r.replica)).collect();
		// Run at once and let the commit acknowledge: on the best chain, where the runtime
		// allows it. Acting on finalized blocks keeps the old way (acknowledge, see it final,
		// run, commit), the baseline `scripts/bench-latency` measures against.
		let pace = Pace {
			fast: self.config.chain.follow == Follow::Best && Chain::commit_acknowledges(at),
			at_final: tip.finalized.block_hash() == at.block_hash(),
		};
		for replica in &replicas {
			self.on_replica(at, now, block_time, replica, &live, pace).await?;
		}
		self.upkeep_offers(at, now).await?;
		tracing::debug!(
			block = now,
			replicas = replicas.len(),
			"reconciled in {} ms",
			started.elapsed().as_millis()
		);
		Ok(())
	}

	async fn on_replica(
		self: &Arc<Self>,
		at: &AtBlock,
		now: u32,
		block_time: Duration,
		replica: &Replica,
		live: &HashSet<ReplicaKey>,
		pace: Pace,
	) -> Result<(), BlockError> {
		let fast = pace.fast;
		let key = (replica.job, replica.replica);
		let record = self.record_for(at, key).await?;
		if crate::lock(&self.stale).contains(&key) {
			// A retracted job's task still runs under this id: the new job waits for it.
			return Ok(());
		}
		match (&replica.state, record) {
			(ReplicaState::Assigned, None) => {
				self.metrics.assigned.inc();
				let Some(job) = Chain::job(at, replica.job).await? else { return Ok(()) };
				let memory =
					Chain::job_memory_requirements(at, replica.job).await?.unwrap_or_default();
				let input = Chain::input(at, replica.job).await?;
				let record =
					new_record(&job, replica, memory, job_fingerprint(&job, input.as_ref()));
				crate::lock(&self.checked).insert(key, self.reorgs.load(Ordering::SeqCst));
				match self.decide(&job, replica, now, memory, block_time, live) {
					Ok(()) if fast => {
						// Run it now; the commit acknowledges it. A job not done by the next
						// block is acknowledged then (below), well before its deadline.
						tracing::info!(job = key.0, replica = key.1, "accepted; running");
						self.store.put(Record { stage: Stage::Running, ..record })?;
						let commit_by = now.saturating_add(1).saturating_add(job.commit_window);
						self.start_job(at, key, Some(commit_by));
					},
					Ok(()) => {
						tracing::info!(job = key.0, replica = key.1, "accepted; acknowledging");
						self.store.put(Record { stage: Stage::Acknowledging, ..record })?;
						self.send(
							TxKey::Replica(key),
							at,
							Tx::Acknowledge { job: key.0, replica: key.1 },
						);
					},
					Err(reason) => {
						tracing::info!(job = key.0, replica = key.1, "declined: {reason}");
						self.metrics.declined.with_label_values(&[reason.label()]).inc();
						let note = Some(reason.to_string());
						self.store.put(Record { stage: Stage::Declined, note, ..record })?;
						// Said on chain, so that the job is reissued at once and the replica is
						// not held against this provider as a missed acknowledgement.
						if replica.ack_by >= now {
							self.send(
								TxKey::Replica(key),
								at,
								Tx::Decline { job: key.0, replica: key.1 },
							);
						}
					},
				}
			},
			(ReplicaState::Assigned, Some(record)) if now <= replica.ack_by => {
				match record.stage {
					// Computed (or committed in a block a reorg retracted): the commit
					// acknowledges it.
					Stage::Computed | Stage::Committed | Stage::Revealed if fast => {
						self.send_commit(key, at, &record)
					},
					Stage::Declined => self.send(
						TxKey::Replica(key),
						at,
						Tx::Decline { job: key.0, replica: key.1 },
					),
					Stage::Finished | Stage::Lost => {},
					// Still running a block after it was matched (or on a runtime whose commit
					// does not acknowledge): acknowledge, so that the commit deadline starts.
					_ => {
						if fast && !self.is_running(key) && record.digest.is_none() {
							// Taken on before a restart: run it again (from its checkpoint),
							// acknowledged now.
							if let Some(job) = Chain::job(at, key.0).await? {
								let commit_by =
									now.saturating_add(1).saturating_add(job.commit_window);
								self.start_job(at, key, Some(commit_by));
							}
						}
						if !fast || now > assigned_at(replica, self.ack_window(at)) {
							self.send(
								TxKey::Replica(key),
								at,
								Tx::Acknowledge { job: key.0, replica: key.1 },
							);
						}
					},
				}
			},
			(ReplicaState::Acknowledged, Some(record)) => match record.stage {
				_ if record.digest.is_some() && record.stage < Stage::Finished => {
					// Computed, or committed in a block a reorg retracted: the same commitment.
					self.send_commit(key, at, &record)
				},
				Stage::Acknowledging | Stage::Running => {
					self.store.advance(key, Stage::Running, None)?;
					self.start_job(at, key, replica.commit_by);
				},
				_ => {},
			},
			(ReplicaState::Committed, Some(record)) => {
				let record = self.store.advance(key, Stage::Committed, None)?.unwrap_or(record);
				if record.stage >= Stage::Finished {
					return Ok(());
				}
				// Revealing: reveal (again, if the reveal's block was retracted; the submitter
				// sends a call it saw included only after a reorg). On the best chain, also when
				// the window opens at the start of the next block: the reveal goes into it.
				if let Some(job) = Chain::job(at, replica.job).await? {
					let revealing = matches!(job.phase, JobPhase::Revealing { .. });
					if revealing
						|| (pace.early_reveal() && self.reveals_next_block(at, now, &job).await)
					{
						if let (Some(digest), Some(salt), Some(units)) =
							(record.digest, record.salt, record.units)
						{
							let tx = Tx::Reveal { job: key.0, replica: key.1, digest, units, salt };
							self.send(TxKey::Replica(key), at, tx);
						}
					}
				}
			},
			(ReplicaState::Revealed, Some(_)) => {
				self.store.advance(key, Stage::Revealed, None)?;
			},
			(_, None) => {
				// Work this store does not know (another machine of the same provider, or a wiped
				// data directory): leave it alone; it expires and is reissued.
			},
			_ => {},
		}
		Ok(())
	}

	/// Whether `job`'s reveal window opens in the hook of the block after `at` (block `now`, final):
	/// every replica it waits for has committed, and the spot-check drawn there from what block
	/// `at` fixed spares it (the runtime's forecast). A reveal sent now goes into that block,
	/// after its hook — the commit-reveal rule holds (every commitment is on chain, and no
	/// replica is drawn to check it after its digest is out), and the job settles a block
	/// sooner (docs/market.md, "What each step waits for"). On a runtime without the forecast,
	/// or when it cannot be read, the worker waits for the window as before.
	async fn reveals_next_block(&self, at: &AtBlock, now: u32, job: &Job) -> bool {
		let due_next = matches!(job.spot_check, Some(SpotCheck::Drawing { at: due, .. })
			if due == now.saturating_add(1));
		let all_committed = job.unfilled == 0
			&& job.replicas.iter().filter(|r| r.state.is_live()).all(|r| r.state.has_committed());
		if job.phase != JobPhase::Open || !due_next || !all_committed {
			return false;
		}
		match Chain::spot_check_forecast(at, job.job, at.block_hash()).await {
			Ok(forecast) => forecast == Some(false),
			Err(e) => {
				tracing::debug!(
					job = job.job,
					"no spot-check forecast ({e}): waiting for the window"
				);
				false
			},
		}
	}

	/// The record of `key`, if it is the record of the job the chain at `at` has under that id.
	///
	/// After a reorg (or a new connection, which may see another fork; the follower counts
	/// both) a record may be another job's: another fingerprint under the same id, its job on a
	/// retracted fork. Each record is checked once after each (lazily, when the chain next lists
	/// its replica: a job may appear only some blocks after the reorg). One of another job is
	/// dropped with its output and checkpoint — if its task still runs, the task drops it and
	/// commits nothing — and the replica is then the new job's, taken on afresh. A record of the
	/// same job keeps its result and salt, whatever block the job is in now.
	async fn record_for(
		&self,
		at: &AtBlock,
		key: ReplicaKey,
	) -> Result<Option<Record>, BlockError> {
		let Some(record) = self.store.get(key) else { return Ok(None) };
		let epoch = self.reorgs.load(Ordering::SeqCst);
		if crate::lock(&self.checked).get(&key) == Some(&epoch) {
			return Ok(Some(record));
		}
		let Some(job) = Chain::job(at, key.0).await? else { return Ok(Some(record)) };
		let input = Chain::input(at, key.0).await?;
		if record.is_for(job_fingerprint(&job, input.as_ref())) {
			crate::lock(&self.checked).insert(key, epoch);
			return Ok(Some(record));
		}
		tracing::warn!(
			job = key.0,
			replica = key.1,
			"after a reorg the chain has another job under this id: its record is dropped"
		);
		crate::lock(&self.checked).remove(&key);
		let running = crate::lock(&self.running);
		if running.contains(&key) {
			// Its task drops it when it ends, and commits nothing.
			crate::lock(&self.stale).insert(key);
			return Ok(None);
		}
		drop(running);
		self.store.remove(key)?;
		Ok(None)
	}

	/// A replica the market no longer lists as live: record how it ended.
	async fn on_ended(&self, at: &AtBlock, record: &Record) -> Result<(), BlockError> {
		let key = (record.job, record.replica);
		let job = Chain::job(at, record.job).await?;
		if job.is_none() && record.job >= Chain::next_job_id(at).await? {
			// Its job is not finalized yet (it was matched on the best chain).
			return Ok(());
		}
		let mine = job.as_ref().and_then(|j| j.replicas.iter().find(|r| r.replica == key.1));
		let other_job = match &job {
			Some(j) if record.fingerprint.is_some() => {
				let input = Chain::input(at, record.job).await?;
				!record.is_for(job_fingerprint(j, input.as_ref()))
			},
			_ => false,
		};
		let mine_here = mine.is_some_and(|r| chain::account(&r.provider).0 == record.provider);
		let retracted = "retracted by a reorg: the finalized chain never gave it to this provider";
		let (stage, note) = match (&job, mine.map(|r| &r.state)) {
			(Some(_), _) if other_job => (Stage::Lost, retracted.into()),
			(Some(_), Some(_)) if !mine_here => (Stage::Lost, retracted.into()),
			(Some(j), None) if j.phase.is_final() => (Stage::Lost, retracted.into()),
			(Some(j), Some(ReplicaState::Done)) => (Stage::Finished, phase_note(&j.phase)),
			(Some(_), Some(ReplicaState::Missed(m))) => (Stage::Lost, format!("missed: {m:?}")),
			(Some(_), Some(ReplicaState::Superseded)) => (
				Stage::Lost,
				"superseded: another replica missed its reveal and the job started a new round"
					.into(),
			),
			(Some(j), _) if !matches!(j.phase, JobPhase::Open | JobPhase::Revealing { .. }) => {
				(Stage::Finished, phase_note(&j.phase))
			},
			(Some(_), _) => return Ok(()), // not yet visible as ended
			(None, _) => (Stage::Finished, "the job record was reaped".into()),
		};
		// The output is the requester's once the chain paid for it: settled on this record's
		// digest, this replica paid. A job cancelled, disputed or expired pays nothing and
		// gets nothing.
		let paid = match (&job, mine) {
			(Some(j), Some(replica)) if !other_job && mine_here => {
				paid_for(&j.phase, replica.paid, record.digest)
			},
			_ => false,
		};
		tracing::info!(job = key.0, replica = key.1, paid, "ended: {note}");
		if paid {
			self.store.mark_paid(key)?;
		}
		self.store.advance(key, stage, Some(note))?;
		crate::lock(&self.checked).remove(&key);
		*crate::lock(&self.freed) = true;
		Ok(())
	}

	/// Records what an included transaction moved on; logs one that failed (the next block
	/// offers it again).
	fn on_outcome(&self, Outcome { key, tx, result }: Outcome) {
		let stage = match (&result, &tx) {
			(Ok(()), Tx::Acknowledge { .. }) => Some(Stage::Running),
			(Ok(()), Tx::Commit { .. }) => Some(Stage::Committed),
			(Ok(()), Tx::Reveal { units, .. }) => {
				self.metrics.units.inc_by(*units);
				Some(Stage::Revealed)
			},
			(Err(e), _) => {
				tracing::warn!(?key, "{} failed: {e}", tx.name());
				None
			},
			_ => None,
		};
		if let (Some(stage), TxKey::Replica(key)) = (stage, key) {
			tracing::info!(job = key.0, replica = key.1, "{} included", tx.name());
			if let Err(e) = self.store.advance(key, stage, None) {
				// The next block's reconciliation moves the record on from the chain's view.
				tracing::error!("{e}: the next block will record it");
			}
		}
	}
}

/// Whether a replica whose job ended in `phase`, paid `paid`, was paid for the output whose
/// digest the record holds: the job settled on that digest, and the replica earned something.
fn paid_for(phase: &JobPhase<u32>, paid: u128, digest: Option<[u8; 32]>) -> bool {
	let settled_on_it = matches!(phase, JobPhase::Settled { digest: d } if Some(d.0) == digest);
	settled_on_it && paid > 0
}

fn phase_note(phase: &JobPhase<u32>) -> String {
	match phase {
		JobPhase::Settled { digest } => format!("settled with digest 0x{}", hex::encode(digest.0)),
		other => format!("{other:?}").to_lowercase(),
	}
}

/// The block a replica was assigned in: its acknowledgement deadline less the chain's
/// acknowledgement window.
fn assigned_at(replica: &Replica, ack_window: u32) -> u32 {
	replica.ack_by.saturating_sub(ack_window)
}

/// What stops processing a block.
#[derive(Debug, thiserror::Error)]
enum BlockError {
	#[error(transparent)]
	Chain(#[from] ChainError),
	#[error(transparent)]
	Store(#[from] crate::store::StoreError),
}

#[cfg(test)]
mod tests {
	use super::*;
	use stratus_client::subxt::utils::H256;

	/// The output is the requester's only when the job settled on this record's digest and the
	/// replica was paid; a dispute, cancel or expiry, another canonical digest, or no pay: never.
	#[test]
	fn a_replica_was_assigned_its_acknowledgement_window_before_its_deadline() {
		let replica = Replica {
			job: 1,
			replica: 0,
			round: 0,
			role: stratus_primitives::market::Role::Primary,
			provider: crate::chain::ViewAccount::new([0; 32]),
			offer: 0,
			price: 1,
			state: ReplicaState::Assigned,
			ack_by: 25,
			commit_by: None,
			units: None,
			digest: None,
			paid: 0,
		};
		assert_eq!(assigned_at(&replica, 10), 15);
		assert_eq!(assigned_at(&Replica { ack_by: 3, ..replica }, 10), 0);
	}

	#[test]
	fn an_output_is_paid_for_only_when_settled_on_its_digest_and_paid() {
		let mine = Some([5; 32]);
		let settled = |d: [u8; 32]| JobPhase::Settled { digest: H256(d) };
		assert!(paid_for(&settled([5; 32]), 10, mine));
		assert!(!paid_for(&settled([6; 32]), 10, mine), "settled on another digest");
		assert!(!paid_for(&settled([5; 32]), 0, mine), "not paid");
		assert!(!paid_for(&settled([5; 32]), 10, None), "no digest of its own");
		for phase in [JobPhase::Disputed, JobPhase::Cancelled, JobPhase::Expired, JobPhase::Open] {
			assert!(!paid_for(&phase, 10, mine), "{phase:?}");
		}
		assert!(!paid_for(&JobPhase::Revealing { until: 9 }, 10, mine));
	}
}

//! The reconciler: at each finalized block, what the market says about this provider's replicas
//! against the job store — acknowledge or decline new replicas, start job tasks, commit and reveal
//! results, record how replicas ended — then the offers' upkeep; between blocks, the outcomes of
//! the transactions it sent.

use std::{collections::HashSet, sync::Arc, time::Duration};

use stratus_primitives::market::{JobPhase, ReplicaState};
use tokio::sync::{mpsc, watch};

use super::{new_record, now_block, Daemon};
use crate::{
	chain::{AtBlock, Chain, ChainError, Replica},
	store::{Record, Stage},
	submitter::{Outcome, Tx, TxKey},
};

/// Reconciles each block the follower hands over, and records each transaction's outcome, until
/// the daemon stops. A block it cannot finish (a chain read failed, the store refused a write)
/// asks the follower for a reconnect, after which the next block is reconciled from scratch.
pub(super) async fn reconcile(
	daemon: Arc<Daemon>,
	mut blocks: watch::Receiver<Option<AtBlock>>,
	mut outcomes: mpsc::Receiver<Outcome>,
	reconnect: mpsc::Sender<String>,
) {
	loop {
		tokio::select! {
			_ = daemon.cancel.cancelled() => return,
			changed = blocks.changed() => {
				if changed.is_err() {
					return;
				}
				let Some(at) = blocks.borrow_and_update().clone() else { continue };
				if let Err(e) = daemon.on_block(&at).await {
					// A full disk or a failing write is not the end of the worker: nothing was
					// sent that the store does not hold (results are stored before their commit
					// leaves), and the state is reconciled again after the reconnect's backoff,
					// when the store may be writable again.
					if let BlockError::Store(e) = &e {
						tracing::error!("{e}: will retry after a reconnect");
					}
					let _ = reconnect.try_send(e.to_string());
				}
			},
			Some(outcome) = outcomes.recv() => daemon.on_outcome(outcome),
		}
	}
}

impl Daemon {
	/// Reconciles the market's view of this provider's replicas at `at` with the job store.
	async fn on_block(self: &Arc<Self>, at: &AtBlock) -> Result<(), BlockError> {
		let now = now_block(at);
		let block_time = Chain::block_time(at)?;
		let replicas = Chain::provider_replicas(at, &self.worker).await?;
		let seen: HashSet<_> = replicas.iter().map(|r| (r.job, r.replica)).collect();
		// Replicas the worker knows but the market no longer lists as live: they ended. They
		// are cleared first, so that a replica assigned in the same block finds their slots
		// free (a replica declined for a slot the block had just freed is never offered to
		// this provider again: found by the soak, docs/reliability.md).
		for record in self.store.live() {
			if !seen.contains(&(record.job, record.replica)) {
				self.on_ended(at, &record).await?;
			}
		}
		for replica in &replicas {
			self.on_replica(at, now, block_time, replica).await?;
		}
		self.upkeep_offers(at, now).await?;
		Ok(())
	}

	async fn on_replica(
		self: &Arc<Self>,
		at: &AtBlock,
		now: u32,
		block_time: Duration,
		replica: &Replica,
	) -> Result<(), BlockError> {
		let key = (replica.job, replica.replica);
		let record = self.store.get(key);
		match (&replica.state, record) {
			(ReplicaState::Assigned, None) => {
				self.metrics.assigned.inc();
				let Some(job) = Chain::job(at, replica.job).await? else { return Ok(()) };
				let memory =
					Chain::job_memory_requirements(at, replica.job).await?.unwrap_or_default();
				let record = new_record(&job, replica, memory);
				match self.decide(&job, replica, now, memory, block_time) {
					Ok(()) => {
						tracing::info!(job = key.0, replica = key.1, "accepted; acknowledging");
						self.store.put(Record { stage: Stage::Acknowledging, ..record })?;
						self.send(
							TxKey::Replica(key),
							now,
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
								now,
								Tx::Decline { job: key.0, replica: key.1 },
							);
						}
					},
				}
			},
			(ReplicaState::Assigned, Some(record))
				if record.stage == Stage::Acknowledging && now <= replica.ack_by =>
			{
				self.send(TxKey::Replica(key), now, Tx::Acknowledge { job: key.0, replica: key.1 });
			},
			(ReplicaState::Acknowledged, Some(record)) => match record.stage {
				Stage::Acknowledging | Stage::Running => {
					self.store.advance(key, Stage::Running, None)?;
					self.start_job(key, replica.commit_by);
				},
				Stage::Computed => self.send_commit(key, now, &record),
				_ => {},
			},
			(ReplicaState::Committed, Some(record)) => {
				let record = self.store.advance(key, Stage::Committed, None)?.unwrap_or(record);
				if record.stage >= Stage::Revealed {
					return Ok(());
				}
				if let Some(job) = Chain::job(at, replica.job).await? {
					if matches!(job.phase, JobPhase::Revealing { .. }) {
						if let (Some(digest), Some(salt), Some(units)) =
							(record.digest, record.salt, record.units)
						{
							let tx = Tx::Reveal { job: key.0, replica: key.1, digest, units, salt };
							self.send(TxKey::Replica(key), now, tx);
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

	/// A replica the market no longer lists as live: record how it ended.
	async fn on_ended(&self, at: &AtBlock, record: &Record) -> Result<(), BlockError> {
		let key = (record.job, record.replica);
		let job = Chain::job(at, record.job).await?;
		let mine = job.as_ref().and_then(|j| j.replicas.iter().find(|r| r.replica == key.1));
		let (stage, note) = match (&job, mine.map(|r| &r.state)) {
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
			(Some(j), Some(replica)) => paid_for(&j.phase, replica.paid, record.digest),
			_ => false,
		};
		tracing::info!(job = key.0, replica = key.1, paid, "ended: {note}");
		if paid {
			self.store.mark_paid(key)?;
		}
		self.store.advance(key, stage, Some(note))?;
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

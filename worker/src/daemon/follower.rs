//! The block follower: one connection at a time, and the newest block the daemon acts on — the
//! best block (`[chain] follow = "best"`, the default) or the finalized one — handed to the
//! reconciler with the newest finalized block on a one-slot channel (a `watch`: a block the
//! reconciler has not reached yet is replaced by the next, since each block's reconciliation
//! reads the whole state it needs). On the best chain it notices reorgs: when the block it acted
//! on last is no longer on the best chain, the submitter forgets what it saw included (and sends
//! again whatever the new chain lacks) and the reconciler checks its records against the jobs.

use std::{sync::Arc, time::Duration};

use stratus_client::Connection;
use tokio::sync::{mpsc, watch};

use stratus_client::subxt::utils::H256;

use super::{Daemon, Tip};
use crate::{chain::Chain, config::Follow};

/// A new block is expected at least this often; longer silence means a reconnect.
const BLOCK_SILENCE: Duration = Duration::from_secs(60);

/// Keeps a connection to one of the configured nodes (reconnecting with backoff, moving on to the
/// next endpoint) and hands every new block to the reconciler, until cancelled.
pub(super) async fn follow(
	daemon: Arc<Daemon>,
	conn_tx: watch::Sender<Option<Connection>>,
	blocks_tx: watch::Sender<Option<Tip>>,
	mut reconnect: mpsc::Receiver<String>,
) {
	let endpoints = daemon.config.chain.endpoints.clone();
	let mut next_endpoint = 0usize;
	let mut backoff = Duration::from_secs(1);
	while !daemon.cancel.is_cancelled() {
		let connected = tokio::select! {
			c = stratus_client::connect(&endpoints, next_endpoint, Duration::from_secs(15)) => c,
			_ = daemon.cancel.cancelled() => return,
		};
		let conn = match connected {
			Ok(conn) => conn,
			Err(e) => {
				tracing::warn!("{e}; retrying in {backoff:?}");
				tokio::select! {
					_ = tokio::time::sleep(backoff) => {},
					_ = daemon.cancel.cancelled() => return,
				}
				backoff = backoff.saturating_mul(2).min(Duration::from_secs(30));
				continue;
			},
		};
		tracing::info!("connected to {}", conn.endpoint);
		// Another node may be on another fork: the reconciler checks its records again.
		daemon.reorgs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
		daemon.metrics.connections.inc();
		backoff = Duration::from_secs(1);
		let index = endpoints.iter().position(|e| *e == conn.endpoint).unwrap_or(0);
		let _ = conn_tx.send(Some(conn.clone()));
		// A reconnect asked for on the previous connection is answered by this one.
		while reconnect.try_recv().is_ok() {}
		let reason = daemon.follow_blocks(&conn, &blocks_tx, &mut reconnect).await;
		let _ = conn_tx.send(None);
		if daemon.cancel.is_cancelled() {
			return;
		}
		tracing::warn!("lost {}: {reason}; reconnecting", conn.endpoint);
		next_endpoint = index.saturating_add(1);
	}
}

impl Daemon {
	/// Follows the blocks the daemon acts on (`[chain] follow`: the best chain, or finalized
	/// blocks) on `conn`, handing each new one, with the newest finalized block, to the
	/// reconciler, until the connection fails, the reconciler asks for a reconnect, or the daemon
	/// stops; returns why.
	async fn follow_blocks(
		self: &Arc<Self>,
		conn: &Connection,
		blocks_tx: &watch::Sender<Option<Tip>>,
		reconnect: &mut mpsc::Receiver<String>,
	) -> String {
		let chain = Chain { client: conn.client.clone() };
		let mut finalized = match chain.finalized().await {
			Ok(at) => at,
			Err(e) => return e.to_string(),
		};
		let best_chain = self.config.chain.follow == Follow::Best;
		// The subscription may start with blocks older than the chain's state the previous run
		// (or connection) acted on: start at the finalized head and never go back, except to a
		// block of another fork (a reorg), which is where the best chain is now.
		let mut last: Option<(u64, H256)> = None;
		let mut last_number = finalized.block_number().saturating_sub(1);
		let subscribed = if best_chain {
			crate::chain::timed(conn.client.stream_best_blocks()).await
		} else {
			crate::chain::timed(conn.client.stream_blocks()).await
		};
		let mut blocks = match subscribed {
			Ok(blocks) => blocks,
			Err(e) => return e.to_string(),
		};
		// On the best chain, finalized blocks come from a subscription of their own.
		let mut finalized_blocks = if best_chain {
			match crate::chain::timed(conn.client.stream_blocks()).await {
				Ok(blocks) => Some(blocks),
				Err(e) => return e.to_string(),
			}
		} else {
			None
		};
		loop {
			let next_finalized = async {
				match finalized_blocks.as_mut() {
					Some(stream) => stream.next().await,
					None => std::future::pending().await,
				}
			};
			let (block, is_finalized) = tokio::select! {
				next = tokio::time::timeout(BLOCK_SILENCE, blocks.next()) => match next {
					Err(_) => return format!("no new block for {BLOCK_SILENCE:?}"),
					Ok(None) => return "the block subscription ended".into(),
					Ok(Some(Err(e))) => return e.to_string(),
					Ok(Some(Ok(block))) => (block, !best_chain),
				},
				next = next_finalized => match next {
					None => return "the finalized block subscription ended".into(),
					Some(Err(e)) => return e.to_string(),
					Some(Ok(block)) => (block, true),
				},
				Some(reason) = reconnect.recv() => return reason,
				_ = self.cancel.cancelled() => return "shutting down".into(),
			};
			let at = match crate::chain::timed(block.at()).await {
				Ok(at) => at,
				Err(e) => return e.to_string(),
			};
			let (number, hash) = (block.number(), block.hash());
			tracing::debug!(number, finalized = is_finalized, "block");
			if is_finalized {
				if number <= finalized.block_number() && (best_chain || number <= last_number) {
					continue;
				}
				self.metrics.finalized_block.set(number as i64);
				finalized = at.clone();
				last_number = last_number.max(number);
				if best_chain {
					// Only the finalized head moved: the reconciler records how replicas
					// ended, at the best block it has.
					blocks_tx.send_if_modified(|tip| match tip {
						Some(tip) => {
							tip.finalized = finalized.clone();
							true
						},
						None => false,
					});
					continue;
				}
			} else {
				let parent = block.header().parent_hash;
				let linear = last.is_none_or(|(n, h)| number == n.saturating_add(1) && parent == h);
				if !linear {
					match self.retracted(conn, last, number).await {
						Ok(true) => {
							self.metrics.reorgs.inc();
							tracing::warn!(
								"reorg: the best chain left block #{} (now #{number} {hash:?}); \
								 what was sent since is sent again if the new chain lacks it",
								last.map_or(0, |(n, _)| n)
							);
							self.submitter.forget_included();
							self.reorgs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
						},
						Ok(false) if number <= last_number => continue,
						Ok(false) => {},
						Err(e) => return e,
					}
				}
				last = Some((number, hash));
				last_number = number;
				self.metrics.best_block.set(number as i64);
			}
			let tip = Tip { at, finalized: finalized.clone() };
			// The reconciler works on the newest block: one it has not reached yet is replaced.
			let _ = blocks_tx.send(Some(tip));
		}
	}

	/// Whether the best chain left `last`, the block the daemon acted on last: the block at its
	/// height on the node's best chain is another one now.
	async fn retracted(
		&self,
		conn: &Connection,
		last: Option<(u64, H256)>,
		new: u64,
	) -> Result<bool, String> {
		let Some((number, hash)) = last else { return Ok(false) };
		if new <= number {
			// A block at or under the last one's height became best: another fork.
			return Ok(true);
		}
		let at_height =
			crate::chain::timed(conn.legacy().chain_get_block_hash(Some(number.into())))
				.await
				.map_err(|e| e.to_string())?;
		Ok(at_height != Some(hash))
	}
}

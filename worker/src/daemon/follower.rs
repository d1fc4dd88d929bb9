//! The block follower: one connection at a time, and the newest finalized block handed to the
//! reconciler on a one-slot channel (a `watch`: a block the reconciler has not reached yet is
//! replaced by the next, since each block's reconciliation reads the whole state it needs).

use std::{sync::Arc, time::Duration};

use stratus_client::Connection;
use tokio::sync::{mpsc, watch};

use super::Daemon;
use crate::chain::{AtBlock, Chain};

/// A finalized block is expected at least this often; longer silence means a reconnect.
const BLOCK_SILENCE: Duration = Duration::from_secs(60);

/// Keeps a connection to one of the configured nodes (reconnecting with backoff, moving on to the
/// next endpoint) and hands every new finalized block to the reconciler, until cancelled.
pub(super) async fn follow(
	daemon: Arc<Daemon>,
	conn_tx: watch::Sender<Option<Connection>>,
	blocks_tx: watch::Sender<Option<AtBlock>>,
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
	/// Follows finalized blocks on `conn`, handing each new one to the reconciler, until the
	/// connection fails, the reconciler asks for a reconnect, or the daemon stops; returns why.
	async fn follow_blocks(
		self: &Arc<Self>,
		conn: &Connection,
		blocks_tx: &watch::Sender<Option<AtBlock>>,
		reconnect: &mut mpsc::Receiver<String>,
	) -> String {
		// The subscription may start with finalized blocks older than the chain's state the
		// previous run (or connection) acted on: start at the finalized head and never go back.
		let chain = Chain { client: conn.client.clone() };
		let mut last = match chain.finalized().await {
			Ok(at) => at.block_number().saturating_sub(1),
			Err(e) => return e.to_string(),
		};
		let mut blocks = match crate::chain::timed(conn.client.stream_blocks()).await {
			Ok(blocks) => blocks,
			Err(e) => return e.to_string(),
		};
		loop {
			let next = tokio::select! {
				next = tokio::time::timeout(BLOCK_SILENCE, blocks.next()) => next,
				Some(reason) = reconnect.recv() => return reason,
				_ = self.cancel.cancelled() => return "shutting down".into(),
			};
			let block = match next {
				Err(_) => return format!("no finalized block for {BLOCK_SILENCE:?}"),
				Ok(None) => return "the block subscription ended".into(),
				Ok(Some(Err(e))) => return e.to_string(),
				Ok(Some(Ok(block))) => block,
			};
			if block.number() <= last {
				continue;
			}
			last = block.number();
			let at = match crate::chain::timed(block.at()).await {
				Ok(at) => at,
				Err(e) => return e.to_string(),
			};
			self.metrics.finalized_block.set(block.number() as i64);
			// The reconciler works on the newest block: one it has not reached yet is replaced.
			let _ = blocks_tx.send(Some(at));
		}
	}
}

//! The one task that signs: it owns the worker key and its nonce, takes [`Tx`]s from a bounded
//! channel, submits them one after another (each with the next nonce the node's pool reports, never
//! below the last one used) and tells each sender how its transaction ended.

use std::time::Duration;

pub use stratus_client::tx::{TxError, INCLUSION_TIMEOUT};
use stratus_client::{runtime as rt, tx::Wait, Connection, Keypair};
use stratus_primitives::ResourceClass;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// A transaction the worker sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tx {
	Acknowledge { job: u64, replica: u8 },
	Decline { job: u64, replica: u8 },
	Commit { job: u64, replica: u8, commitment: [u8; 32] },
	Reveal { job: u64, replica: u8, digest: [u8; 32], units: u64, salt: [u8; 32] },
	PostOffer { class: ResourceClass, price: u128, slots: u32, expires_at: u32 },
	UpdateOffer { offer: u64, price: u128, slots: u32, expires_at: u32 },
}

impl Tx {
	/// A short name for logs and metrics.
	pub fn name(&self) -> &'static str {
		match self {
			Tx::Acknowledge { .. } => "acknowledge",
			Tx::Decline { .. } => "decline",
			Tx::Commit { .. } => "commit",
			Tx::Reveal { .. } => "reveal",
			Tx::PostOffer { .. } => "post_offer",
			Tx::UpdateOffer { .. } => "update_offer",
		}
	}
}

/// A request to the submitter.
pub struct Request {
	pub tx: Tx,
	pub done: oneshot::Sender<Result<(), TxError>>,
}

/// The sending side, cloned by every task that needs a transaction.
#[derive(Clone)]
pub struct Submitter {
	sender: mpsc::Sender<Request>,
}

impl Submitter {
	/// Starts the submitter task for `key`, on the connection `connection` currently holds. With
	/// `finalized`, a transaction counts as done when its block is finalized (one-shot commands);
	/// otherwise when it is in a best block (the daemon, which follows finality itself).
	pub fn spawn(
		key: Keypair,
		finalized: bool,
		connection: watch::Receiver<Option<Connection>>,
		metrics: Metrics,
		cancel: CancellationToken,
		tracker: &tokio_util::task::TaskTracker,
	) -> Self {
		let (sender, receiver) = mpsc::channel(64);
		tracker.spawn(run(key, finalized, connection, receiver, metrics, cancel));
		Self { sender }
	}

	/// Submits `tx` and waits until it is in a block (or failed).
	pub async fn submit(&self, tx: Tx) -> Result<(), TxError> {
		let (done, result) = oneshot::channel();
		self.sender.send(Request { tx, done }).await.map_err(|_| TxError::ShuttingDown)?;
		result.await.map_err(|_| TxError::ShuttingDown)?
	}
}

async fn run(
	key: Keypair,
	finalized: bool,
	mut connection: watch::Receiver<Option<Connection>>,
	mut requests: mpsc::Receiver<Request>,
	metrics: Metrics,
	cancel: CancellationToken,
) {
	let wait = if finalized { Wait::Finalized } else { Wait::InBlock };
	let mut next_nonce = 0u64;
	loop {
		let request = tokio::select! {
			request = requests.recv() => match request { Some(r) => r, None => return },
			_ = cancel.cancelled() => return,
		};
		let name = request.tx.name();
		// Wait for a connection (the follower re-establishes it).
		let conn = loop {
			if let Some(conn) = connection.borrow_and_update().clone() {
				break Some(conn);
			}
			tokio::select! {
				changed = connection.changed() => if changed.is_err() { break None },
				_ = cancel.cancelled() => break None,
			}
		};
		let Some(conn) = conn else {
			let _ = request.done.send(Err(TxError::ShuttingDown));
			return;
		};
		let mut result = Err(TxError::NotIncluded("not tried".into()));
		// One retry with a fresh nonce: a restarted worker's old transactions may still be pooled.
		for attempt in 0..2 {
			result = submit_one(&conn, &key, &request.tx, &mut next_nonce, wait).await;
			match &result {
				Err(TxError::NotIncluded(why)) if attempt == 0 => {
					tracing::warn!(tx = name, "{why}; retrying with a fresh nonce");
					tokio::time::sleep(Duration::from_secs(3)).await;
				},
				_ => break,
			}
		}
		metrics.tx(name, result.is_ok());
		let _ = request.done.send(result);
	}
}

/// Signs and submits one transaction; returns when it is in a block.
async fn submit_one(
	conn: &Connection,
	key: &Keypair,
	tx: &Tx,
	next_nonce: &mut u64,
	wait: Wait,
) -> Result<(), TxError> {
	// Each call has its own payload type: one submission path, spelled once.
	macro_rules! submit {
		($call:expr) => {
			stratus_client::tx::submit(conn, key, &$call, next_nonce, wait).await.map(|_| ())
		};
	}
	match tx {
		Tx::Acknowledge { job, replica } => submit!(rt::tx().market().acknowledge(*job, *replica)),
		Tx::Decline { job, replica } => submit!(rt::tx().market().decline(*job, *replica)),
		Tx::Commit { job, replica, commitment } => {
			submit!(rt::tx().verification().commit(*job, *replica, (*commitment).into()))
		},
		Tx::Reveal { job, replica, digest, units, salt } => {
			submit!(rt::tx().verification().reveal(*job, *replica, (*digest).into(), *units, *salt))
		},
		Tx::PostOffer { class, price, slots, expires_at } => {
			submit!(rt::tx().market().post_offer((*class).into(), *price, *slots, *expires_at))
		},
		Tx::UpdateOffer { offer, price, slots, expires_at } => {
			submit!(rt::tx().market().update_offer(*offer, *price, *slots, *expires_at))
		},
	}
}

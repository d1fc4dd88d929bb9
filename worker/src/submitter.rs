//! The one task that signs: it owns the worker key and its nonce, takes [`Tx`]s from a bounded
//! channel, submits them one after another (each with the next nonce the node's pool reports, never
//! below the last one used) and tells each sender how its transaction ended.

use std::time::Duration;

use stratus_client::{
	runtime::{
		self as rt,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			stratus_primitives::{CapabilityProfile, ResourceClass},
		},
	},
	subxt::{config::DefaultExtrinsicParamsBuilder, transactions::TransactionStatus},
	AccountId, Connection, Keypair, StratusConfig,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::{chain::timed, metrics::Metrics};

/// How long a submitted transaction may take to reach a block.
pub const INCLUSION_TIMEOUT: Duration = Duration::from_secs(90);

/// A transaction the worker sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tx {
	Acknowledge { job: u64, replica: u8 },
	Commit { job: u64, replica: u8, commitment: [u8; 32], units: u64 },
	Reveal { job: u64, replica: u8, digest: [u8; 32], salt: [u8; 32] },
	PostOffer { class: ResourceClass, price: u128, slots: u32, expires_at: u32 },
	UpdateOffer { offer: u64, price: u128, slots: u32, expires_at: u32 },
	Register { worker: AccountId, profile: CapabilityProfile, stake: u128 },
	BondExtra { amount: u128 },
	Transfer { to: AccountId, amount: u128 },
}

impl Tx {
	/// A short name for logs and metrics.
	pub fn name(&self) -> &'static str {
		match self {
			Tx::Acknowledge { .. } => "acknowledge",
			Tx::Commit { .. } => "commit",
			Tx::Reveal { .. } => "reveal",
			Tx::PostOffer { .. } => "post_offer",
			Tx::UpdateOffer { .. } => "update_offer",
			Tx::Register { .. } => "register",
			Tx::BondExtra { .. } => "bond_extra",
			Tx::Transfer { .. } => "transfer",
		}
	}
}

/// How a transaction failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TxError {
	/// It was included and failed: the runtime's error, with its documentation.
	#[error("{0}")]
	Dispatch(String),
	/// The pool refused it or dropped it, or the node did not answer.
	#[error("not included: {0}")]
	NotIncluded(String),
	/// The worker is shutting down.
	#[error("the worker is shutting down")]
	ShuttingDown,
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
	let account = stratus_client::account_of(&key);
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
			result =
				submit_one(&conn, &key, &account, &request.tx, &mut next_nonce, finalized).await;
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
	account: &AccountId,
	tx: &Tx,
	next_nonce: &mut u64,
	finalized: bool,
) -> Result<(), TxError> {
	let not_included = |e: crate::chain::ChainError| TxError::NotIncluded(e.to_string());
	let pool_nonce = timed(conn.next_nonce(account)).await.map_err(not_included)?;
	let nonce = pool_nonce.max(*next_nonce);
	let at = timed(conn.client.at_current_block()).await.map_err(not_included)?;
	let params =
		DefaultExtrinsicParamsBuilder::<StratusConfig>::new().nonce(nonce).mortal(64).build();
	let mut transactions = at.transactions();
	// Each call has its own payload type: one submission path, spelled once.
	macro_rules! submit {
		($call:expr) => {
			timed(transactions.sign_and_submit_then_watch(&$call, key, params)).await
		};
	}
	let submitted = match tx {
		Tx::Acknowledge { job, replica } => submit!(rt::tx().market().acknowledge(*job, *replica)),
		Tx::Commit { job, replica, commitment, units } => {
			submit!(rt::tx().verification().commit(*job, *replica, (*commitment).into(), *units))
		},
		Tx::Reveal { job, replica, digest, salt } => {
			submit!(rt::tx().verification().reveal(*job, *replica, (*digest).into(), *salt))
		},
		Tx::PostOffer { class, price, slots, expires_at } => {
			submit!(rt::tx().market().post_offer(class.clone(), *price, *slots, *expires_at))
		},
		Tx::UpdateOffer { offer, price, slots, expires_at } => {
			submit!(rt::tx().market().update_offer(*offer, *price, *slots, *expires_at))
		},
		Tx::Register { worker, profile, stake } => {
			submit!(rt::tx().provider_staking().register(*worker, profile.clone(), *stake))
		},
		Tx::BondExtra { amount } => submit!(rt::tx().provider_staking().bond_extra(*amount)),
		Tx::Transfer { to, amount } => {
			submit!(rt::tx().balances().transfer_keep_alive((*to).into(), *amount))
		},
	};
	let mut progress = submitted.map_err(not_included)?;
	*next_nonce = nonce.saturating_add(1);
	let deadline = tokio::time::Instant::now().checked_add(INCLUSION_TIMEOUT);
	loop {
		let Some(deadline) = deadline else {
			return Err(TxError::NotIncluded("clock overflow".into()));
		};
		let status = match tokio::time::timeout_at(deadline, progress.next()).await {
			Err(_) => {
				return Err(TxError::NotIncluded(format!(
					"not in a block after {INCLUSION_TIMEOUT:?}"
				)))
			},
			Ok(None) => {
				return Err(TxError::NotIncluded("the node closed the subscription".into()))
			},
			Ok(Some(Err(e))) => return Err(TxError::NotIncluded(e.to_string())),
			Ok(Some(Ok(status))) => status,
		};
		let in_block = match status {
			TransactionStatus::InBestBlock(in_block) if !finalized => in_block,
			TransactionStatus::InFinalizedBlock(in_block) => in_block,
			TransactionStatus::Error { message }
			| TransactionStatus::Invalid { message }
			| TransactionStatus::Dropped { message } => {
				*next_nonce = 0;
				return Err(TxError::NotIncluded(message));
			},
			_ => continue,
		};
		return match timed(in_block.wait_for_success()).await {
			Ok(_) => Ok(()),
			Err(crate::chain::ChainError::Request(e)) => Err(TxError::Dispatch(e)),
			Err(e) => Err(TxError::NotIncluded(e.to_string())),
		};
	}
}

/// The bounded-vec type subxt generates, built from a plain vector.
pub fn bounded<T>(items: Vec<T>) -> BoundedVec<T> {
	BoundedVec(items)
}

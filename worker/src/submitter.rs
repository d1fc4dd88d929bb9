//! The one task that signs: it owns the worker key and its nonce, takes [`Tx`]s from a bounded
//! channel, submits them one after another without waiting for blocks (each with the next nonce
//! the node's pool reports, never below the last one used; several in one block), follows each
//! into a block and tells each sender how its transaction ended.
//!
//! It also owns de-duplication: the daemon offers the same transaction at every block until the
//! chain shows its effect, and [`Submitter::send`] answers "in flight" or "done at block n" for a
//! [`TxKey`] and call already sent, so each is sent once (again only if it failed, or if the
//! finalized view still lacks it [`RESUBMIT_AFTER_BLOCKS`] later). Its outcome comes back to the
//! daemon on a bounded channel of [`Outcome`]s.

use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::Duration,
};

pub use stratus_client::tx::{TxError, INCLUSION_TIMEOUT};
use stratus_client::{runtime as rt, tx::Wait, Connection, Keypair};
use stratus_primitives::ResourceClass;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::{metrics::Metrics, store::ReplicaKey};

/// A successful transaction is not sent again for this many blocks (the finalized view lags).
pub const RESUBMIT_AFTER_BLOCKS: u32 = 8;
/// How long a replica's step (a transaction mortal from the block it answers) may take to reach a
/// block before it counts as not included and the next block offers it again, with a fresh
/// nonce and anchor: a few blocks. A reorg can leave it behind a nonce the pool no longer fills.
pub const STEP_INCLUSION_TIMEOUT: Duration = Duration::from_secs(15);
/// Outcomes waiting for the daemon, at most.
pub const OUTCOMES: usize = 64;

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

/// What a transaction is for: a step of one replica, or the offer of one resource class. With
/// the call's name, the key under which the submitter de-duplicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxKey {
	Replica(ReplicaKey),
	Offer(ResourceClass),
}

/// How a transaction the daemon sent ended, reported on the outcomes channel.
#[derive(Debug)]
pub struct Outcome {
	pub key: TxKey,
	pub tx: Tx,
	pub result: Result<(), TxError>,
}

/// What [`Submitter::send`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queued {
	/// Queued; its [`Outcome`] follows.
	Sent,
	/// The same call for the same key is being submitted.
	InFlight,
	/// The same call for the same key was included, sent at this block.
	Done(u32),
	/// The queue is full: offered again at the next block.
	Full,
	/// The submitter has stopped.
	Stopped,
}

/// The calls sent per key: in flight, or included (sent at block n).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sent {
	InFlight,
	IncludedAt(u32),
}

type Ledger = Arc<Mutex<HashMap<(TxKey, &'static str), Sent>>>;

/// Whom a request's result goes to.
enum Reply {
	/// A caller waiting for it ([`Submitter::submit`]).
	Caller(oneshot::Sender<Result<(), TxError>>),
	/// The outcomes channel, under `key`, sent at block `at` ([`Submitter::send`]).
	Outcome { key: TxKey, at: u32 },
}

/// The block a transaction is mortal from: its number and hash.
pub type Anchor = (u64, stratus_client::subxt::utils::H256);

/// A request to the submitter.
struct Request {
	tx: Tx,
	reply: Reply,
	/// The block it is mortal from (`None`: the latest finalized block).
	anchor: Option<Anchor>,
}

/// The sending side, cloned by every task that needs a transaction.
#[derive(Clone)]
pub struct Submitter {
	sender: mpsc::Sender<Request>,
	ledger: Ledger,
	/// Set when the next transaction must ask the pool for its nonce (after a reorg, or a
	/// transaction that was not included).
	stale_nonce: Arc<std::sync::atomic::AtomicBool>,
}

impl Submitter {
	/// Starts the submitter task for `key`, on the connection `connection` currently holds. With
	/// `finalized`, a transaction counts as done when its block is finalized (one-shot commands);
	/// otherwise when it is in a best block (the daemon, which follows finality itself). The
	/// outcomes of [`Submitter::send`] go to `outcomes`.
	pub fn spawn(
		key: Keypair,
		finalized: bool,
		connection: watch::Receiver<Option<Connection>>,
		outcomes: Option<mpsc::Sender<Outcome>>,
		metrics: Metrics,
		cancel: CancellationToken,
		tracker: &tokio_util::task::TaskTracker,
	) -> Self {
		let (sender, receiver) = mpsc::channel(64);
		let ledger = Ledger::default();
		let stale_nonce = Arc::<std::sync::atomic::AtomicBool>::default();
		let task = Task {
			key,
			finalized,
			connection,
			outcomes,
			ledger: ledger.clone(),
			metrics,
			stale_nonce: stale_nonce.clone(),
		};
		tracker.spawn(task.run(receiver, cancel));
		Self { sender, ledger, stale_nonce }
	}

	/// Submits `tx` and waits until it is in a block (or failed).
	pub async fn submit(&self, tx: Tx) -> Result<(), TxError> {
		let (done, result) = oneshot::channel();
		let request = Request { tx, reply: Reply::Caller(done), anchor: None };
		self.sender.send(request).await.map_err(|_| TxError::ShuttingDown)?;
		result.await.map_err(|_| TxError::ShuttingDown)?
	}

	/// Forgets every call it saw included: after a reorg their blocks may have left the best
	/// chain, and the daemon offers again whatever the new chain's state still lacks (the same
	/// commitment and salt, from the job store). A call still included on the new chain is not
	/// offered again: the chain's state shows its effect.
	pub fn forget_included(&self) {
		crate::lock(&self.ledger).retain(|_, sent| *sent == Sent::InFlight);
		// The retracted blocks' transactions are back in the pool, or gone: ask it for the nonce.
		self.stale_nonce.store(true, std::sync::atomic::Ordering::SeqCst);
	}

	/// Queues `tx` for `key` at block `now`, mortal from block `anchor` (`None`: the latest
	/// finalized block), unless the same call for it is in flight or was included less than
	/// [`RESUBMIT_AFTER_BLOCKS`] ago. Never waits.
	pub fn send(&self, key: TxKey, now: u32, anchor: Option<Anchor>, tx: Tx) -> Queued {
		let name = tx.name();
		let mut ledger = crate::lock(&self.ledger);
		// Calls included long enough ago are forgotten: sent again if the chain still lacks them.
		ledger.retain(|_, sent| match sent {
			Sent::IncludedAt(at) => now < at.saturating_add(RESUBMIT_AFTER_BLOCKS),
			Sent::InFlight => true,
		});
		match ledger.get(&(key, name)) {
			Some(Sent::InFlight) => return Queued::InFlight,
			Some(Sent::IncludedAt(at)) => return Queued::Done(*at),
			None => {},
		}
		match self.sender.try_send(Request { tx, reply: Reply::Outcome { key, at: now }, anchor }) {
			Ok(()) => {
				ledger.insert((key, name), Sent::InFlight);
				Queued::Sent
			},
			Err(mpsc::error::TrySendError::Full(_)) => Queued::Full,
			Err(mpsc::error::TrySendError::Closed(_)) => Queued::Stopped,
		}
	}
}

/// The submitter task's state.
struct Task {
	key: Keypair,
	finalized: bool,
	connection: watch::Receiver<Option<Connection>>,
	outcomes: Option<mpsc::Sender<Outcome>>,
	ledger: Ledger,
	metrics: Metrics,
	stale_nonce: Arc<std::sync::atomic::AtomicBool>,
}

/// A request, and how many times it was tried.
type Attempt = (Request, u8);

/// What a transaction's watcher needs once the task has sent it.
#[derive(Clone)]
struct Finish {
	outcomes: Option<mpsc::Sender<Outcome>>,
	ledger: Ledger,
	metrics: Metrics,
	/// Requests to send again (with a fresh nonce).
	retry: mpsc::UnboundedSender<Attempt>,
	/// A transaction left the pool: the next one asks the pool for its nonce.
	stale_nonce: Arc<std::sync::atomic::AtomicBool>,
}

impl Task {
	/// Sends each request as it comes, with consecutive nonces, without waiting for the previous
	/// one's block (several steps of several replicas fit in one block); a watcher per
	/// transaction follows it into a block and reports it. One retry with a fresh nonce for a
	/// transaction that was not included (a restarted worker's old transactions may still be
	/// pooled).
	async fn run(mut self, mut requests: mpsc::Receiver<Request>, cancel: CancellationToken) {
		let wait = if self.finalized { Wait::Finalized } else { Wait::InBlock };
		let (finish, mut retries) = self.finish();
		let mut next_nonce = 0u64;
		loop {
			let (request, attempt) = tokio::select! {
				Some(again) = retries.recv() => again,
				request = requests.recv() => match request { Some(r) => (r, 0), None => return },
				_ = cancel.cancelled() => return,
			};
			// Wait for a connection (the follower re-establishes it).
			let conn = loop {
				if let Some(conn) = self.connection.borrow_and_update().clone() {
					break Some(conn);
				}
				tokio::select! {
					changed = self.connection.changed() => if changed.is_err() { break None },
					_ = cancel.cancelled() => break None,
				}
			};
			let Some(conn) = conn else {
				finish.reply(request, Err(TxError::ShuttingDown)).await;
				return;
			};
			if finish.stale_nonce.swap(false, std::sync::atomic::Ordering::SeqCst) {
				next_nonce = 0;
			}
			let started = std::time::Instant::now();
			let sent = send_one(&conn, &self.key, &request, &mut next_nonce).await;
			tracing::debug!(
				tx = request.tx.name(),
				ok = sent.is_ok(),
				"submitted in {} ms",
				started.elapsed().as_millis()
			);
			match sent {
				Err(e) => {
					next_nonce = 0;
					finish.done_or_retry(request, attempt, Err(e)).await;
				},
				Ok(progress) => {
					let finish = finish.clone();
					let timeout = match request.anchor {
						Some(_) => STEP_INCLUSION_TIMEOUT,
						None => INCLUSION_TIMEOUT,
					};
					tokio::spawn(async move {
						let result =
							stratus_client::tx::follow(progress, wait, timeout).await.map(|_| ());
						if result.as_ref().is_err_and(TxError::left_the_pool) {
							finish.stale_nonce.store(true, std::sync::atomic::Ordering::SeqCst);
						}
						finish.done_or_retry(request, attempt, result).await;
					});
				},
			}
		}
	}

	/// What the transactions' watchers report to, and where their retries come back.
	fn finish(&self) -> (Finish, mpsc::UnboundedReceiver<Attempt>) {
		let (retry, retries) = mpsc::unbounded_channel::<Attempt>();
		let finish = Finish {
			outcomes: self.outcomes.clone(),
			ledger: self.ledger.clone(),
			metrics: self.metrics.clone(),
			retry,
			stale_nonce: self.stale_nonce.clone(),
		};
		(finish, retries)
	}

	/// Records how `request` ended and tells whoever waits for it (a test's shortcut).
	#[cfg(test)]
	async fn reply(&self, request: Request, result: Result<(), TxError>) {
		self.finish().0.reply(request, result).await
	}
}

impl Finish {
	/// A first attempt that was not included is sent again after a pause; anything else is
	/// reported. A replica's step (anchored at a block) is not retried here: the next block
	/// offers it again, mortal from that block (its own may have been retracted), with a nonce
	/// the pool is asked for.
	async fn done_or_retry(&self, request: Request, attempt: u8, result: Result<(), TxError>) {
		if let Err(e) = &result {
			if e.not_included() {
				self.stale_nonce.store(true, std::sync::atomic::Ordering::SeqCst);
			}
			if attempt == 0 && e.not_included() && request.anchor.is_none() {
				tracing::warn!(tx = request.tx.name(), "{e}; retrying with a fresh nonce");
				let retry = self.retry.clone();
				tokio::spawn(async move {
					tokio::time::sleep(Duration::from_secs(3)).await;
					let _ = retry.send((request, 1));
				});
				return;
			}
		}
		self.metrics.tx(request.tx.name(), result.is_ok());
		self.reply(request, result).await;
	}

	/// Records how `request` ended and tells whoever waits for it.
	async fn reply(&self, request: Request, result: Result<(), TxError>) {
		match request.reply {
			Reply::Caller(done) => {
				let _ = done.send(result);
			},
			Reply::Outcome { key, at } => {
				{
					let mut ledger = crate::lock(&self.ledger);
					let entry = (key, request.tx.name());
					match &result {
						Ok(()) => ledger.insert(entry, Sent::IncludedAt(at)),
						Err(_) => ledger.remove(&entry),
					};
				}
				if let Some(outcomes) = &self.outcomes {
					let _ = outcomes.send(Outcome { key, tx: request.tx, result }).await;
				}
			},
		}
	}
}

/// Signs and submits one transaction; returns its progress (see [`stratus_client::tx::send`]).
async fn send_one(
	conn: &Connection,
	key: &Keypair,
	request: &Request,
	next_nonce: &mut u64,
) -> Result<stratus_client::tx::Progress, TxError> {
	let anchor = request.anchor;
	// Each call has its own payload type: one submission path, spelled once.
	macro_rules! send {
		($call:expr) => {
			stratus_client::tx::send(conn, key, &$call, next_nonce, anchor).await
		};
	}
	match &request.tx {
		Tx::Acknowledge { job, replica } => send!(rt::tx().market().acknowledge(*job, *replica)),
		Tx::Decline { job, replica } => send!(rt::tx().market().decline(*job, *replica)),
		Tx::Commit { job, replica, commitment } => {
			send!(rt::tx().verification().commit(*job, *replica, (*commitment).into()))
		},
		Tx::Reveal { job, replica, digest, units, salt } => {
			send!(rt::tx().verification().reveal(*job, *replica, (*digest).into(), *units, *salt))
		},
		Tx::PostOffer { class, price, slots, expires_at } => {
			send!(rt::tx().market().post_offer((*class).into(), *price, *slots, *expires_at))
		},
		Tx::UpdateOffer { offer, price, slots, expires_at } => {
			send!(rt::tx().market().update_offer(*offer, *price, *slots, *expires_at))
		},
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used)]
	use super::*;

	fn idle_submitter(outcomes: Option<mpsc::Sender<Outcome>>) -> (Submitter, CancellationToken) {
		// No connection: the task takes one request and waits for a node that never comes.
		let (_, connection) = watch::channel(None);
		let cancel = CancellationToken::new();
		let tracker = tokio_util::task::TaskTracker::new();
		let key = stratus_client::keypair("//Alice").unwrap();
		let submitter = Submitter::spawn(
			key,
			false,
			connection,
			outcomes,
			Metrics::new(),
			cancel.clone(),
			&tracker,
		);
		(submitter, cancel)
	}

	fn ack(job: u64) -> Tx {
		Tx::Acknowledge { job, replica: 0 }
	}

	#[tokio::test]
	async fn a_call_is_sent_once_per_key_until_it_fails_or_its_resubmit_window_passes() {
		let (submitter, cancel) = idle_submitter(None);
		let first = TxKey::Replica((1, 0));
		assert_eq!(submitter.send(first, 10, None, ack(1)), Queued::Sent);
		assert_eq!(submitter.send(first, 11, None, ack(1)), Queued::InFlight);
		assert_eq!(
			submitter.send(TxKey::Replica((2, 0)), 11, None, ack(2)),
			Queued::Sent,
			"another key"
		);
		let decline = Tx::Decline { job: 1, replica: 0 };
		assert_eq!(submitter.send(first, 11, None, decline), Queued::Sent, "another call");
		let offer = Tx::PostOffer { class: ResourceClass::Cpu, price: 1, slots: 1, expires_at: 9 };
		let cpu = TxKey::Offer(ResourceClass::Cpu);
		assert_eq!(submitter.send(cpu, 11, None, offer.clone()), Queued::Sent);
		assert_eq!(
			submitter.send(TxKey::Offer(ResourceClass::Gpu(0)), 11, None, offer),
			Queued::Sent
		);

		// Included (as the task records it), sent at block 10: done until the window passes.
		crate::lock(&submitter.ledger).insert((first, "acknowledge"), Sent::IncludedAt(10));
		let last_quiet = 10 + RESUBMIT_AFTER_BLOCKS - 1;
		assert_eq!(submitter.send(first, last_quiet, None, ack(1)), Queued::Done(10));
		assert_eq!(submitter.send(first, last_quiet + 1, None, ack(1)), Queued::Sent, "sent again");
		cancel.cancel();
	}

	#[tokio::test]
	async fn a_reorg_forgets_what_was_included_but_not_what_is_in_flight() {
		let (submitter, cancel) = idle_submitter(None);
		let (included, in_flight) = (TxKey::Replica((1, 0)), TxKey::Replica((2, 0)));
		assert_eq!(submitter.send(in_flight, 10, None, ack(2)), Queued::Sent);
		crate::lock(&submitter.ledger).insert((included, "acknowledge"), Sent::IncludedAt(10));
		assert_eq!(submitter.send(included, 11, None, ack(1)), Queued::Done(10));
		submitter.forget_included();
		assert_eq!(submitter.send(included, 11, None, ack(1)), Queued::Sent, "sent again");
		assert_eq!(
			submitter.send(in_flight, 11, None, ack(2)),
			Queued::InFlight,
			"not twice at once"
		);
		cancel.cancel();
	}

	#[tokio::test]
	async fn a_full_queue_is_said_and_records_nothing() {
		let (submitter, cancel) = idle_submitter(None);
		let mut full_at = None;
		for job in 0..200 {
			if submitter.send(TxKey::Replica((job, 0)), 1, None, ack(job)) == Queued::Full {
				full_at = Some(job);
				break;
			}
		}
		let job = full_at.expect("a bounded queue fills");
		assert!(job >= 64, "the queue holds 64 requests (and the task one more)");
		assert!(!crate::lock(&submitter.ledger)
			.contains_key(&(TxKey::Replica((job, 0)), "acknowledge")));
		cancel.cancel();
	}

	#[tokio::test]
	async fn an_outcome_is_recorded_and_reported() {
		let (outcomes_tx, mut outcomes) = mpsc::channel(4);
		let (_, connection) = watch::channel(None);
		let task = Task {
			key: stratus_client::keypair("//Alice").unwrap(),
			finalized: false,
			connection,
			outcomes: Some(outcomes_tx),
			ledger: Ledger::default(),
			metrics: Metrics::new(),
			stale_nonce: Arc::default(),
		};
		let key = TxKey::Replica((7, 1));
		let entry = (key, "acknowledge");
		crate::lock(&task.ledger).insert(entry, Sent::InFlight);
		task.reply(
			Request { tx: ack(7), reply: Reply::Outcome { key, at: 5 }, anchor: None },
			Ok(()),
		)
		.await;
		assert_eq!(crate::lock(&task.ledger).get(&entry), Some(&Sent::IncludedAt(5)));
		let outcome = outcomes.recv().await.unwrap();
		assert_eq!((outcome.key, outcome.tx, outcome.result.is_ok()), (key, ack(7), true));

		// A failure forgets the call, so that the next block sends it again.
		crate::lock(&task.ledger).insert(entry, Sent::InFlight);
		let failed = Err(TxError::NotIncluded("dropped".into()));
		task.reply(
			Request { tx: ack(7), reply: Reply::Outcome { key, at: 6 }, anchor: None },
			failed,
		)
		.await;
		assert!(!crate::lock(&task.ledger).contains_key(&entry));
		assert!(outcomes.recv().await.unwrap().result.is_err());
	}
}

//! `stratus-worker run`: the daemon.
//!
//! Tasks, joined by bounded channels and one cancellation token:
//!
//! - the **follower** ([`follower`]) keeps a connection to one of the configured nodes
//!   (reconnecting with backoff, moving on to the next endpoint) and hands each new best block
//!   (or finalized block, with `[chain] follow = "finalized"`), with the newest finalized one, to
//!   the reconciler on a one-slot channel; it notices reorgs;
//! - the **reconciler** ([`reconcile`]) compares, at each block, what the market says about this
//!   provider's replicas with the job store: it admits or declines new replicas ([`admission`]),
//!   starts job tasks, sends commits and reveals, records how replicas ended and keeps the offers
//!   on the book ([`offers`]); between blocks it records the outcomes of what it sent, which
//!   come back from the submitter on a bounded channel; it asks the follower for a reconnect when
//!   a block cannot be finished;
//! - the **submitter** ([`crate::submitter`]) owns the worker key and its nonce, sends every
//!   transaction once (it de-duplicates what the reconciler offers at every block) and reports
//!   each outcome;
//! - one **job task** ([`job_task`]) per replica being run: fetch program and input, run the
//!   executor on a blocking thread, store output + digest + salt durably, send the commit;
//! - the **result server** ([`crate::server`]): outputs to requesters, metrics, health.
//!
//! SIGINT/SIGTERM cancel the token: the follower stops, the server drains, running jobs are left to
//! be resumed by the next start (their checkpoints and records are on disk).

use std::{
	collections::HashSet,
	sync::{atomic::AtomicU64, Arc, Mutex},
	time::Duration,
};

use stratus_client::{
	runtime::runtime_types::pallet_market::types::JobInput, AccountId, Connection, Keypair,
};
use tokio::sync::{mpsc, watch};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
	chain::{AtBlock, Chain, Job, Replica},
	config::Config,
	executor::{
		wasm::{WasmConfig, WasmExecutor},
		ExecError,
	},
	fetch,
	metrics::Metrics,
	server::{self, ServerState},
	store::{Record, ReplicaKey, Stage, Store},
	submitter::{Queued, Submitter, Tx, TxKey, OUTCOMES},
};

pub mod admission;
mod follower;
pub mod job_task;
mod offers;
mod reconcile;

pub use admission::Decline;
pub use job_task::JobError;

/// Blocks kept in hand between a job's estimated end and its commit deadline (commit inclusion
/// and finality).
pub const COMMIT_MARGIN_BLOCKS: u32 = 3;

/// What the reconciler works on: the block the daemon acts on (the best block, or the finalized
/// one with `[chain] follow = "finalized"`) and the newest finalized block.
#[derive(Clone)]
pub(crate) struct Tip {
	pub at: AtBlock,
	pub finalized: AtBlock,
}

/// Why the daemon cannot start or must stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
	#[error(transparent)]
	Store(#[from] crate::store::StoreError),
	#[error("the WASM executor cannot start: {0}")]
	Executor(ExecError),
	#[error("the result server cannot listen on {addr}: {source}")]
	Listen { addr: std::net::SocketAddr, source: std::io::Error },
	#[error(transparent)]
	Client(#[from] stratus_client::ClientError),
	#[error("the HTTP client cannot start: {0}")]
	Http(String),
}

/// `n` MiB in bytes.
fn mib(n: impl Into<u64>) -> u64 {
	n.into().saturating_mul(1024 * 1024)
}

/// The daemon's shared state.
pub struct Daemon {
	config: Config,
	worker: AccountId,
	store: Store,
	metrics: Metrics,
	submitter: Submitter,
	wasm: Arc<WasmExecutor>,
	/// CUDA ordinals of each GPU class of the profile (`ResourceClass::Gpu(i)` → `gpus[i]`).
	gpus: Vec<Vec<u32>>,
	/// The device memory of one CUDA slot, MiB: the smallest class's GPU memory shared by its
	/// `gpu_slots` (a slot's jobs may all land on one device).
	gpu_slot_vram_mib: u64,
	fetcher: fetch::Fetcher,
	/// The follower's current connection (None while reconnecting).
	conn: watch::Receiver<Option<Connection>>,
	/// Replicas whose job task is running.
	running: Mutex<HashSet<ReplicaKey>>,
	/// Running replicas whose record a reorg made another job's: their task drops the record
	/// and its result instead of committing (checked and set under `running`'s lock).
	stale: Mutex<HashSet<ReplicaKey>>,
	/// The follower's reorg count at which each record was last found to be its chain's job.
	checked: Mutex<std::collections::HashMap<ReplicaKey, u64>>,
	/// Offers that served a replica that ended since the last upkeep: re-offer them.
	freed: Mutex<bool>,
	/// Reorgs the follower has seen (the reconciler checks its records after each).
	reorgs: AtomicU64,
	tracker: TaskTracker,
	cancel: CancellationToken,
}

/// A handle on a started daemon (for tests and `main`).
pub struct Running {
	pub daemon: Arc<Daemon>,
	pub results_addr: std::net::SocketAddr,
	pub tracker: TaskTracker,
	pub cancel: CancellationToken,
}

impl Running {
	/// Stops every task and waits (at most `grace`) for them.
	pub async fn shutdown(self, grace: Duration) {
		self.cancel.cancel();
		self.tracker.close();
		let _ = tokio::time::timeout(grace, self.tracker.wait()).await;
	}
}

/// Starts the daemon's tasks.
pub async fn start(config: Config, worker_key: Keypair) -> Result<Running, DaemonError> {
	let store = Store::open(&config.worker.data_dir)?;
	let gpu_classes = crate::host::gpu_classes(&crate::host::detect());
	let config_gpu_slots = config.offers.gpu_slots;
	let metrics = Metrics::new();
	let cancel = CancellationToken::new();
	let tracker = TaskTracker::new();
	let (conn_tx, conn_rx) = watch::channel::<Option<Connection>>(None);
	let worker = stratus_client::account_of(&worker_key);
	let (outcomes_tx, outcomes_rx) = mpsc::channel(OUTCOMES);
	let submitter = Submitter::spawn(
		worker_key,
		false,
		conn_rx.clone(),
		Some(outcomes_tx),
		metrics.clone(),
		cancel.clone(),
		&tracker,
	);
	let slots = config.offers.cpu_slots.clamp(1, 256);
	let wasm = WasmExecutor::new(WasmConfig {
		max_concurrent_jobs: slots,
		max_memory_bytes: mib(admission::slot_memory_mib(&config)),
		..WasmConfig::default()
	})
	.map_err(DaemonError::Executor)?;
	let fetcher = fetch::Fetcher::new(config.worker.allow_private_inputs)
		.map_err(|e| DaemonError::Http(e.to_string()))?;
	let server_state =
		ServerState::new(store.clone(), metrics.clone(), config.results.public_url.clone());
	// Download requests are bound to the chain: its genesis, once connected.
	{
		let genesis = server_state.genesis.clone();
		let mut chain = conn_rx.clone();
		tracker.spawn(async move {
			loop {
				let known = chain.borrow_and_update().as_ref().map(|c| c.client.genesis_hash().0);
				if let Some(hash) = known {
					let _ = genesis.set(hash);
					return;
				}
				if chain.changed().await.is_err() {
					return;
				}
			}
		});
	}
	let bounds = server::Bounds {
		max_connections: config.results.max_connections.max(1) as usize,
		..server::Bounds::default()
	};
	// Idle connections each hold a file descriptor: room for the connection limit and the rest.
	crate::host::raise_open_files_limit(u64::from(config.results.max_connections) + 1024);
	let results_addr = server::serve(
		config.results.listen,
		server_state.clone(),
		bounds,
		config.results.metrics_listen.is_some(),
		cancel.clone(),
		&tracker,
	)
	.await
	.map_err(|source| DaemonError::Listen { addr: config.results.listen, source })?;
	if let Some(listen) = config.results.metrics_listen {
		let bound = server::serve_metrics(listen, server_state, cancel.clone(), &tracker)
			.await
			.map_err(|source| DaemonError::Listen { addr: listen, source })?;
		tracing::info!("metrics on http://{bound}/metrics");
	}
	tracing::info!(
		"worker key {}; {} replicas in the job store; results on http://{results_addr}",
		stratus_client::ss58(&worker),
		store.live().len()
	);
	let daemon = Arc::new(Daemon {
		config,
		worker,
		store,
		metrics,
		submitter,
		wasm: Arc::new(wasm),
		gpu_slot_vram_mib: gpu_classes
			.iter()
			.map(|(spec, _)| u64::from(spec.vram_mib))
			.min()
			.unwrap_or(0)
			.checked_div(u64::from(config_gpu_slots.max(1)))
			.unwrap_or(0),
		gpus: gpu_classes.into_iter().map(|(_, ordinals)| ordinals).collect(),
		fetcher,
		conn: conn_rx,
		running: Mutex::new(HashSet::new()),
		stale: Mutex::new(HashSet::new()),
		checked: Mutex::default(),
		freed: Mutex::new(true),
		reorgs: AtomicU64::new(0),
		tracker: tracker.clone(),
		cancel: cancel.clone(),
	});
	let (blocks_tx, blocks_rx) = watch::channel(None);
	let (reconnect_tx, reconnect_rx) = mpsc::channel(1);
	tracker.spawn(follower::follow(daemon.clone(), conn_tx, blocks_tx, reconnect_rx));
	tracker.spawn(reconcile::reconcile(daemon.clone(), blocks_rx, outcomes_rx, reconnect_tx));
	tracker.spawn(prune(daemon.clone()));
	Ok(Running { daemon, results_addr, tracker, cancel })
}

/// Forgets ended replicas past their retention (`keep_ended_days`): at start, then hourly.
async fn prune(daemon: Arc<Daemon>) {
	let days = daemon.config.worker.keep_ended_days;
	if days == 0 {
		return;
	}
	let keep = Duration::from_secs(u64::from(days).saturating_mul(86_400));
	let mut hourly = tokio::time::interval(Duration::from_secs(3_600));
	loop {
		tokio::select! {
			_ = daemon.cancel.cancelled() => return,
			_ = hourly.tick() => {},
		}
		match daemon.store.prune(keep) {
			Ok(0) => {},
			Ok(n) => tracing::info!("forgot {n} replicas that ended more than {days} days ago"),
			Err(e) => tracing::warn!("pruning the job store: {e}"),
		}
	}
}

fn now_block(at: &AtBlock) -> u32 {
	at.block_number() as u32
}

impl Daemon {
	/// Whether the job task of `key` is running.
	fn is_running(&self, key: ReplicaKey) -> bool {
		crate::lock(&self.running).contains(&key)
	}

	/// The market's acknowledgement window (10 blocks if the metadata cannot say).
	fn ack_window(&self, at: &AtBlock) -> u32 {
		Chain::ack_window(at).unwrap_or(10)
	}

	/// Offers `tx` for `key` to the submitter, which sends it unless the same call is in flight or
	/// was included recently.
	///
	/// The transaction is mortal from `at`, the block whose state it answers: if a reorg takes
	/// that block off the best chain, the transaction is invalid on the new one (the pool drops
	/// it rather than letting it land on a chain where it may mean something else, such as a
	/// commitment for another job under the same id), and the next block offers it again if the
	/// new chain still needs it.
	fn send(&self, key: TxKey, at: &AtBlock, tx: Tx) {
		let name = tx.name();
		let anchor = Some((at.block_number(), at.block_hash()));
		match self.submitter.send(key, now_block(at), anchor, tx) {
			Queued::Sent | Queued::InFlight | Queued::Done(_) => {},
			Queued::Full => {
				tracing::warn!(?key, "{name}: the submitter's queue is full; next block")
			},
			Queued::Stopped => tracing::debug!(?key, "{name}: the submitter has stopped"),
		}
	}
}

/// What identifies a job across forks: its requester, program, terms and input. A reorg may put
/// the same job in another block (the same fingerprint: the work done for it stands, and a
/// commitment of it that the pool brings back is still this worker's to reveal) or another job
/// under the same id (another fingerprint: the work is dropped and the job taken on afresh).
pub fn job_fingerprint(job: &Job, input: Option<&JobInput>) -> [u8; 32] {
	let requester: [u8; 32] = job.requester.clone().into();
	let mut bytes = Vec::with_capacity(160);
	bytes.extend_from_slice(&requester);
	bytes.extend_from_slice(&job.program.0);
	bytes.extend_from_slice(&job.max_price.to_le_bytes());
	bytes.extend_from_slice(&job.max_units.to_le_bytes());
	bytes.extend_from_slice(&job.commit_window.to_le_bytes());
	bytes.extend_from_slice(&job.deadline.to_le_bytes());
	bytes.extend_from_slice(&job.max_output_bytes.to_le_bytes());
	bytes.extend_from_slice(format!("{:?}", job.policy).as_bytes());
	match input {
		Some(JobInput::Inline(inline)) => {
			bytes.push(1);
			bytes.extend_from_slice(&stratus_client::blake2_256(&inline.0));
		},
		Some(JobInput::Remote { url, hash, size }) => {
			bytes.push(2);
			bytes.extend_from_slice(&stratus_client::blake2_256(&url.0));
			bytes.extend_from_slice(&hash.0);
			bytes.extend_from_slice(&size.to_le_bytes());
		},
		None => bytes.push(0),
	}
	stratus_client::blake2_256(&bytes)
}

/// A new replica's record; `(min_memory_mib, min_vram_mib)` are the job's memory requirements,
/// `fingerprint` its [`job_fingerprint`].
fn new_record(
	job: &Job,
	replica: &Replica,
	(min_memory_mib, min_vram_mib): (u32, u32),
	fingerprint: [u8; 32],
) -> Record {
	Record {
		job: replica.job,
		replica: replica.replica,
		requester: job.requester.clone().into(),
		provider: replica.provider.clone().into(),
		program: job.program.0,
		kind: job.kind,
		offer: replica.offer,
		max_units: job.max_units,
		max_output_bytes: job.max_output_bytes,
		memory_mib: stratus_primitives::job_memory_mib(min_memory_mib),
		vram_mib: min_vram_mib,
		fingerprint: Some(fingerprint),
		stage: Stage::Declined,
		..Record::default()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use stratus_client::runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec;
	use stratus_primitives::{market::JobPhase, VerificationPolicy};

	fn job(requester: u8, deadline: u32, submitted_at: u32) -> Job {
		Job {
			job: 7,
			requester: crate::chain::ViewAccount::new([requester; 32]),
			program: [9; 32].into(),
			kind: stratus_primitives::JobKind::Wasm,
			inline_input_bytes: Some(5),
			input_url: None,
			max_price: 2_000,
			max_units: 1_000,
			policy: VerificationPolicy::Adaptive,
			replication: 1,
			spot_check: None,
			referees: false,
			unfilled: 0,
			commit_window: 20,
			deadline,
			max_output_bytes: 1024,
			escrow: 10_000,
			phase: JobPhase::Open,
			submitted_at,
			ended_at: None,
			replicas: Vec::new(),
		}
	}

	/// The same job posted again in another block (a reorg) keeps its fingerprint, and with it
	/// the work done for it; another requester, deadline or input under the same id does not.
	#[test]
	fn a_job_is_known_across_forks_by_its_terms_and_input_not_its_block() {
		let input = |bytes: &[u8]| JobInput::Inline(BoundedVec(bytes.to_vec()));
		let hello = input(b"hello");
		let original = job_fingerprint(&job(1, 500, 40), Some(&hello));
		assert_eq!(original, job_fingerprint(&job(1, 500, 41), Some(&hello)), "another block");
		assert_ne!(original, job_fingerprint(&job(2, 500, 40), Some(&hello)), "another requester");
		assert_ne!(original, job_fingerprint(&job(1, 501, 40), Some(&hello)), "another deadline");
		assert_ne!(original, job_fingerprint(&job(1, 500, 40), Some(&input(b"hellp"))), "input");
		assert_ne!(original, job_fingerprint(&job(1, 500, 40), None), "no input");
	}
}

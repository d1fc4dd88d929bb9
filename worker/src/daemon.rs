//! `stratus-worker run`: the daemon.
//!
//! Tasks, joined by bounded channels and one cancellation token:
//!
//! - the **follower** keeps a connection to one of the configured nodes (reconnecting with backoff,
//!   moving on to the next endpoint), follows finalized blocks and, at each, reconciles what the
//!   market says about this provider's replicas with the job store ([`Daemon::on_block`]);
//! - the **submitter** ([`crate::submitter`]) owns the worker key and its nonce and sends every
//!   transaction;
//! - one **job task** per replica being run: fetch program and input, run the executor on a
//!   blocking thread, store output + digest + salt durably, submit the commit;
//! - the **result server** ([`crate::server`]): outputs to requesters, metrics, health.
//!
//! SIGINT/SIGTERM cancel the token: the follower stops, the server drains, running jobs are left to
//! be resumed by the next start (their checkpoints and records are on disk).

use std::{
	collections::{HashMap, HashSet},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use stratus_client::{
	runtime::runtime_types::pallet_market::types::JobInput, AccountId, Connection, Keypair,
};
use stratus_primitives::{
	market::{JobPhase, ReplicaState},
	JobKind, ResourceClass,
};
use tokio::sync::watch;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
	chain::{AtBlock, Chain, ChainError, Job, Replica},
	config::Config,
	executor::{
		self, cuda,
		wasm::{WasmConfig, WasmExecutor, WasmJob},
		ExecError, Failed, Limits,
	},
	fetch,
	metrics::Metrics,
	server::{self, ServerState},
	store::{Record, ReplicaKey, Stage, Store},
	submitter::{Submitter, Tx, TxError},
};

/// Blocks kept in hand between a job's estimated end and its commit deadline (commit inclusion
/// and finality).
pub const COMMIT_MARGIN_BLOCKS: u32 = 3;
/// A finalized block is expected at least this often; longer silence means a reconnect.
const BLOCK_SILENCE: Duration = Duration::from_secs(60);
/// A successful transaction is not sent again for this many blocks (the finalized view lags).
const RESUBMIT_AFTER_BLOCKS: u32 = 8;

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
	/// Transactions in flight or recently included: (replica, call) → block it was sent at.
	sent: Mutex<HashMap<(ReplicaKey, &'static str), Option<u32>>>,
	/// Offers that served a replica that ended since the last upkeep: re-offer them.
	freed: Mutex<bool>,
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
	let submitter = Submitter::spawn(
		worker_key,
		false,
		conn_rx.clone(),
		metrics.clone(),
		cancel.clone(),
		&tracker,
	);
	let slots = config.offers.cpu_slots.clamp(1, 256);
	let wasm = WasmExecutor::new(WasmConfig {
		max_concurrent_jobs: slots,
		max_memory_bytes: mib(slot_memory_mib(&config)),
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
		sent: Mutex::new(HashMap::new()),
		freed: Mutex::new(true),
		tracker: tracker.clone(),
		cancel: cancel.clone(),
	});
	tracker.spawn(follow(daemon.clone(), conn_tx));
	tracker.spawn(prune(daemon.clone()));
	Ok(Running { daemon, results_addr, tracker, cancel })
}

/// Keeps a connection and processes every finalized block until cancelled.
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

async fn follow(daemon: Arc<Daemon>, conn_tx: watch::Sender<Option<Connection>>) {
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
		let reason = daemon.follow_blocks(&conn).await;
		let _ = conn_tx.send(None);
		if daemon.cancel.is_cancelled() {
			return;
		}
		tracing::warn!("lost {}: {reason}; reconnecting", conn.endpoint);
		next_endpoint = index.saturating_add(1);
	}
}

fn now_block(at: &AtBlock) -> u32 {
	at.block_number() as u32
}

impl Daemon {
	async fn follow_blocks(self: &Arc<Self>, conn: &Connection) -> String {
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
			if let Err(e) = self.on_block(&at).await {
				match e {
					BlockError::Chain(e) => return e.to_string(),
					// A full disk or a failing write is not the end of the worker: nothing was
					// sent that the store does not hold (results are stored before their commit
					// leaves), and the block is processed again after the reconnect's backoff,
					// when the store may be writable again.
					BlockError::Store(e) => {
						tracing::error!("{e}: will retry this block");
						return e.to_string();
					},
				}
			}
		}
	}

	/// Reconciles the market's view of this provider's replicas at `at` with the job store.
	async fn on_block(self: &Arc<Self>, at: &AtBlock) -> Result<(), BlockError> {
		let now = now_block(at);
		let replicas = Chain::provider_replicas(at, &self.worker).await?;
		let mut seen = HashSet::new();
		for replica in &replicas {
			let key = (replica.job, replica.replica);
			seen.insert(key);
			self.on_replica(at, now, replica).await?;
		}
		// Replicas the worker knows but the market no longer lists as live: they ended.
		for record in self.store.live() {
			let key = (record.job, record.replica);
			if seen.contains(&key) {
				continue;
			}
			self.on_ended(at, &record).await?;
		}
		self.upkeep_offers(at, now).await?;
		Ok(())
	}

	async fn on_replica(
		self: &Arc<Self>,
		at: &AtBlock,
		now: u32,
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
				let block_time = Chain::block_time(at)?;
				match self.decide(&job, replica, now, memory, block_time) {
					Ok(()) => {
						tracing::info!(job = key.0, replica = key.1, "accepted; acknowledging");
						self.store.put(Record { stage: Stage::Acknowledging, ..record })?;
						self.send(key, now, Tx::Acknowledge { job: key.0, replica: key.1 });
					},
					Err(reason) => {
						tracing::info!(job = key.0, replica = key.1, "declined: {reason}");
						self.metrics.declined.with_label_values(&[reason.label()]).inc();
						let note = Some(reason.to_string());
						self.store.put(Record { stage: Stage::Declined, note, ..record })?;
						// Said on chain, so that the job is reissued at once and the replica is
						// not held against this provider as a missed acknowledgement.
						if replica.ack_by >= now {
							self.send(key, now, Tx::Decline { job: key.0, replica: key.1 });
						}
					},
				}
			},
			(ReplicaState::Assigned, Some(record))
				if record.stage == Stage::Acknowledging && now <= replica.ack_by =>
			{
				self.send(key, now, Tx::Acknowledge { job: key.0, replica: key.1 });
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
							self.send(key, now, tx);
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

	/// Whether this worker can run `replica` of `job` before its commit deadline.
	fn slot_memory_mib(&self) -> u64 {
		slot_memory_mib(&self.config)
	}

	fn decide(
		&self,
		job: &Job,
		replica: &Replica,
		now: u32,
		(min_memory_mib, min_vram_mib): (u32, u32),
		block_time: Duration,
	) -> Result<(), Decline> {
		let slots = match job.kind {
			JobKind::Wasm => self.config.offers.cpu_slots,
			JobKind::Cuda if self.gpus.is_empty() => return Err(Decline::NoGpu),
			JobKind::Cuda => self
				.config
				.offers
				.gpu_slots
				.saturating_mul(u32::try_from(self.gpus.len()).unwrap_or(u32::MAX)),
		};
		if replica.ack_by < now {
			return Err(Decline::Late);
		}
		if let Some((_, _, size)) = &job.input_url {
			let max = mib(self.config.worker.max_input_mib);
			if *size > max {
				return Err(Decline::InputTooLarge { size: *size, max });
			}
		}
		output_fits(job.max_output_bytes, self.config.worker.max_output_mib)?;
		match job.kind {
			JobKind::Wasm => memory_fits(min_memory_mib, self.slot_memory_mib())?,
			JobKind::Cuda => vram_fits(min_vram_mib, self.gpu_slot_vram_mib)?,
		}
		let busy = self.store.live().iter().filter(|r| r.kind == job.kind).count();
		if busy >= slots as usize {
			return Err(Decline::Busy);
		}
		// Acknowledged in the next block or two; then `commit_window` blocks to commit, of which
		// COMMIT_MARGIN_BLOCKS are kept for the commit to be included.
		let usable = job.commit_window.saturating_sub(COMMIT_MARGIN_BLOCKS);
		let available = block_time.saturating_mul(usable);
		let needed = match job.kind {
			JobKind::Wasm => Duration::from_secs_f64(
				job.max_units as f64 / self.config.worker.units_per_second.max(1) as f64,
			),
			// CUDA units are GPU milliseconds.
			JobKind::Cuda => Duration::from_millis(job.max_units),
		};
		if needed > available {
			return Err(Decline::TooSlow { needed, available });
		}
		Ok(())
	}

	/// Starts the job task of `key` unless it runs already.
	fn start_job(self: &Arc<Self>, key: ReplicaKey, commit_by: Option<u32>) {
		if !crate::lock(&self.running).insert(key) {
			return;
		}
		let daemon = self.clone();
		self.metrics.running.inc();
		self.tracker.spawn(async move {
			let result = daemon.run_job(key, commit_by).await;
			if let Err(e) = result {
				tracing::warn!(
					job = key.0,
					replica = key.1,
					"job task stopped: {e}; retried next block"
				);
			}
			daemon.metrics.running.dec();
			crate::lock(&daemon.running).remove(&key);
		});
	}

	/// Fetches, runs, stores and commits one replica.
	async fn run_job(
		self: &Arc<Self>,
		key: ReplicaKey,
		commit_by: Option<u32>,
	) -> Result<(), String> {
		let record = self.store.get(key).ok_or("no record")?;
		tracing::info!(job = key.0, replica = key.1, "running");
		let at = self.finalized_chain().await?;
		let now = now_block(&at);
		let program = Chain::program(&at, record.program)
			.await
			.map_err(|e| e.to_string())?
			.ok_or("the program is not on chain")?;
		let input = Chain::input(&at, key.0).await.map_err(|e| e.to_string())?.ok_or("no input")?;
		let started = Instant::now();
		// The wall-clock cap of fetching and running: what is left until the commit deadline,
		// less the margin.
		let blocks_left = commit_by
			.unwrap_or(now.saturating_add(10))
			.saturating_sub(now)
			.saturating_sub(COMMIT_MARGIN_BLOCKS)
			.max(1);
		let time_left =
			Chain::block_time(&at).map_err(|e| e.to_string())?.saturating_mul(blocks_left);
		let input = match input {
			JobInput::Inline(bytes) => Ok(bytes.0),
			JobInput::Remote { url, hash, size } => {
				let max = mib(self.config.worker.max_input_mib);
				self.fetcher
					.fetch_input(&url.0, hash.0, size, max, time_left)
					.await
					.map_err(|e| ExecError::BadInput(e.to_string()))
			},
		};
		let limits = Limits {
			max_units: record.max_units,
			// A WASM job's memory limit is the job's own, the same on every provider; `decide`
			// declined the job if this host cannot give it that much per slot.
			max_memory_bytes: match record.kind {
				// (`record.memory_mib` is the limit already; mapped again for a record written
				// before jobs had one, whose 0 is the default.)
				JobKind::Wasm => mib(stratus_primitives::job_memory_mib(record.memory_mib)),
				// A CUDA job's device memory: what it asked for (`decide` checked that a slot
				// has it), else the slot's share of the GPU.
				JobKind::Cuda => match record.vram_mib {
					0 => mib(self.gpu_slot_vram_mib),
					asked => mib(asked),
				},
			},
			max_wall: time_left.saturating_sub(started.elapsed()).max(Duration::from_secs(1)),
			max_output_bytes: u64::from(record.max_output_bytes),
		};
		let exec_started = Instant::now();
		let device = if record.kind == JobKind::Cuda {
			Some(self.device_for(&at, &record).await?)
		} else {
			None
		};
		let outcome = match input {
			Ok(input) => {
				let wasm = self.wasm.clone();
				let checkpoints = self.store.checkpoints(key);
				let program_hash = record.program;
				tokio::task::spawn_blocking(move || match device {
					// CUDA jobs run in a child process, killed at the wall-clock limit.
					// CUDA units (GPU milliseconds) are not deterministic: a failed CUDA job
					// reports none, unless it ran out of them.
					Some(device) => cuda::IsolatedRunner::new(device)
						.and_then(|runner| runner.run(&program, &input, &limits))
						.map(|report| report.outcome)
						.map_err(Failed::from),
					None => wasm.run_counted(
						&WasmJob { program_hash, program: &program, input: &input, limits },
						checkpoints,
					),
				})
				.await
				.map_err(|e| format!("the executor thread failed: {e}"))?
			},
			Err(e) => Err(Failed::from(e)),
		};
		let exec_time = exec_started.elapsed();
		self.metrics.execution_seconds.observe(exec_time.as_secs_f64());
		let (output, digest, units, failure) = match outcome {
			Ok(outcome) => {
				self.metrics.executed.with_label_values(&["ok"]).inc();
				(outcome.output, outcome.digest, outcome.units, None)
			},
			Err(Failed { error: ExecError::Unavailable(why), .. }) => return Err(why),
			Err(Failed { error, units }) => {
				self.metrics.executed.with_label_values(&[error.kind()]).inc();
				tracing::info!(job = key.0, replica = key.1, units, "the job failed: {error}");
				let output = executor::failure_output(&error);
				let digest = executor::digest(&output);
				(output, digest, units.min(record.max_units), Some(error.to_string()))
			},
		};
		let record = self
			.store
			.store_result(key, &output, digest, units, failure)
			.map_err(|e| e.to_string())?;
		self.metrics
			.overhead_seconds
			.observe(started.elapsed().saturating_sub(exec_time).as_secs_f64());
		tracing::info!(
			job = key.0,
			replica = key.1,
			units,
			"computed digest 0x{}; committing",
			hex::encode(digest)
		);
		self.send_commit(key, now, &record);
		Ok(())
	}

	/// The GPU a CUDA replica runs on: a device of the GPU class its offer sells.
	async fn device_for(&self, at: &AtBlock, record: &Record) -> Result<u32, String> {
		let offers = Chain::offers(at, &self.worker).await.map_err(|e| e.to_string())?;
		let class = offers.iter().find(|o| o.offer == record.offer).map(|o| o.class);
		let Some(ResourceClass::Gpu(index)) = class else {
			return Err(format!("offer {} is not a GPU offer of this provider", record.offer));
		};
		let ordinals = self
			.gpus
			.get(usize::from(index))
			.filter(|o| !o.is_empty())
			.ok_or_else(|| format!("this host has no GPU class {index}"))?;
		// Spread a class's replicas over its devices.
		let spread = record.job.wrapping_add(u64::from(record.replica));
		let at = usize::try_from(spread).unwrap_or(0).checked_rem(ordinals.len()).unwrap_or(0);
		ordinals.get(at).copied().ok_or_else(|| "no device".into())
	}

	/// The chain at the latest finalized block, on the follower's connection.
	async fn finalized_chain(&self) -> Result<AtBlock, String> {
		let conn = self.conn.borrow().clone().ok_or("not connected to a node")?;
		Chain { client: conn.client }.finalized().await.map_err(|e| e.to_string())
	}

	fn send_commit(self: &Arc<Self>, key: ReplicaKey, now: u32, record: &Record) {
		// The commitment binds the chain it is for: the one this connection serves.
		let Some(genesis) = self.conn.borrow().as_ref().map(|c| c.client.genesis_hash().0) else {
			return;
		};
		let Some(commitment) = record.commitment(&genesis) else { return };
		self.send(key, now, Tx::Commit { job: key.0, replica: key.1, commitment });
	}

	/// Sends `tx` for `key` unless the same call is in flight or was included recently.
	fn send(self: &Arc<Self>, key: ReplicaKey, now: u32, tx: Tx) {
		let name = tx.name();
		{
			let mut sent = crate::lock(&self.sent);
			match sent.get(&(key, name)) {
				Some(None) => return, // in flight
				Some(Some(at)) if now < at.saturating_add(RESUBMIT_AFTER_BLOCKS) => return,
				_ => {},
			}
			sent.insert((key, name), None);
		}
		let daemon = self.clone();
		self.tracker.spawn(async move {
			let result = daemon.submitter.submit(tx.clone()).await;
			let mut sent = crate::lock(&daemon.sent);
			match &result {
				Ok(()) => {
					sent.insert((key, name), Some(now));
				},
				Err(_) => {
					sent.remove(&(key, name));
				},
			}
			drop(sent);
			daemon.after_tx(key, &tx, result);
		});
	}

	fn after_tx(self: &Arc<Self>, key: ReplicaKey, tx: &Tx, result: Result<(), TxError>) {
		let stage = match (&result, tx) {
			(Ok(()), Tx::Acknowledge { .. }) => Some(Stage::Running),
			(Ok(()), Tx::Commit { .. }) => Some(Stage::Committed),
			(Ok(()), Tx::Reveal { units, .. }) => {
				self.metrics.units.inc_by(*units);
				Some(Stage::Revealed)
			},
			(Err(e), _) => {
				tracing::warn!(job = key.0, replica = key.1, "{} failed: {e}", tx.name());
				None
			},
			_ => None,
		};
		if let Some(stage) = stage {
			tracing::info!(job = key.0, replica = key.1, "{} included", tx.name());
			if let Err(e) = self.store.advance(key, stage, None) {
				// The next block's reconciliation moves the record on from the chain's view.
				tracing::error!("{e}: the next block will record it");
			}
		}
	}

	/// Keeps this provider's offers on the book: for each resource class of the price policy
	/// (CPU; each GPU class), posts an offer when there is none, and renews it (which also
	/// re-matches resting jobs against freed slots) when a replica ended or it is about to expire.
	async fn upkeep_offers(self: &Arc<Self>, at: &AtBlock, now: u32) -> Result<(), BlockError> {
		let policy = &self.config.offers;
		let mut wanted = Vec::new();
		if policy.cpu_slots > 0 {
			wanted.push((ResourceClass::Cpu, policy.cpu_price.0, policy.cpu_slots));
		}
		if policy.gpu_slots > 0 {
			for class in 0..self.gpus.len() {
				let class = u8::try_from(class).unwrap_or(u8::MAX);
				wanted.push((ResourceClass::Gpu(class), policy.gpu_price.0, policy.gpu_slots));
			}
		}
		if wanted.is_empty() {
			return Ok(());
		}
		let offers = Chain::offers(at, &self.worker).await?;
		let expires_at = now.saturating_add(policy.lifetime_blocks);
		let freed = std::mem::take(&mut *crate::lock(&self.freed));
		let mut registered = None;
		for (index, (class, price, slots)) in wanted.into_iter().enumerate() {
			// Offer transactions are keyed apart from replicas' (job ids never reach u64::MAX).
			let key = (u64::MAX, u8::try_from(index).unwrap_or(u8::MAX));
			let open = offers
				.iter()
				.filter(|o| o.open && o.class == class && o.expires_at > now)
				.max_by_key(|o| o.expires_at);
			match open {
				None => {
					if registered.is_none() {
						registered = Some(Chain::operator_of(at, &self.worker).await?.is_some());
					}
					if registered == Some(true) {
						self.send(key, now, Tx::PostOffer { class, price, slots, expires_at });
					}
				},
				Some(offer) => {
					let expiring =
						offer.expires_at <= now.saturating_add(policy.lifetime_blocks / 4);
					if freed || expiring {
						let tx = Tx::UpdateOffer {
							offer: offer.offer,
							price: offer.price,
							slots: offer.slots.max(offer.in_use),
							expires_at,
						};
						self.send(key, now, tx);
					}
				},
			}
		}
		Ok(())
	}
}

/// A new replica's record; `(min_memory_mib, min_vram_mib)` are the job's memory requirements.
fn new_record(job: &Job, replica: &Replica, (min_memory_mib, min_vram_mib): (u32, u32)) -> Record {
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
		stage: Stage::Declined,
		..Record::default()
	}
}

/// The memory of one WASM slot, MiB: the worker's `memory_mib` shared by its CPU slots.
fn slot_memory_mib(config: &Config) -> u64 {
	u64::from(config.worker.memory_mib)
		.checked_div(u64::from(config.offers.cpu_slots.clamp(1, 256)))
		.unwrap_or(0)
}

/// Refuses a WASM job whose memory limit ([`stratus_primitives::job_memory_mib`]) is more than
/// one of this worker's slots has: running it with less would fail it here and not elsewhere.
fn memory_fits(min_memory_mib: u32, slot_mib: u64) -> Result<(), Decline> {
	let needed = u64::from(stratus_primitives::job_memory_mib(min_memory_mib));
	if needed > slot_mib {
		return Err(Decline::MemoryTooLarge { needed, slot: slot_mib });
	}
	Ok(())
}

/// Refuses a CUDA job that asks for more device memory than one CUDA slot's share of the GPU.
fn vram_fits(min_vram_mib: u32, slot_vram_mib: u64) -> Result<(), Decline> {
	let needed = u64::from(min_vram_mib);
	if needed > slot_vram_mib {
		return Err(Decline::VramTooLarge { needed, slot: slot_vram_mib });
	}
	Ok(())
}

/// Refuses a job that may write more output than this worker keeps (`max_output_mib`): the
/// output is held on disk until its requester downloads it, and in memory while the job runs.
fn output_fits(max_output_bytes: u32, max_output_mib: u32) -> Result<(), Decline> {
	let (size, max) = (u64::from(max_output_bytes), mib(max_output_mib));
	if size > max {
		return Err(Decline::OutputTooLarge { size, max });
	}
	Ok(())
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

/// Why the worker declines a replica.
#[derive(Debug, thiserror::Error)]
pub enum Decline {
	#[error("a CUDA job, and this host has no GPU")]
	NoGpu,
	#[error("the acknowledgement deadline has passed")]
	Late,
	#[error("the remote input is {size} bytes, more than this worker's {max}")]
	InputTooLarge { size: u64, max: u64 },
	#[error("the job may write {size} bytes of output, more than this worker keeps ({max})")]
	OutputTooLarge { size: u64, max: u64 },
	#[error("the job's memory limit is {needed} MiB, more than this worker's {slot} MiB per slot")]
	MemoryTooLarge { needed: u64, slot: u64 },
	#[error("the job asks for {needed} MiB of GPU memory, more than this worker's {slot} MiB per CUDA slot")]
	VramTooLarge { needed: u64, slot: u64 },
	#[error("every slot is busy")]
	Busy,
	#[error("its max units need about {needed:?} at this host's rate; the commit window leaves {available:?}")]
	TooSlow { needed: Duration, available: Duration },
}

impl Decline {
	fn label(&self) -> &'static str {
		match self {
			Decline::NoGpu => "no_gpu",
			Decline::Late => "late",
			Decline::InputTooLarge { .. } => "input_too_large",
			Decline::OutputTooLarge { .. } => "output_too_large",
			Decline::MemoryTooLarge { .. } => "memory_too_large",
			Decline::VramTooLarge { .. } => "vram_too_large",
			Decline::Busy => "busy",
			Decline::TooSlow { .. } => "too_slow",
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use stratus_client::subxt::utils::H256;

	#[test]
	fn jobs_whose_memory_limit_a_slot_cannot_give_are_declined() {
		// No requirement: the default limit.
		assert!(memory_fits(0, u64::from(stratus_primitives::DEFAULT_JOB_MEMORY_MIB)).is_ok());
		assert!(matches!(
			memory_fits(0, 255),
			Err(Decline::MemoryTooLarge { needed: 256, slot: 255 })
		));
		assert!(memory_fits(1024, 1024).is_ok());
		assert!(matches!(memory_fits(1025, 1024), Err(Decline::MemoryTooLarge { .. })));
		// Past what a 32-bit memory can use, the limit is 4 GiB.
		assert!(memory_fits(u32::MAX, 4096).is_ok());
		// CUDA: what the job asks for against a slot's share of the GPU; nothing asked fits.
		assert!(vram_fits(0, 0).is_ok());
		assert!(vram_fits(40_000, 40_779).is_ok());
		assert!(matches!(
			vram_fits(40_780, 40_779),
			Err(Decline::VramTooLarge { needed: 40_780, slot: 40_779 })
		));
	}

	#[test]
	fn jobs_whose_output_could_outgrow_the_worker_are_declined() {
		assert!(output_fits(64 << 20, 64).is_ok());
		match output_fits((64 << 20) + 1, 64) {
			Err(Decline::OutputTooLarge { size, max }) => {
				assert_eq!((size, max), ((64 << 20) + 1, 64 << 20))
			},
			other => panic!("{other:?}"),
		}
		assert!(output_fits(1, 0).is_err(), "a worker that keeps no output takes no job");
	}

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

//! The job task: one per replica being run — fetch the program and input, run the executor on a
//! blocking thread (a CUDA job in its own child process), store output, digest and salt durably,
//! and send the commit.

use std::{
	sync::Arc,
	time::{Duration, Instant},
};

use stratus_client::runtime::runtime_types::pallet_market::types::JobInput;
use stratus_primitives::{JobKind, ResourceClass};

use super::{mib, now_block, Daemon, COMMIT_MARGIN_BLOCKS};
use crate::{
	chain::{AtBlock, Chain, ChainError},
	executor::{self, cuda, wasm::WasmJob, ExecError, Failed, Limits},
	store::{Record, ReplicaKey, StoreError},
	submitter::{Tx, TxKey},
};

/// Why a job task stopped before its result was stored (it is started again at the next block
/// while the replica is still acknowledged).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
	#[error("the job store has no record of the replica")]
	NoRecord,
	#[error(transparent)]
	Chain(#[from] ChainError),
	#[error("the program is not on chain")]
	NoProgram,
	#[error("the job's input is not on chain")]
	NoInput,
	#[error("the executor is unavailable: {0}")]
	Unavailable(String),
	#[error("the executor thread failed: {0}")]
	Thread(#[from] tokio::task::JoinError),
	#[error(transparent)]
	Store(#[from] StoreError),
	#[error("offer {0} is not a GPU offer of this provider")]
	NotGpuOffer(u64),
	#[error("this host has no GPU of class {0}")]
	NoGpuClass(u8),
}

impl Daemon {
	/// Starts the job task of `key` unless it runs already.
	pub(super) fn start_job(
		self: &Arc<Self>,
		at: &AtBlock,
		key: ReplicaKey,
		commit_by: Option<u32>,
	) {
		if !crate::lock(&self.running).insert(key) {
			return;
		}
		let daemon = self.clone();
		let at = at.clone();
		self.metrics.running.inc();
		self.tracker.spawn(async move {
			let result = daemon.run_job(&at, key, commit_by).await;
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

	/// Fetches, runs, stores and commits one replica, reading the job at `at`, the block the
	/// reconciler saw it in.
	async fn run_job(
		self: &Arc<Self>,
		at: &AtBlock,
		key: ReplicaKey,
		commit_by: Option<u32>,
	) -> Result<(), JobError> {
		let record = self.store.get(key).ok_or(JobError::NoRecord)?;
		tracing::info!(job = key.0, replica = key.1, "running");
		let now = now_block(at);
		let program = Chain::program(at, record.program).await?.ok_or(JobError::NoProgram)?;
		let input = Chain::input(at, key.0).await?.ok_or(JobError::NoInput)?;
		let started = Instant::now();
		// The wall-clock cap of fetching and running: what is left until the commit deadline,
		// less the margin.
		let blocks_left = commit_by
			.unwrap_or(now.saturating_add(10))
			.saturating_sub(now)
			.saturating_sub(COMMIT_MARGIN_BLOCKS)
			.max(1);
		let time_left = Chain::block_time(at)?.saturating_mul(blocks_left);
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
			Some(self.device_for(at, &record).await?)
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
				.await?
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
			Err(Failed { error: ExecError::Unavailable(why), .. }) => {
				return Err(JobError::Unavailable(why))
			},
			Err(Failed { error, units }) => {
				self.metrics.executed.with_label_values(&[error.kind()]).inc();
				tracing::info!(job = key.0, replica = key.1, units, "the job failed: {error}");
				let output = executor::failure_output(&error);
				let digest = executor::digest(&output);
				(output, digest, units.min(record.max_units), Some(error.to_string()))
			},
		};
		// Stored and committed only for the job it ran for: a reorg may have put another job
		// under this id meanwhile (the reconciler marks it stale under the same lock).
		{
			let _running = crate::lock(&self.running);
			if crate::lock(&self.stale).remove(&key) {
				tracing::warn!(
					job = key.0,
					replica = key.1,
					"a reorg retracted the job this task ran: its result is dropped"
				);
				self.store.remove(key)?;
				return Ok(());
			}
			let record = self.store.store_result(&record, &output, digest, units, failure)?;
			self.send_commit(key, at, &record);
		}
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
		Ok(())
	}

	/// The GPU a CUDA replica runs on: a device of the GPU class its offer sells.
	async fn device_for(&self, at: &AtBlock, record: &Record) -> Result<u32, JobError> {
		let offers = Chain::offers(at, &self.worker).await?;
		let class = offers.iter().find(|o| o.offer == record.offer).map(|o| o.class);
		let Some(ResourceClass::Gpu(index)) = class else {
			return Err(JobError::NotGpuOffer(record.offer));
		};
		let ordinals = self
			.gpus
			.get(usize::from(index))
			.filter(|o| !o.is_empty())
			.ok_or(JobError::NoGpuClass(index))?;
		// Spread a class's replicas over its devices.
		let spread = record.job.wrapping_add(u64::from(record.replica));
		let at = usize::try_from(spread).unwrap_or(0).checked_rem(ordinals.len()).unwrap_or(0);
		ordinals.get(at).copied().ok_or(JobError::NoGpuClass(index))
	}

	/// Sends the commitment of `record`'s stored result.
	pub(super) fn send_commit(self: &Arc<Self>, key: ReplicaKey, at: &AtBlock, record: &Record) {
		// The commitment binds the chain it is for: the one this connection serves.
		let Some(genesis) = self.conn.borrow().as_ref().map(|c| c.client.genesis_hash().0) else {
			return;
		};
		let Some(commitment) = record.commitment(&genesis) else { return };
		self.send(TxKey::Replica(key), at, Tx::Commit { job: key.0, replica: key.1, commitment });
	}
}

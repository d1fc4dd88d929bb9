//! The WebAssembly executor (wasmtime).
//!
//! A job's program is a core wasm module that follows the job ABI (`docs/job-abi.md`): it imports
//! only the host functions of module `stratus` (input, output, checkpoints), exports `memory` and
//! a function `run`, and the executor calls `run` once. Nothing else reaches the program: no WASI,
//! so no filesystem, network, clock or randomness.
//!
//! What is deterministic, so that every replica of a job computes the same output and the same
//! units: NaNs are canonicalised wherever their bits can be seen (`super::nan`), threads, relaxed SIMD, memory64 and multi-memory are off
//! (the program is validated with the job features before anything else), the units are counted
//! by the program's own code (`super::meter`: one per instruction, plus [`UNIT_BYTES`] bytes per
//! unit copied by host calls), after a compile charge per byte of the program
//! ([`compile_units`]), and a memory growth past the job's limit stops the job. The
//! wall-clock limit is the one limit that depends on the machine; it only ever fails a job.
//!
//! The limits are checked at every function entry and every loop round (as wasmtime's fuel and
//! epoch interruption would check them), by code the metering rewrite adds to the module: the
//! units left against a floor that the executor's clock thread raises when the job's time is up
//! (a deadline kept per job, looked at every [`WasmConfig::clock_tick`]). Wasmtime's own
//! instrumentation calls out of line at every loop header, which makes Cranelift spill values
//! around every loop (docs/performance.md).
//!
//! One [`WasmExecutor`] serves the whole worker: it is cheap to clone, `Send + Sync`, and holds the
//! engine, the pooling allocator, the clock thread and a bounded cache of compiled programs keyed
//! by program hash. [`WasmExecutor::run`] blocks; the async worker calls it through
//! `spawn_blocking`.

use self::{
	abi::{host_functions, JobLimiter, JobState},
	cache::ModuleCache,
	clock::{Clock, Timer},
	meter::{METER_MODULE, STOP_MEMORY, UNITS_GLOBAL},
};
use super::{ExecError, Failed, Limits, Outcome};
use std::{
	sync::{
		atomic::{AtomicU64, Ordering},
		mpsc, Arc, Mutex, PoisonError,
	},
	thread,
	time::{Duration, Instant},
};
use stratus_client::program::{check_wasm, compile_units, ProgramError};
use wasmtime::{
	Config, Engine, Extern, Global, GlobalType, Instance, InstanceAllocationStrategy, Linker,
	Module, Mutability, OptLevel, PoolConcurrencyLimitError, PoolingAllocationConfig, Store, Trap,
	Val, ValType,
};

// The job ABI's names are defined once, with the CLI's program check.
pub use stratus_client::program::{ABI_MODULE, MEMORY_EXPORT, RUN_EXPORT};

mod abi;
mod cache;
mod checkpoint;
mod clock;
mod meter;
pub(crate) mod nan;
mod rewrite;
#[cfg(test)]
mod tests;

pub use abi::{
	CHECKPOINT_CALL_UNITS, CHECKPOINT_INTERVAL_UNITS, CHECKPOINT_SAVE_FLOOR_UNITS, UNIT_BYTES,
};
pub use cache::CacheStats;
pub use checkpoint::{Checkpoint, CheckpointStore, MemoryCheckpoints, NoCheckpoints};

/// The largest linear memory any job may have: the whole 32-bit address space. Jobs are limited
/// further by their own [`Limits::max_memory_bytes`] and by [`WasmConfig::max_memory_bytes`].
const POOL_MAX_MEMORY_BYTES: u64 = 1 << 32;
/// The largest table (in elements) a job may grow to.
const MAX_TABLE_ELEMENTS: usize = 20_000;

/// How the executor is set up: host resources, never anything that changes a job's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmConfig {
	/// Most jobs running at once (instance, memory and table slots of the pooling allocator). A run
	/// beyond this fails with [`ExecError::Unavailable`]: the worker must not start more.
	pub max_concurrent_jobs: u32,
	/// Most compiled programs kept in the cache (least recently used evicted first); 0 disables it.
	pub cached_programs: usize,
	/// Most linear memory of any job on this host, whatever the job allows.
	pub max_memory_bytes: u64,
	/// How often the clock thread looks at the running jobs' deadlines: the resolution of the
	/// wall-clock limit.
	pub clock_tick: Duration,
}

impl Default for WasmConfig {
	fn default() -> Self {
		Self {
			max_concurrent_jobs: 16,
			cached_programs: 64,
			max_memory_bytes: POOL_MAX_MEMORY_BYTES,
			clock_tick: Duration::from_millis(5),
		}
	}
}

/// One WASM job to run.
#[derive(Clone, Debug)]
pub struct WasmJob<'a> {
	/// The program's hash as the chain names it: `blake2_256(program)`. The cache is keyed by it; on
	/// a cache miss the bytes are checked against it before they are compiled.
	pub program_hash: [u8; 32],
	/// The program: a core wasm module (binary).
	pub program: &'a [u8],
	/// The input bytes (at most `i32::MAX`).
	pub input: &'a [u8],
	/// The job's limits.
	pub limits: Limits,
}

/// The WebAssembly executor. Clones share the engine, the cache and the clock thread.
#[derive(Clone)]
pub struct WasmExecutor {
	inner: Arc<Inner>,
}

struct Inner {
	engine: Engine,
	linker: Linker<JobState>,
	cache: Mutex<ModuleCache>,
	hits: AtomicU64,
	misses: AtomicU64,
	max_memory_bytes: u64,
	clock: Arc<Clock>,
	/// Dropping it (with the last clone of the executor) stops the clock thread.
	_ticker: mpsc::Sender<()>,
}

impl WasmExecutor {
	/// Sets up the engine (deterministic configuration, pooling allocator), the host functions
	/// and the clock thread.
	pub fn new(config: WasmConfig) -> Result<Self, ExecError> {
		let unavailable = |e: &dyn std::fmt::Display| {
			ExecError::Unavailable(format!("cannot set up the WASM executor: {e}"))
		};
		if config.max_concurrent_jobs == 0 || config.clock_tick.is_zero() {
			return Err(unavailable(&"max_concurrent_jobs and clock_tick must be above zero"));
		}
		let engine = Engine::new(&engine_config(config.max_concurrent_jobs))
			.map_err(|e| unavailable(&format_args!("{e:#}")))?;
		let linker = host_functions(&engine).map_err(|e| unavailable(&format_args!("{e:#}")))?;
		let clock = Arc::new(Clock::default());
		let (ticker, stop) = mpsc::channel::<()>();
		let ticking = clock.clone();
		let tick = config.clock_tick;
		thread::Builder::new()
			.name("stratus-wasm-clock".into())
			.spawn(move || {
				// Ends when the executor is dropped (the sender with it).
				while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(tick) {
					ticking.tick(Instant::now());
				}
			})
			.map_err(|e| unavailable(&e))?;
		Ok(Self {
			inner: Arc::new(Inner {
				engine,
				linker,
				cache: Mutex::new(ModuleCache::new(config.cached_programs)),
				hits: AtomicU64::new(0),
				misses: AtomicU64::new(0),
				max_memory_bytes: config.max_memory_bytes.min(POOL_MAX_MEMORY_BYTES),
				clock,
				_ticker: ticker,
			}),
		})
	}

	/// Compiles and checks a program ahead of its run (a no-op when it is cached): the errors
	/// [`run`](Self::run) would give for the program itself.
	pub fn prepare(&self, program_hash: &[u8; 32], program: &[u8]) -> Result<(), ExecError> {
		self.module(program_hash, program).map(drop)
	}

	/// Runs a job to completion or to its first failure. Resumes from `checkpoints` when it holds
	/// a checkpoint of this program; the units of a resumed job are those recorded with the
	/// checkpoint plus those of this run, and a job's first run starts with the program's
	/// compile charge ([`compile_units`]). `job.limits.max_units` counts the job's units over all
	/// its runs; `max_wall` is for this run.
	///
	/// Blocks the calling thread for up to `max_wall` (plus compilation on a cache miss).
	pub fn run(
		&self,
		job: &WasmJob<'_>,
		checkpoints: Arc<dyn CheckpointStore>,
	) -> Result<Outcome, ExecError> {
		self.run_counted(job, checkpoints).map_err(|failed| failed.error)
	}

	/// [`Self::run`], with the units a failed job used before it failed: what the worker
	/// commits to (and the job pays) for a deterministic failure.
	pub fn run_counted(
		&self,
		job: &WasmJob<'_>,
		checkpoints: Arc<dyn CheckpointStore>,
	) -> Result<Outcome, Failed> {
		let module = self.module(&job.program_hash, job.program)?;
		let limits = &job.limits;
		if i32::try_from(job.input.len()).is_err() {
			return Err(ExecError::BadInput(format!(
				"{} input bytes, more than a 32-bit program can address",
				job.input.len()
			))
			.into());
		}
		let resumed = checkpoints.load().filter(|(c, output)| {
			c.program_hash == job.program_hash && c.output_len == output.len() as u64
		});
		let (prior_units, output, resume) = match resumed {
			Some((c, output)) => (c.units, output, Some(c.state)),
			// A job's first run pays for compiling its program first; a resumed run's checkpoint
			// counts it already.
			None => (compile_units(job.program.len()), Vec::new(), None),
		};
		let output_len = output.len() as u64;
		if output_len > limits.max_output_bytes {
			let error =
				ExecError::OutputTooLarge { size: output_len, max: limits.max_output_bytes };
			return Err(Failed::after(error, prior_units.min(limits.max_units)));
		}
		// The units left are an `i64` in the program; 2^63 units is beyond any job.
		let budget = limits.max_units.saturating_sub(prior_units).min(i64::MAX as u64);
		if budget == 0 {
			return Err(ExecError::OutOfUnits(limits.max_units).into());
		}
		let memory_limit = limits.max_memory_bytes.min(self.inner.max_memory_bytes);
		let state = JobState {
			input: job.input.to_vec(),
			output,
			max_output_bytes: limits.max_output_bytes,
			memory: None,
			limiter: JobLimiter {
				max_memory_bytes: usize::try_from(memory_limit).unwrap_or(usize::MAX),
				output_bytes: output_len as usize,
				refused: false,
			},
			program_hash: job.program_hash,
			prior_units,
			last_save_units: prior_units,
			budget,
			max_units: limits.max_units,
			units: None,
			resume,
			checkpoints,
			failure: None,
		};
		let mut store = Store::new(&self.inner.engine, state);
		store.limiter(|state| &mut state.limiter);
		let units = Global::new(
			&mut store,
			GlobalType::new(ValType::I64, Mutability::Var),
			Val::I64(budget as i64),
		)
		.map_err(|e| ExecError::Unavailable(format!("{e:#}")))?;
		store.data_mut().units = Some(units);
		let deadline = Instant::now().checked_add(limits.max_wall);
		let timer = self.inner.clock.start(&self.inner.engine, deadline)?;

		let result = self.imports(&mut store, &module, units, &timer).and_then(|imports| {
			let instance = Instance::new(&mut store, &module, &imports)?;
			let memory = instance.get_memory(&mut store, MEMORY_EXPORT);
			store.data_mut().memory = memory;
			let run = instance.get_typed_func::<(), ()>(&mut store, RUN_EXPORT)?;
			run.call(&mut store, ())
		});
		let timed_out = timer.stopped();
		drop(timer);
		let left = units.get(&mut store).i64().unwrap_or(0);
		let state = store.data_mut();
		match result {
			Ok(()) if left >= 0 => {
				let used = budget.saturating_sub(left as u64);
				Ok(Outcome::new(
					std::mem::take(&mut state.output),
					prior_units.saturating_add(used),
				))
			},
			// Past its budget after the last check: out of units all the same, on every replica.
			Ok(()) => Err(ExecError::OutOfUnits(limits.max_units).into()),
			Err(error) => {
				let error = classify(&error, state, limits, memory_limit, timed_out, left);
				if matches!(error, ExecError::OutOfUnits(_)) {
					return Err(error.into());
				}
				// What the program's own meter counted up to the failure: the same on every
				// replica, since the meter's checks sit at fixed places in the program.
				let left = u64::try_from(left).unwrap_or(0);
				let used = prior_units.saturating_add(budget.saturating_sub(left));
				Err(Failed::after(error, used.min(limits.max_units)))
			},
		}
	}

	/// The module's imports, in its order: the job ABI's host functions from the linker, and the
	/// metering rewrite's units global and stop memory for this run.
	fn imports(
		&self,
		store: &mut Store<JobState>,
		module: &Module,
		units: Global,
		timer: &Timer<'_>,
	) -> wasmtime::Result<Vec<Extern>> {
		module
			.imports()
			.map(|import| match (import.module(), import.name()) {
				(METER_MODULE, UNITS_GLOBAL) => Ok(units.into()),
				(METER_MODULE, STOP_MEMORY) => Ok(timer.memory.clone().into()),
				(module, name) => {
					self.inner.linker.get_by_import(&mut *store, &import).ok_or_else(|| {
						wasmtime::format_err!("no host function `{module}`.`{name}`")
					})
				},
			})
			.collect()
	}

	/// The module cache's counters.
	pub fn cache_stats(&self) -> CacheStats {
		CacheStats {
			hits: self.inner.hits.load(Ordering::Relaxed),
			misses: self.inner.misses.load(Ordering::Relaxed),
			programs: self.inner.cache.lock().unwrap_or_else(PoisonError::into_inner).len(),
		}
	}

	/// The program compiled: from the cache, or checked against the job ABI and the job
	/// features (the same check as `stratus program register`'s), rewritten (units and limits,
	/// NaNs), compiled and cached.
	fn module(&self, program_hash: &[u8; 32], program: &[u8]) -> Result<Module, ExecError> {
		let inner = &self.inner;
		if let Some(module) =
			inner.cache.lock().unwrap_or_else(PoisonError::into_inner).get(program_hash)
		{
			inner.hits.fetch_add(1, Ordering::Relaxed);
			return Ok(module);
		}
		inner.misses.fetch_add(1, Ordering::Relaxed);
		if super::digest(program) != *program_hash {
			return Err(ExecError::Compile("the program's bytes do not match its hash".into()));
		}
		// Errors name the program as its author wrote it: it is checked before the rewrites.
		check_wasm(program).map_err(|error| match error {
			ProgramError::ForbiddenImport { module, name } => {
				ExecError::ForbiddenImport { module, name }
			},
			ProgramError::BadAbi(message) => ExecError::BadAbi(message),
			other => ExecError::Compile(other.to_string()),
		})?;
		// Compiled without the cache's lock held: two runs missing the same program at once both
		// compile it, which is rare and harmless.
		let module = meter::instrument(program)
			.and_then(|metered| nan::canonicalise(&metered))
			.and_then(|rewritten| {
				Module::new(&inner.engine, rewritten).map_err(|e| format!("{e:#}"))
			})
			.map_err(ExecError::Compile)?;
		inner
			.cache
			.lock()
			.unwrap_or_else(PoisonError::into_inner)
			.insert(*program_hash, module.clone());
		Ok(module)
	}
}

/// The program [`measure_unit_rate`] runs: FNV-1a over 64 KiB of its own memory, 64 times —
/// a chain of dependent loads, multiplications and branches, about 14 units a byte, no SIMD:
/// slower per unit than most kernels (docs/performance.md), so a cautious rate.
const CALIBRATION: &str = r#"(module
	(import "stratus" "output_write" (func $output_write (param i32 i32) (result i32)))
	(memory (export "memory") 2)
	(func (export "run") (local $i i32) (local $pass i32) (local $h i32)
		(loop $fill
			(i32.store8 (local.get $i) (i32.mul (local.get $i) (i32.const 31)))
			(br_if $fill (i32.lt_u
				(local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 65536))))
		(local.set $h (i32.const 0x811c9dc5))
		(loop $pass
			(local.set $i (i32.const 0))
			(loop $byte
				(local.set $h (i32.mul
					(i32.xor (local.get $h) (i32.load8_u (local.get $i))) (i32.const 0x01000193)))
				(br_if $byte (i32.lt_u
					(local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 65536))))
			(br_if $pass (i32.lt_u
				(local.tee $pass (i32.add (local.get $pass) (i32.const 1))) (i32.const 64))))
		(i32.store (i32.const 65536) (local.get $h))
		(drop (call $output_write (i32.const 65536) (i32.const 4)))))"#;

/// This host's WASM unit rate, in units per second: the calibration program above run through
/// the executor again and again for about `duration` (at least 3 runs), the median run's rate.
/// What `stratus-worker init` writes `units_per_second` from.
pub fn measure_unit_rate(duration: Duration) -> Result<u64, ExecError> {
	let executor = WasmExecutor::new(WasmConfig {
		max_concurrent_jobs: 1,
		cached_programs: 1,
		..WasmConfig::default()
	})?;
	let program = wat::parse_str(CALIBRATION).map_err(|e| ExecError::Compile(e.to_string()))?;
	let job = WasmJob {
		program_hash: super::digest(&program),
		program: &program,
		input: &[],
		limits: Limits {
			max_units: u64::MAX,
			max_memory_bytes: 1 << 20,
			max_wall: Duration::from_secs(60),
			max_output_bytes: 4,
		},
	};
	executor.prepare(&job.program_hash, &program)?;
	let started = Instant::now();
	let mut rates = Vec::new();
	while rates.len() < 3 || started.elapsed() < duration {
		let run = Instant::now();
		let outcome = executor.run(&job, Arc::new(NoCheckpoints))?;
		// The instructions executed: the compile charge is not time this run spent.
		let executed = outcome.units.saturating_sub(compile_units(program.len()));
		rates.push(executed as f64 / run.elapsed().as_secs_f64().max(1e-9));
	}
	rates.sort_by(f64::total_cmp);
	let median = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
	Ok(median as u64)
}

/// The engine's configuration. What a program may use is decided before it gets here, by
/// `check_wasm` (the job features: WebAssembly 2.0, tail calls, extended constant expressions);
/// the engine compiles the rewritten module, which adds a shared second memory. The features
/// that matter for determinism are set explicitly all the same (GC and exceptions are not
/// compiled into this wasmtime: no `gc` crate feature).
fn engine_config(slots: u32) -> Config {
	let mut config = Config::new();
	config
		// Units and the wall clock are counted and checked by the rewritten module
		// (executor/wasm/meter.rs), not by wasmtime's fuel and epoch interruption.
		.consume_fuel(false)
		.epoch_interruption(false)
		.cranelift_opt_level(OptLevel::Speed)
		// NaNs are canonicalised by rewriting the module where their bits can be seen
		// (executor/wasm/nan.rs), not after every float instruction.
		.cranelift_nan_canonicalization(false)
		// For the metering rewrite's stop memory (shared, a second memory) only: programs are
		// validated with the job features first (`check_wasm`), which have neither.
		.wasm_threads(true)
		.shared_memory(true)
		.wasm_shared_everything_threads(false)
		.wasm_relaxed_simd(false)
		.relaxed_simd_deterministic(true)
		.wasm_simd(true)
		.wasm_memory64(false)
		.wasm_multi_memory(true)
		.wasm_custom_page_sizes(false)
		.wasm_wide_arithmetic(false)
		.wasm_stack_switching(false)
		.wasm_gc(false)
		.wasm_bulk_memory(true)
		.wasm_multi_value(true)
		.wasm_extended_const(true)
		.wasm_tail_call(true);
	let mut pool = PoolingAllocationConfig::default();
	pool.total_core_instances(slots)
		.total_memories(slots)
		.total_tables(slots)
		.max_memories_per_module(1)
		.max_tables_per_module(1)
		.table_elements(MAX_TABLE_ELEMENTS)
		.max_memory_size(usize::try_from(POOL_MAX_MEMORY_BYTES).unwrap_or(usize::MAX));
	config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
	config
}

/// What ended a failed run, as the job's error.
/// `timed_out`: the clock raised the job's floor; `left`: the units left when it stopped (below
/// zero when a check found it out of units: the check writes them back before it traps).
fn classify(
	error: &wasmtime::Error,
	state: &mut JobState,
	limits: &Limits,
	memory_limit: u64,
	timed_out: bool,
	left: i64,
) -> ExecError {
	if let Some(failure) = state.failure.take() {
		return failure;
	}
	if state.limiter.refused {
		return ExecError::OutOfMemory(memory_limit);
	}
	if let Some(trap) = error.downcast_ref::<Trap>() {
		return if timed_out {
			ExecError::Timeout(limits.max_wall)
		} else if left < 0 {
			ExecError::OutOfUnits(limits.max_units)
		} else {
			ExecError::Trap(trap.to_string())
		};
	}
	if let Some(busy) = error.downcast_ref::<PoolConcurrencyLimitError>() {
		return ExecError::Unavailable(busy.to_string());
	}
	ExecError::Trap(format!("{error:#}"))
}

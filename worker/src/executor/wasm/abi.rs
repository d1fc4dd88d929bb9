//! The job ABI's host functions (module `stratus`), the run's state and its memory limiter,
//! and what the host calls cost in units.

use super::{
	checkpoint::{Checkpoint, CheckpointStore},
	MAX_TABLE_ELEMENTS,
};
use crate::executor::ExecError;
use std::sync::Arc;
use stratus_client::program::{ABI_MODULE, MEMORY_EXPORT};
use wasmtime::{Caller, Engine, Global, Linker, Memory, ResourceLimiter, Val};

/// Host calls charge one unit per this many bytes they copy (rounded up), on top of the unit of
/// the call instruction itself.
pub const UNIT_BYTES: u64 = 64;

/// Every `checkpoint_save` costs this many units, saved or not.
pub const CHECKPOINT_CALL_UNITS: u64 = 1_000;
/// A save that is taken costs `max(CHECKPOINT_SAVE_FLOOR_UNITS, len)` units more: one per byte
/// (the bytes are written to disk durably), and at least this much (the `fsync`).
pub const CHECKPOINT_SAVE_FLOOR_UNITS: u64 = 100_000;
/// A save is taken only when the job has used at least this many units since its last taken
/// save (or its start): a deterministic rate limit, the same on every replica. A save asked for
/// sooner stores nothing and returns 1.
pub const CHECKPOINT_INTERVAL_UNITS: u64 = 5_000_000;

/// A run's state, owned by its wasmtime store.
pub(super) struct JobState {
	pub(super) input: Vec<u8>,
	pub(super) output: Vec<u8>,
	pub(super) max_output_bytes: u64,
	/// The exported memory, once instantiated.
	pub(super) memory: Option<Memory>,
	pub(super) limiter: JobLimiter,
	pub(super) program_hash: [u8; 32],
	/// Units recorded with the checkpoint this run resumed from.
	pub(super) prior_units: u64,
	/// The job's units at its last taken save (or its start, or the checkpoint it resumed
	/// from): what the rate limit of `checkpoint_save` counts from.
	pub(super) last_save_units: u64,
	/// Units this run started with.
	pub(super) budget: u64,
	pub(super) max_units: u64,
	/// The units left: the metering rewrite's global, set once the store exists.
	pub(super) units: Option<Global>,
	/// The state of the checkpoint this run resumed from.
	pub(super) resume: Option<Vec<u8>>,
	pub(super) checkpoints: Arc<dyn CheckpointStore>,
	/// Set by a host function or the limiter when it stops the job, before it traps.
	pub(super) failure: Option<ExecError>,
}

impl JobState {
	/// Records why the job stops; the returned error is the trap that stops it.
	pub(super) fn fail(&mut self, failure: ExecError) -> wasmtime::Error {
		let error = wasmtime::Error::msg(failure.to_string());
		self.failure = Some(failure);
		error
	}
}

/// The memory limit of one job: its linear memory and its output together. Growth past it traps
/// (rather than returning -1), so a memory bomb ends as [`ExecError::OutOfMemory`] at once, the
/// same way on every machine.
pub(super) struct JobLimiter {
	pub(super) max_memory_bytes: usize,
	/// The output written so far, which counts against the limit.
	pub(super) output_bytes: usize,
	pub(super) refused: bool,
}

impl ResourceLimiter for JobLimiter {
	fn memory_growing(
		&mut self,
		_current: usize,
		desired: usize,
		_maximum: Option<usize>,
	) -> wasmtime::Result<bool> {
		if desired.saturating_add(self.output_bytes) > self.max_memory_bytes {
			self.refused = true;
			wasmtime::bail!("memory limit of {} bytes reached", self.max_memory_bytes);
		}
		Ok(true)
	}

	fn table_growing(
		&mut self,
		_current: usize,
		desired: usize,
		_maximum: Option<usize>,
	) -> wasmtime::Result<bool> {
		Ok(desired <= MAX_TABLE_ELEMENTS)
	}

	fn instances(&self) -> usize {
		1
	}

	fn tables(&self) -> usize {
		1
	}

	fn memories(&self) -> usize {
		1
	}
}

type Host<'a> = Caller<'a, JobState>;

pub(super) fn host_functions(engine: &Engine) -> wasmtime::Result<Linker<JobState>> {
	let mut linker = Linker::new(engine);
	linker
		.func_wrap(ABI_MODULE, "input_len", input_len)?
		.func_wrap(ABI_MODULE, "input_read", input_read)?
		.func_wrap(ABI_MODULE, "output_write", output_write)?
		.func_wrap(ABI_MODULE, "checkpoint_len", checkpoint_len)?
		.func_wrap(ABI_MODULE, "checkpoint_load", checkpoint_load)?
		.func_wrap(ABI_MODULE, "checkpoint_save", checkpoint_save)?;
	Ok(linker)
}

/// A wasm `i32` pointer, offset or length: unsigned.
fn unsigned(value: i32) -> usize {
	value as u32 as usize
}

/// `len` as an ABI result (lengths handed to the program always fit).
fn signed(len: usize) -> i32 {
	i32::try_from(len).unwrap_or(i32::MAX)
}

/// The units left (the program writes them to the global before every call).
fn units_left(caller: &mut Host<'_>) -> wasmtime::Result<(Global, i64)> {
	let global = caller
		.data()
		.units
		.ok_or_else(|| wasmtime::format_err!("the job's units are not set up"))?;
	let left = global.get(&mut *caller).i64().unwrap_or(0);
	Ok((global, left))
}

/// Takes the units for copying `bytes` from the units left.
fn charge(caller: &mut Host<'_>, bytes: usize) -> wasmtime::Result<()> {
	charge_units(caller, (bytes as u64).div_ceil(UNIT_BYTES))
}

/// Takes `units` from the units left; the job stops out of units when it has fewer.
fn charge_units(caller: &mut Host<'_>, units: u64) -> wasmtime::Result<()> {
	let cost = i64::try_from(units).unwrap_or(i64::MAX);
	if cost == 0 {
		return Ok(());
	}
	let (global, left) = units_left(caller)?;
	match left.checked_sub(cost).filter(|rest| *rest >= 0) {
		Some(rest) => global.set(&mut *caller, Val::I64(rest)),
		None => {
			global.set(&mut *caller, Val::I64(-1))?;
			let max_units = caller.data().max_units;
			Err(caller.data_mut().fail(ExecError::OutOfUnits(max_units)))
		},
	}
}

/// The program's memory and the job's state, borrowed together.
fn memory_and_state<'a>(
	caller: &'a mut Host<'_>,
) -> wasmtime::Result<(&'a mut [u8], &'a mut JobState)> {
	let memory = match caller.data().memory {
		Some(memory) => memory,
		// Called from a start function, before `run`.
		None => caller
			.get_export(MEMORY_EXPORT)
			.and_then(|export| export.into_memory())
			.ok_or_else(|| wasmtime::format_err!("the program has no exported memory"))?,
	};
	Ok(memory.data_and_store_mut(caller))
}

/// `[ptr, ptr + len)` of the program's memory, or the job fails with a trap.
fn region<'m>(
	memory: &'m mut [u8],
	state: &mut JobState,
	function: &str,
	ptr: usize,
	len: usize,
) -> wasmtime::Result<&'m mut [u8]> {
	let size = memory.len();
	ptr.checked_add(len).and_then(|end| memory.get_mut(ptr..end)).ok_or_else(|| {
		state.fail(ExecError::Trap(format!(
			"{function}: {len} bytes at {ptr} lie outside the program's {size}-byte memory"
		)))
	})
}

fn input_len(caller: Host<'_>) -> i32 {
	signed(caller.data().input.len())
}

fn input_read(mut caller: Host<'_>, ptr: i32, offset: i32, len: i32) -> wasmtime::Result<i32> {
	let (ptr, offset, len) = (unsigned(ptr), unsigned(offset), unsigned(len));
	let n = caller.data().input.len().saturating_sub(offset).min(len);
	charge(&mut caller, n)?;
	let (memory, state) = memory_and_state(&mut caller)?;
	let dst = region(memory, state, "input_read", ptr, n)?;
	if let Some(src) = offset.checked_add(n).and_then(|end| state.input.get(offset..end)) {
		dst.copy_from_slice(src);
	}
	Ok(signed(n))
}

fn output_write(mut caller: Host<'_>, ptr: i32, len: i32) -> wasmtime::Result<i32> {
	let (ptr, len) = (unsigned(ptr), unsigned(len));
	charge(&mut caller, len)?;
	let (memory, state) = memory_and_state(&mut caller)?;
	let size = (state.output.len() as u64).saturating_add(len as u64);
	if size > state.max_output_bytes {
		let max = state.max_output_bytes;
		return Err(state.fail(ExecError::OutputTooLarge { size, max }));
	}
	// The output counts against the job's memory, with the linear memory.
	let used = memory.len().saturating_add(state.output.len()).saturating_add(len);
	if used > state.limiter.max_memory_bytes {
		state.limiter.refused = true;
		let limit = state.limiter.max_memory_bytes as u64;
		return Err(state.fail(ExecError::OutOfMemory(limit)));
	}
	let src = region(memory, state, "output_write", ptr, len)?;
	state.output.extend_from_slice(src);
	state.limiter.output_bytes = state.output.len();
	Ok(signed(len))
}

fn checkpoint_len(caller: Host<'_>) -> i32 {
	caller.data().resume.as_ref().map_or(-1, |state| signed(state.len()))
}

fn checkpoint_load(mut caller: Host<'_>, ptr: i32) -> wasmtime::Result<i32> {
	let Some(len) = caller.data().resume.as_ref().map(Vec::len) else { return Ok(-1) };
	charge(&mut caller, len)?;
	let (memory, state) = memory_and_state(&mut caller)?;
	let dst = region(memory, state, "checkpoint_load", unsigned(ptr), len)?;
	if let Some(saved) = &state.resume {
		dst.copy_from_slice(saved);
	}
	Ok(signed(len))
}

/// The job's units so far, over all its runs, with `left` units left in this run.
fn units_used(state: &JobState, left: i64) -> u64 {
	state.prior_units.saturating_add(state.budget.saturating_sub(left.max(0) as u64))
}

fn checkpoint_save(mut caller: Host<'_>, ptr: i32, len: i32) -> wasmtime::Result<i32> {
	let (ptr, len) = (unsigned(ptr), unsigned(len));
	charge_units(&mut caller, CHECKPOINT_CALL_UNITS)?;
	let (_, left) = units_left(&mut caller)?;
	let since = units_used(caller.data(), left).saturating_sub(caller.data().last_save_units);
	if since < CHECKPOINT_INTERVAL_UNITS {
		// Too soon after the last save: nothing is stored, the same on every replica.
		return Ok(1);
	}
	charge_units(&mut caller, (len as u64).max(CHECKPOINT_SAVE_FLOOR_UNITS))?;
	let (_, left) = units_left(&mut caller)?;
	let (memory, state) = memory_and_state(&mut caller)?;
	let saved = region(memory, state, "checkpoint_save", ptr, len)?;
	if i32::try_from(len).is_err() {
		// It could not be loaded back through `checkpoint_len`.
		return Ok(-1);
	}
	let units = units_used(state, left);
	let checkpoint = Checkpoint {
		program_hash: state.program_hash,
		units,
		state: saved.to_vec(),
		output_len: state.output.len() as u64,
	};
	// The rate limit counts from this save whether the store took it or not: it depends on the
	// units alone.
	state.last_save_units = units;
	Ok(match state.checkpoints.save(checkpoint, &state.output) {
		Ok(()) => 0,
		Err(_) => -1,
	})
}

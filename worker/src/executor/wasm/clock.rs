//! The executor's clock: one thread that raises a running job's floor when its time is up.

use super::meter::STOPPED;
use crate::executor::ExecError;
use std::{
	collections::HashMap,
	sync::{
		atomic::{AtomicI64, Ordering},
		Mutex, PoisonError,
	},
	time::Instant,
};
use wasmtime::{Engine, MemoryType, SharedMemory};

/// The running jobs' deadlines and stop memories, watched by the clock thread; and the stop
/// memories of finished jobs, kept for the next ones (a shared memory is a mapping of its own,
/// not a slot of the pooling allocator).
#[derive(Default)]
pub(super) struct Clock {
	pub(super) state: Mutex<ClockState>,
}

#[derive(Default)]
pub(super) struct ClockState {
	pub(super) next: u64,
	pub(super) running: HashMap<u64, (Option<Instant>, SharedMemory)>,
	pub(super) idle: Vec<SharedMemory>,
}

/// The floor of a stop memory: its first eight bytes, which the program reads at every check.
fn floor(memory: &SharedMemory) -> Option<&AtomicI64> {
	let bytes = memory.data().get(..8)?;
	// SAFETY: the eight bytes lie in the memory (`get` above), which stays mapped while
	// `memory` lives; its base is page-aligned, so they are aligned for an `AtomicI64`, which has
	// the layout of an `i64`. Shared memory is meant to be accessed by other threads through
	// atomics (`SharedMemory::data`); the program reads it with plain loads, which wasm's memory
	// model allows.
	Some(unsafe { &*bytes.as_ptr().cast::<AtomicI64>() })
}

impl Clock {
	/// Starts the clock of a job that must stop by `deadline` (never, if `None`), with a stop
	/// memory whose floor is 0.
	pub(super) fn start(
		&self,
		engine: &Engine,
		deadline: Option<Instant>,
	) -> Result<Timer<'_>, ExecError> {
		let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
		let memory = match state.idle.pop() {
			Some(memory) => memory,
			None => SharedMemory::new(engine, MemoryType::shared(1, 1))
				.map_err(|e| ExecError::Unavailable(format!("no stop memory: {e:#}")))?,
		};
		floor(&memory)
			.ok_or_else(|| ExecError::Unavailable("a stop memory without its floor".into()))?
			.store(0, Ordering::Relaxed);
		let id = state.next;
		state.next = id.wrapping_add(1);
		state.running.insert(id, (deadline, memory.clone()));
		Ok(Timer { clock: self, id, memory })
	}

	/// Raises the floor of every job past its deadline.
	pub(super) fn tick(&self, now: Instant) {
		let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
		for (deadline, memory) in state.running.values() {
			if deadline.is_some_and(|deadline| deadline <= now) {
				if let Some(floor) = floor(memory) {
					floor.store(STOPPED, Ordering::Relaxed);
				}
			}
		}
	}
}

/// A running job's clock. Dropped when the run ends: the job leaves the clock (under its lock, so
/// that the floor is never raised after) and the stop memory goes back for the next job.
pub(super) struct Timer<'a> {
	pub(super) clock: &'a Clock,
	pub(super) id: u64,
	pub(super) memory: SharedMemory,
}

impl Timer<'_> {
	/// Whether the clock stopped the job.
	pub(super) fn stopped(&self) -> bool {
		floor(&self.memory).is_some_and(|floor| floor.load(Ordering::Relaxed) == STOPPED)
	}
}

impl Drop for Timer<'_> {
	fn drop(&mut self) {
		let mut state = self.clock.state.lock().unwrap_or_else(PoisonError::into_inner);
		if let Some((_, memory)) = state.running.remove(&self.id) {
			state.idle.push(memory);
		}
	}
}

//! Admission: whether this worker takes a replica on — a kind it runs, a free slot, memory and
//! output it can give, an input it will fetch, time enough before the commit deadline — or
//! declines it, and why.

use std::{collections::HashSet, time::Duration};

use stratus_primitives::JobKind;

use super::{mib, Daemon, COMMIT_MARGIN_BLOCKS};
use crate::{
	chain::{Job, Replica},
	config::Config,
	store::ReplicaKey,
};

impl Daemon {
	/// The memory of one of this worker's WASM slots, MiB.
	fn slot_memory_mib(&self) -> u64 {
		slot_memory_mib(&self.config)
	}

	/// Whether this worker can run `replica` of `job` before its commit deadline.
	pub(super) fn decide(
		&self,
		job: &Job,
		replica: &Replica,
		now: u32,
		(min_memory_mib, min_vram_mib): (u32, u32),
		block_time: Duration,
		live: &HashSet<ReplicaKey>,
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
		// A slot is busy while the chain holds it for a replica of this worker (at the block
		// acted on: a replica that ended there gave its slot back, even if the end is not
		// final yet) or a job task still runs in it.
		let busy = self
			.store
			.live()
			.iter()
			.filter(|r| r.kind == job.kind)
			.filter(|r| live.contains(&(r.job, r.replica)) || self.is_running((r.job, r.replica)))
			.count();
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
}

/// The memory of one WASM slot, MiB: the worker's `memory_mib` shared by its CPU slots.
pub(super) fn slot_memory_mib(config: &Config) -> u64 {
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
	/// The label of the `declined` metric.
	pub(super) fn label(&self) -> &'static str {
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
}

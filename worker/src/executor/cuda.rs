//! The CUDA executor (cudarc).
//!
//! A CUDA job's program is a JSON manifest (see [`Manifest`] and `docs/job-abi.md`, "CUDA
//! jobs"): CUDA C++ for NVRTC or PTX for the driver, named device buffers, and steps — kernel
//! launches and cuBLAS GEMMs — run in order on one stream. The input is the input buffers'
//! bytes concatenated in declared order; the output is the output buffers' bytes concatenated
//! likewise; the units are the GPU milliseconds between a CUDA event before the first step and
//! one after the last, rounded up, at least 1.
//!
//! Every check that needs no GPU ([`validate`]) happens before any CUDA library is touched. The
//! libraries are loaded dynamically: on a host without them every job is
//! [`ExecError::Unavailable`] and [`crate::host::detect_gpus`] finds no GPU.
//!
//! # Isolation
//!
//! A kernel can fault (which breaks its CUDA context) or never end (which no API interrupts),
//! so the worker runs each job in a child process — [`IsolatedRunner`] — that it kills at the
//! job's wall-clock limit. The child is the worker's own binary started with the hidden argument
//! [`CHILD_ARG`]; its `main` must hand over to [`child_main`] before doing anything else:
//!
//! ```no_run
//! # use std::process::ExitCode;
//! fn main() -> ExitCode {
//!     if std::env::args().nth(1).as_deref() == Some(stratus_worker::executor::cuda::CHILD_ARG) {
//!         return stratus_worker::executor::cuda::child_main();
//!     }
//!     // … the daemon …
//!     ExitCode::SUCCESS
//! }
//! ```
//!
//! [`run_job`] runs a job in the calling process; it is what the child runs, and what benches
//! use. A job it gives up on (time, units, a kernel fault) leaks its device state on purpose, so
//! the process calling it should exit afterwards.

mod gpu;
mod isolate;
mod manifest;

use std::time::{Duration, Instant};

pub use gpu::{driver_present, panic_message, units_of};
pub use isolate::{
	child_main, decode_request, decode_response, encode_request, encode_response, run_isolated,
	IsolatedRunner, Request, CHILD_ARG,
};
pub use manifest::{
	forbidden_identifier, validate, Arg, ArgSpec, Buffer, BufferSpec, Code, CudaJob, CudaProgram,
	Dtype, Gemm, GemmSpec, GemmType, JobChecks, Launch, LaunchSpec, Role, Scalar, Step, StepSpec,
	MAX_ARGS, MAX_BUFFERS, MAX_SHARED_BYTES, MAX_STEPS, PROGRAM_VERSION,
};

use super::{ExecError, Limits, Outcome};

/// A finished CUDA job with its measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct JobReport {
	/// Output, digest and units, as reported to the chain.
	pub outcome: Outcome,
	/// The GPU milliseconds measured with CUDA events (`outcome.units` is this rounded up).
	pub gpu_ms: f64,
	/// Time spent compiling (NVRTC) and loading the module.
	pub compile: Duration,
	/// Wall-clock time of the whole job in the process that ran it.
	pub wall: Duration,
}

/// Runs a CUDA job in this process on GPU `device` (a CUDA ordinal, as
/// [`crate::host::GpuInfo::ordinal`]): validates it, then runs it.
pub fn run_job(
	program: &[u8],
	input: &[u8],
	limits: &Limits,
	device: u32,
) -> Result<Outcome, ExecError> {
	run_job_report(program, input, limits, device).map(|report| report.outcome)
}

/// [`run_job`], with the measurements.
pub fn run_job_report(
	program: &[u8],
	input: &[u8],
	limits: &Limits,
	device: u32,
) -> Result<JobReport, ExecError> {
	let started = Instant::now();
	let job = validate(program, input, limits)?;
	let inputs = job.split_input(input)?;
	let device = usize::try_from(device)
		.map_err(|_| ExecError::Unavailable(format!("there is no GPU {device}")))?;
	gpu::run(&job, &inputs, limits, device, started)
}

#[cfg(test)]
mod tests;

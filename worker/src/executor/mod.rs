//! The executors: run one job's program on its input inside the job's limits.
//!
//! Both executors take the program's bytes (exactly those whose hash the job names), the input
//! bytes and the [`Limits`], and return an [`Outcome`]: the output bytes, their digest and the
//! compute units used (WASM: instructions executed, counted as wasmtime's fuel counts them; CUDA:
//! GPU milliseconds measured with CUDA events).
//! Every way a job can fail is an [`ExecError`] — a clean failure of that job, never a crash of
//! the worker.

pub mod cuda;
pub mod wasm;

use std::time::Duration;

/// What a job may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
	/// Most compute units: WASM instructions (`executor::wasm::meter`), CUDA GPU milliseconds.
	pub max_units: u64,
	/// Most bytes of memory (WASM linear memory; CUDA device allocations).
	pub max_memory_bytes: u64,
	/// Most wall-clock time, whatever the units.
	pub max_wall: Duration,
	/// Most output bytes (the job's `max_output_bytes`).
	pub max_output_bytes: u64,
}

/// A job that ran to completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
	/// The output bytes.
	pub output: Vec<u8>,
	/// `blake2_256(output)`: what the worker commits to (with a salt) and reveals.
	pub digest: [u8; 32],
	/// The compute units used, as reported to the chain with the commit.
	pub units: u64,
}

impl Outcome {
	/// An outcome for `output`, its digest computed.
	pub fn new(output: Vec<u8>, units: u64) -> Self {
		let digest = digest(&output);
		Self { output, digest, units }
	}
}

/// `blake2_256`, the chain's hash: of outputs (digests), of programs and of remote inputs.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
	stratus_client::blake2_256(bytes)
}

/// Why a job failed. Each is the job's failure, reported to the chain; none stops the worker.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ExecError {
	/// The program is not valid for its kind (not a wasm module, CUDA source that does not
	/// compile, a malformed CUDA job description, …).
	#[error("the program does not compile: {0}")]
	Compile(String),
	/// The module imports something outside the job ABI (filesystem, clock, network, …).
	#[error("the program imports `{module}::{name}`, which jobs may not use")]
	ForbiddenImport { module: String, name: String },
	/// The module does not have the job ABI's exports.
	#[error("the program does not follow the job ABI: {0}")]
	BadAbi(String),
	/// The program trapped (unreachable, out-of-bounds access, division by zero, …) or a kernel
	/// faulted.
	#[error("the program failed: {0}")]
	Trap(String),
	/// The job used up its compute units.
	#[error("the job ran out of compute units ({0} allowed)")]
	OutOfUnits(u64),
	/// The job asked for more memory than allowed.
	#[error("the job exceeded its memory limit of {0} bytes")]
	OutOfMemory(u64),
	/// The job ran past its wall-clock limit.
	#[error("the job ran past its time limit of {0:?}")]
	Timeout(Duration),
	/// The output is larger than the job's `max_output_bytes`.
	#[error("the output is {size} bytes, more than the job's {max}")]
	OutputTooLarge { size: u64, max: u64 },
	/// The input does not fit the program's declared buffers (CUDA) or is otherwise unusable.
	#[error("the input is not usable by the program: {0}")]
	BadInput(String),
	/// This host cannot run the job (no GPU, no CUDA libraries).
	#[error("this host cannot run the job: {0}")]
	Unavailable(String),
}

impl ExecError {
	/// A stable name for the kind of failure (metrics, the failure record).
	pub fn kind(&self) -> &'static str {
		match self {
			ExecError::Compile(_) => "compile",
			ExecError::ForbiddenImport { .. } => "forbidden_import",
			ExecError::BadAbi(_) => "bad_abi",
			ExecError::Trap(_) => "trap",
			ExecError::OutOfUnits(_) => "out_of_units",
			ExecError::OutOfMemory(_) => "out_of_memory",
			ExecError::Timeout(_) => stratus_primitives::TIMEOUT_FAILURE,
			ExecError::OutputTooLarge { .. } => "output_too_large",
			ExecError::BadInput(_) => "bad_input",
			ExecError::Unavailable(_) => "unavailable",
		}
	}

	/// Whether every honest replica fails the same way on the same program and input, so the
	/// failure is a verifiable result. A wall-clock timeout depends on the machine (the chain
	/// treats its record as an abstention); a host that cannot run the job never commits.
	pub fn is_deterministic(&self) -> bool {
		!matches!(self, ExecError::Timeout(_) | ExecError::Unavailable(_))
	}
}

/// A job that failed, and the compute units it used before it did: what a deterministic failure
/// is paid for (`docs/job-abi.md`, "Failures"). A program refused before it ran used none; one
/// out of units used all of its budget; a trap, a refused memory growth or an oversize output
/// used what the program's own meter counted up to there. A timeout reports none: it is not
/// verifiable and pays nothing.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{error}")]
pub struct Failed {
	/// Why the job failed.
	pub error: ExecError,
	/// The units it used.
	pub units: u64,
}

impl Failed {
	/// A failure after `units`; timeouts and unavailable hosts report none.
	pub fn after(error: ExecError, units: u64) -> Self {
		let units = if error.is_deterministic() { units } else { 0 };
		Self { error, units }
	}
}

impl From<ExecError> for Failed {
	/// A failure before anything ran (a refused program, an unusable input): no units, except
	/// running out of them, which used the whole budget.
	fn from(error: ExecError) -> Self {
		let units = match error {
			ExecError::OutOfUnits(max) => max,
			_ => 0,
		};
		Self { error, units }
	}
}

/// The WASM executor's NaN rewrite alone (`wasm/nan.rs`), for the benchmark that measures the
/// executor against wasmtime's own metering. Not part of the worker's interface.
#[doc(hidden)]
pub fn canonicalise_nans(program: &[u8]) -> Result<Vec<u8>, String> {
	wasm::nan::canonicalise(program)
}

/// The output a failed job commits to: `stratus-failure/1 <kind>`, the chain's rule
/// ([`stratus_primitives::failure_output`]).
pub fn failure_output(error: &ExecError) -> Vec<u8> {
	stratus_primitives::failure_output(error.kind())
}

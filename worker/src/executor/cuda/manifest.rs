//! What a worker checks of a CUDA job beyond its program (`stratus_client::program::cuda`, the
//! checks `stratus program register` shares): the job's limits and input, and the output's
//! layout. All on the CPU, before a GPU is asked for anything.

pub use stratus_client::program::cuda::*;

use crate::executor::{ExecError, Limits};

/// The program's checks as a job's failure: every problem is [`ExecError::Compile`].
fn compile_error(error: CudaProgramError) -> ExecError {
	ExecError::Compile(error.0)
}

/// The worker's side of a [`CudaJob`]: parsing as a job's failure, the limits, the input and the
/// output.
pub trait JobChecks: Sized {
	/// Parses and checks a CUDA program ([`CudaJob::check`]). Every problem is
	/// [`ExecError::Compile`].
	fn parse(program: &[u8]) -> Result<Self, ExecError>;
	/// Checks a parsed program ([`CudaJob::from_program`]). Every problem is
	/// [`ExecError::Compile`].
	fn from_manifest(manifest: CudaProgram) -> Result<Self, ExecError>;
	/// Checks the job against its limits: device memory, then output size.
	fn check_limits(&self, limits: &Limits) -> Result<(), ExecError>;
	/// Splits the input into the input buffers' contents, in declared order. The input must be
	/// exactly their total size.
	fn split_input<'i>(&self, input: &'i [u8]) -> Result<Vec<&'i [u8]>, ExecError>;
	/// Joins the output buffers' contents, in declared order, into the job's output, checking
	/// each part has its buffer's size.
	fn join_output(&self, parts: &[Vec<u8>]) -> Result<Vec<u8>, ExecError>;
}

impl JobChecks for CudaJob {
	fn parse(program: &[u8]) -> Result<Self, ExecError> {
		CudaJob::check(program).map_err(compile_error)
	}

	fn from_manifest(manifest: CudaProgram) -> Result<Self, ExecError> {
		CudaJob::from_program(manifest).map_err(compile_error)
	}

	fn check_limits(&self, limits: &Limits) -> Result<(), ExecError> {
		// A saturated sum is larger than any limit, so overflow is reported as exceeding it.
		if self.device_bytes > limits.max_memory_bytes || self.device_bytes == u64::MAX {
			return Err(ExecError::OutOfMemory(limits.max_memory_bytes));
		}
		if self.output_bytes > limits.max_output_bytes {
			return Err(ExecError::OutputTooLarge {
				size: self.output_bytes,
				max: limits.max_output_bytes,
			});
		}
		Ok(())
	}

	fn split_input<'i>(&self, input: &'i [u8]) -> Result<Vec<&'i [u8]>, ExecError> {
		let len = u64::try_from(input.len()).unwrap_or(u64::MAX);
		if len != self.input_bytes {
			return Err(ExecError::BadInput(format!(
				"the input is {len} bytes; the job's input buffers take exactly {}",
				self.input_bytes
			)));
		}
		let mut rest = input;
		let mut parts = Vec::new();
		for buffer in self.buffers.iter().filter(|b| b.role.is_input()) {
			let at = usize::try_from(buffer.bytes)
				.map_err(|_| ExecError::BadInput("a buffer does not fit in memory".into()))?;
			let (part, tail) = rest
				.split_at_checked(at)
				.ok_or_else(|| ExecError::BadInput("the input is too short".into()))?;
			parts.push(part);
			rest = tail;
		}
		Ok(parts)
	}

	fn join_output(&self, parts: &[Vec<u8>]) -> Result<Vec<u8>, ExecError> {
		let outputs: Vec<&Buffer> = self.buffers.iter().filter(|b| b.role.is_output()).collect();
		let mismatch = || ExecError::Trap("the device returned output of the wrong size".into());
		if outputs.len() != parts.len() {
			return Err(mismatch());
		}
		let total = usize::try_from(self.output_bytes).map_err(|_| mismatch())?;
		let mut output = Vec::with_capacity(total);
		for (buffer, part) in outputs.iter().zip(parts) {
			if u64::try_from(part.len()).ok() != Some(buffer.bytes) {
				return Err(mismatch());
			}
			output.extend_from_slice(part);
		}
		Ok(output)
	}
}

/// Parses the manifest and checks it against the limits and the input: all a job's CPU-side
/// validation, in the order a job's failure is reported (manifest, memory, output, input).
pub fn validate(program: &[u8], input: &[u8], limits: &Limits) -> Result<CudaJob, ExecError> {
	let job = CudaJob::parse(program)?;
	job.check_limits(limits)?;
	job.split_input(input)?;
	Ok(job)
}

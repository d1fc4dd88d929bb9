//! Running a validated [`CudaJob`] on a GPU through cudarc.
//!
//! cudarc loads `libcuda`, `libnvrtc` and `libcublas` when first called and panics when one is
//! missing, so each library's presence is checked first (a missing one is
//! [`ExecError::Unavailable`]) and the whole run is under `catch_unwind`.
//!
//! All work goes to one stream: the input copies, then a start event, the steps, an end event;
//! the GPU milliseconds between the two events are the job's units. The host polls the end event
//! so it can give up at the wall-clock limit, or as soon as the units are certainly exceeded.
//! A job given up on (or whose kernel faulted) leaves its device state leaked on purpose:
//! freeing it would wait for the runaway kernel or touch a broken context. The process running
//! the job is expected to exit afterwards — see [`super::child_main`].

use std::{
	any::Any,
	ffi::c_int,
	panic::{self, AssertUnwindSafe},
	sync::Arc,
	time::{Duration, Instant},
};

use cudarc::{
	cublas::{self, CudaBlas},
	driver::{
		sys, CudaContext, CudaEvent, CudaFunction, CudaSlice, CudaStream, DevicePtr, DriverError,
		LaunchConfig, PushKernelArg,
	},
	nvrtc::{self, CompileOptions, Ptx},
};

use super::{
	manifest::{Arg, Code, CudaJob, Gemm, GemmType, JobChecks, Launch, Scalar, Step},
	JobReport,
};
use crate::executor::{ExecError, Limits, Outcome};

/// Longest compiler log passed on in an [`ExecError::Compile`].
const MAX_LOG_BYTES: usize = 16_384;
/// Dynamic shared memory a kernel gets without opting in.
const DEFAULT_SHARED_BYTES: u32 = 49_152;

/// Whether the CUDA driver library (`libcuda`) can be loaded on this host.
pub fn driver_present() -> bool {
	// SAFETY: loading the library runs only its initialisers, as any CUDA use would; nothing of
	// it is called here.
	unsafe { cudarc::driver::sys::is_culib_present() }
}

fn nvrtc_present() -> bool {
	// SAFETY: as for `driver_present`.
	unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

fn cublas_present() -> bool {
	// SAFETY: as for `driver_present`.
	unsafe { cudarc::cublas::sys::is_culib_present() }
}

/// Checks that the libraries `job` needs can be loaded.
pub fn check_libraries(job: &CudaJob) -> Result<(), ExecError> {
	if !driver_present() {
		return Err(ExecError::Unavailable("no CUDA driver (libcuda) on this host".into()));
	}
	if matches!(job.code, Code::Source(_)) && !nvrtc_present() {
		return Err(ExecError::Unavailable("no NVRTC (libnvrtc) on this host".into()));
	}
	if job.uses_cublas() && !cublas_present() {
		return Err(ExecError::Unavailable("no cuBLAS (libcublas) on this host".into()));
	}
	Ok(())
}

/// Runs `job` on GPU `device`; `inputs` are the input buffers' contents, `started` when the job's
/// wall clock started.
pub fn run(
	job: &CudaJob,
	inputs: &[&[u8]],
	limits: &Limits,
	device: usize,
	started: Instant,
) -> Result<JobReport, ExecError> {
	check_libraries(job)?;
	panic::catch_unwind(AssertUnwindSafe(|| run_on_device(job, inputs, limits, device, started)))
		.unwrap_or_else(|payload| Err(panic_error(payload.as_ref())))
}

/// The message of a panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
	payload
		.downcast_ref::<&str>()
		.map(|s| (*s).to_owned())
		.or_else(|| payload.downcast_ref::<String>().cloned())
		.unwrap_or_else(|| "unknown panic".to_owned())
}

/// A panic out of cudarc: a missing library or symbol means this host cannot run CUDA jobs.
pub fn panic_error(payload: &(dyn Any + Send)) -> ExecError {
	let message = panic_message(payload);
	if message.contains("Unable to dynamically load") || message.contains("Missing symbol") {
		ExecError::Unavailable(message)
	} else {
		ExecError::Trap(format!("the CUDA executor failed: {message}"))
	}
}

fn driver_name(e: DriverError) -> String {
	format!("{:?}", e.0)
}

fn unavailable(what: &str, e: DriverError) -> ExecError {
	ExecError::Unavailable(format!("{what}: {}", driver_name(e)))
}

fn fault(e: DriverError) -> ExecError {
	ExecError::Trap(format!("a kernel faulted: {}", driver_name(e)))
}

fn truncate(mut text: String, max: usize) -> String {
	if text.len() > max {
		let mut at = max;
		while !text.is_char_boundary(at) {
			at = at.saturating_sub(1);
		}
		text.truncate(at);
		text.push_str(" …");
	}
	text
}

fn run_on_device(
	job: &CudaJob,
	inputs: &[&[u8]],
	limits: &Limits,
	device: usize,
	started: Instant,
) -> Result<JobReport, ExecError> {
	let ctx = CudaContext::new(device)
		.map_err(|e| unavailable(&format!("GPU {device} cannot be used"), e))?;
	// SAFETY: everything the job does goes to the one stream below, so cudarc's cross-stream
	// event tracking has nothing to order.
	unsafe { ctx.disable_event_tracking() };
	// Device-side `malloc` would be memory outside the job's declared buffers; an empty heap makes
	// it return NULL. Best effort: a driver refusing it changes nothing else.
	let _ = ctx.set_limit(sys::CUlimit::CU_LIMIT_MALLOC_HEAP_SIZE, 0);
	let stream = ctx.new_stream().map_err(|e| unavailable("no CUDA stream", e))?;
	let mut session = Session {
		ctx,
		stream,
		functions: Vec::new(),
		buffers: Vec::new(),
		blas: None,
		in_flight: false,
		faulted: false,
	};
	let result = session.run(job, inputs, limits, started);
	if result.is_err() && (session.in_flight || session.faulted) {
		// A kernel may still be running, or the context is broken: freeing would block on the
		// kernel or fail. The process exits after the job; the driver reclaims everything then.
		std::mem::forget(session);
	}
	result
}

/// The device objects of one job, kept together so they can be leaked together.
struct Session {
	ctx: Arc<CudaContext>,
	stream: Arc<CudaStream>,
	/// One per name of [`CudaJob::kernels`], in that order.
	functions: Vec<CudaFunction>,
	/// One per [`CudaJob::buffers`], in that order.
	buffers: Vec<CudaSlice<u8>>,
	blas: Option<CudaBlas>,
	/// Work was enqueued and has not been seen to finish.
	in_flight: bool,
	/// The driver reported an error after work was enqueued.
	faulted: bool,
}

impl Session {
	fn run(
		&mut self,
		job: &CudaJob,
		inputs: &[&[u8]],
		limits: &Limits,
		started: Instant,
	) -> Result<JobReport, ExecError> {
		let deadline = started.checked_add(limits.max_wall);
		let compile_started = Instant::now();
		self.load_code(job)?;
		let compile = compile_started.elapsed();

		self.alloc(job, inputs)?;
		if job.uses_cublas() {
			let blas = CudaBlas::new(self.stream.clone())
				.map_err(|e| ExecError::Unavailable(format!("cuBLAS cannot start: {:?}", e.0)))?;
			self.blas = Some(blas);
		}
		let pointers: Vec<sys::CUdeviceptr> =
			self.buffers.iter().map(|buffer| buffer.device_ptr(&self.stream).0).collect();

		let start = self.timing_event()?;
		let end = self.timing_event()?;
		self.in_flight = true;
		let enqueued = self.enqueue(job, &pointers, &start, &end);
		if let Err(e) = enqueued {
			self.faulted = true;
			return Err(e);
		}
		self.wait(&start, &end, limits, deadline)?;
		let gpu_ms = start.elapsed_ms(&end).map_err(|e| self.fault(e))?;
		self.in_flight = false;

		let gpu_ms = f64::from(gpu_ms);
		let units = units_of(gpu_ms);
		if units > limits.max_units {
			return Err(ExecError::OutOfUnits(limits.max_units));
		}
		let output = self.read_output(job)?;
		Ok(JobReport {
			outcome: Outcome::new(output, units),
			gpu_ms,
			compile,
			wall: started.elapsed(),
		})
	}

	fn fault(&mut self, e: DriverError) -> ExecError {
		self.faulted = true;
		fault(e)
	}

	fn timing_event(&self) -> Result<CudaEvent, ExecError> {
		self.ctx
			.new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
			.map_err(|e| unavailable("no CUDA event", e))
	}

	/// Compiles (NVRTC) or takes the PTX, loads the module and finds every kernel.
	fn load_code(&mut self, job: &CudaJob) -> Result<(), ExecError> {
		let kernels = job.kernels();
		if kernels.is_empty() {
			// Only GEMM steps: nothing to compile.
			return Ok(());
		}
		let (ptx, compiled) = match &job.code {
			Code::Source(source) => (self.compile(source)?, true),
			Code::Ptx(ptx) => (Ptx::from_src(ptx.clone()), false),
		};
		let module = self.ctx.load_module(ptx).map_err(|e| {
			if compiled && e.0 == sys::CUresult::CUDA_ERROR_UNSUPPORTED_PTX_VERSION {
				ExecError::Unavailable(
					"this host's NVRTC emits PTX newer than its CUDA driver loads".into(),
				)
			} else {
				ExecError::Compile(format!("the PTX does not load: {}", driver_name(e)))
			}
		})?;
		for name in kernels {
			let function = module
				.load_function(name)
				.map_err(|_| ExecError::Compile(format!("the module has no kernel `{name}`")))?;
			self.functions.push(function);
		}
		// Kernels asking for more than the default dynamic shared memory must opt in.
		for step in &job.steps {
			if let Step::Launch(launch) = step {
				if launch.shared_bytes > DEFAULT_SHARED_BYTES {
					let function = self.function(job, launch)?;
					let bytes = i32::try_from(launch.shared_bytes).unwrap_or(i32::MAX);
					function
						.set_attribute(
							sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
							bytes,
						)
						.map_err(|e| {
							ExecError::Trap(format!(
								"kernel `{}` cannot have {bytes} bytes of shared memory on this \
								 GPU: {}",
								launch.kernel,
								driver_name(e)
							))
						})?;
				}
			}
		}
		Ok(())
	}

	fn compile(&self, source: &str) -> Result<Ptx, ExecError> {
		let (major, minor) =
			self.ctx.compute_capability().map_err(|e| unavailable("no compute capability", e))?;
		let options = CompileOptions {
			name: Some("job.cu".into()),
			options: nvrtc_arch(major, minor).into_iter().collect(),
			..Default::default()
		};
		nvrtc::compile_ptx_with_opts(source, options).map_err(|e| match e {
			nvrtc::CompileError::CompileError { log, .. } => {
				ExecError::Compile(truncate(log.to_string_lossy().into_owned(), MAX_LOG_BYTES))
			},
			other => ExecError::Compile(format!("NVRTC failed: {other:?}")),
		})
	}

	fn function(&self, job: &CudaJob, launch: &Launch) -> Result<&CudaFunction, ExecError> {
		job.kernels()
			.iter()
			.position(|name| *name == launch.kernel)
			.and_then(|index| self.functions.get(index))
			.ok_or_else(|| ExecError::Compile(format!("no kernel `{}`", launch.kernel)))
	}

	/// Allocates every buffer: input buffers copied from the input, the others zeroed (jobs see
	/// no stale device memory, and replicas start from the same bytes).
	fn alloc(&mut self, job: &CudaJob, inputs: &[&[u8]]) -> Result<(), ExecError> {
		let mut inputs = inputs.iter();
		for buffer in &job.buffers {
			let slice = if buffer.role.is_input() {
				let bytes = inputs
					.next()
					.ok_or_else(|| ExecError::BadInput("the input has too few parts".into()))?;
				self.stream.clone_htod(*bytes)
			} else {
				let len = usize::try_from(buffer.bytes)
					.map_err(|_| ExecError::OutOfMemory(buffer.bytes))?;
				self.stream.alloc_zeros::<u8>(len)
			}
			.map_err(|e| {
				if e.0 == sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
					ExecError::Unavailable(format!(
						"the GPU does not have the {} bytes the job's buffers take free",
						job.device_bytes
					))
				} else {
					unavailable("device memory cannot be allocated", e)
				}
			})?;
			self.buffers.push(slice);
		}
		Ok(())
	}

	/// Enqueues the start event, every step, the end event.
	fn enqueue(
		&self,
		job: &CudaJob,
		pointers: &[sys::CUdeviceptr],
		start: &CudaEvent,
		end: &CudaEvent,
	) -> Result<(), ExecError> {
		start.record(&self.stream).map_err(fault)?;
		for (index, step) in job.steps.iter().enumerate() {
			match step {
				Step::Launch(launch) => self.launch(job, index, launch, pointers)?,
				Step::Gemm(gemm) => self.gemm(index, gemm, pointers)?,
			}
		}
		end.record(&self.stream).map_err(fault)
	}

	fn launch(
		&self,
		job: &CudaJob,
		step: usize,
		launch: &Launch,
		pointers: &[sys::CUdeviceptr],
	) -> Result<(), ExecError> {
		let function = self.function(job, launch)?;
		let values = launch
			.args
			.iter()
			.map(|arg| {
				// A buffer is passed as its device address; the values are kept alive until the
				// launch is enqueued.
				Ok(match *arg {
					Arg::Buffer(index) => Scalar::U64(*pointers.get(index).ok_or_else(|| {
						ExecError::Trap(format!("step {step}: no buffer {index}"))
					})?),
					Arg::Scalar(value) => value,
				})
			})
			.collect::<Result<Vec<Scalar>, ExecError>>()?;
		let mut builder = self.stream.launch_builder(function);
		for value in &values {
			match value {
				Scalar::U32(v) => builder.arg(v),
				Scalar::I32(v) => builder.arg(v),
				Scalar::U64(v) => builder.arg(v),
				Scalar::I64(v) => builder.arg(v),
				Scalar::F32(v) => builder.arg(v),
				Scalar::F64(v) => builder.arg(v),
			};
		}
		let config = LaunchConfig {
			grid_dim: launch.grid,
			block_dim: launch.block,
			shared_mem_bytes: launch.shared_bytes,
		};
		// SAFETY: the parameters are what the job declares; if they do not match the kernel, or
		// the kernel strays outside its buffers, the fault is confined to this job's context and
		// reported as the job's failure. Jobs run in a process of their own (`child_main`).
		unsafe { builder.launch(config) }.map(drop).map_err(|e| {
			ExecError::Trap(format!(
				"step {step}: launching `{}` failed: {}",
				launch.kernel,
				driver_name(e)
			))
		})
	}

	fn gemm(
		&self,
		step: usize,
		gemm: &Gemm,
		pointers: &[sys::CUdeviceptr],
	) -> Result<(), ExecError> {
		let missing = || ExecError::Trap(format!("step {step}: GEMM operands missing"));
		let blas = self.blas.as_ref().ok_or_else(missing)?;
		let a = *pointers.get(gemm.a).ok_or_else(missing)?;
		let b = *pointers.get(gemm.b).ok_or_else(missing)?;
		let c = *pointers.get(gemm.c).ok_or_else(missing)?;
		let op = |transpose: bool| {
			if transpose {
				cublas::sys::cublasOperation_t::CUBLAS_OP_T
			} else {
				cublas::sys::cublasOperation_t::CUBLAS_OP_N
			}
		};
		let (transa, transb) = (op(gemm.transa), op(gemm.transb));
		// SAFETY: the manifest check guarantees each buffer holds at least the elements the
		// packed column-major shapes address, of the GEMM's type, and that C is neither A nor B;
		// alpha and beta are host values (cuBLAS's default pointer mode).
		let done = unsafe {
			match gemm.dtype {
				GemmType::F32 => {
					let (alpha, beta) = (gemm.alpha as f32, gemm.beta as f32);
					cublas::result::sgemm(
						*blas.handle(),
						transa,
						transb,
						gemm.m,
						gemm.n,
						gemm.k,
						&alpha,
						a as *const f32,
						gemm.lda,
						b as *const f32,
						gemm.ldb,
						&beta,
						c as *mut f32,
						gemm.ldc,
					)
				},
				GemmType::F64 => cublas::result::dgemm(
					*blas.handle(),
					transa,
					transb,
					gemm.m,
					gemm.n,
					gemm.k,
					&gemm.alpha,
					a as *const f64,
					gemm.lda,
					b as *const f64,
					gemm.ldb,
					&gemm.beta,
					c as *mut f64,
					gemm.ldc,
				),
			}
		};
		done.map_err(|e| ExecError::Trap(format!("step {step}: cuBLAS GEMM failed: {:?}", e.0)))
	}

	/// Waits for `end`, giving up at the deadline or once the units are certainly exceeded.
	fn wait(
		&mut self,
		start: &CudaEvent,
		end: &CudaEvent,
		limits: &Limits,
		deadline: Option<Instant>,
	) -> Result<(), ExecError> {
		// The GPU passed `start` no later than when the host sees it complete, so once more
		// than `max_units` ms (and a margin for clock differences) pass after that, the measured
		// time will exceed the units too.
		let budget = Duration::from_millis(limits.max_units)
			.saturating_add(Duration::from_millis(limits.max_units.saturating_div(100)))
			.saturating_add(Duration::from_millis(5));
		let mut start_seen: Option<Instant> = None;
		let mut pause = Duration::from_micros(10);
		loop {
			if end.try_is_complete().map_err(|e| self.fault(e))? {
				return Ok(());
			}
			let now = Instant::now();
			if start_seen.is_none() && start.try_is_complete().map_err(|e| self.fault(e))? {
				start_seen = Some(now);
			}
			if start_seen.is_some_and(|seen| now.duration_since(seen) > budget) {
				return Err(ExecError::OutOfUnits(limits.max_units));
			}
			if deadline.is_some_and(|deadline| now >= deadline) {
				return Err(ExecError::Timeout(limits.max_wall));
			}
			std::thread::sleep(pause);
			pause = pause.saturating_mul(2).min(Duration::from_millis(1));
		}
	}

	/// Copies the output buffers back, in declared order.
	fn read_output(&mut self, job: &CudaJob) -> Result<Vec<u8>, ExecError> {
		let mut parts = Vec::new();
		for (buffer, slice) in job.buffers.iter().zip(&self.buffers) {
			if buffer.role.is_output() {
				match self.stream.clone_dtoh(slice) {
					Ok(part) => parts.push(part),
					Err(e) => {
						self.faulted = true;
						return Err(fault(e));
					},
				}
			}
		}
		self.stream.synchronize().map_err(|e| self.fault(e))?;
		self.ctx.check_err().map_err(|e| self.fault(e))?;
		job.join_output(&parts)
	}
}

/// Units for `gpu_ms` milliseconds: rounded up, at least 1.
pub fn units_of(gpu_ms: f64) -> u64 {
	// `as` saturates; NaN becomes 0, then 1.
	(gpu_ms.ceil() as u64).max(1)
}

/// The `--gpu-architecture` option for a device of compute capability `major.minor`: the newest
/// virtual architecture NVRTC supports that the device runs. `None` leaves NVRTC's default.
fn nvrtc_arch(major: i32, minor: i32) -> Option<String> {
	let wanted = major.checked_mul(10)?.checked_add(minor)?;
	let mut count: c_int = 0;
	// SAFETY: NVRTC writes one int.
	unsafe { nvrtc::sys::nvrtcGetNumSupportedArchs(&mut count) }.result().ok()?;
	let mut archs: Vec<c_int> = vec![0; usize::try_from(count).ok()?];
	// SAFETY: `archs` has room for the `count` ints NVRTC writes.
	unsafe { nvrtc::sys::nvrtcGetSupportedArchs(archs.as_mut_ptr()) }.result().ok()?;
	let best = archs.into_iter().filter(|arch| *arch <= wanted).max()?;
	Some(format!("--gpu-architecture=compute_{best}"))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn units_round_up_and_are_at_least_one() {
		assert_eq!(units_of(0.0), 1);
		assert_eq!(units_of(0.2), 1);
		assert_eq!(units_of(1.0), 1);
		assert_eq!(units_of(1.01), 2);
		assert_eq!(units_of(f64::NAN), 1);
		assert_eq!(units_of(1e30), u64::MAX);
	}

	#[test]
	fn panics_about_missing_libraries_are_unavailable() {
		let missing: Box<dyn Any + Send> =
			Box::new(String::from("Unable to dynamically load the \"cuda\" shared library"));
		assert!(matches!(panic_error(missing.as_ref()), ExecError::Unavailable(_)));
		let symbol: Box<dyn Any + Send> = Box::new("Missing symbol cuFoo: not found");
		assert!(matches!(panic_error(symbol.as_ref()), ExecError::Unavailable(_)));
		let other: Box<dyn Any + Send> = Box::new(7u8);
		assert!(matches!(panic_error(other.as_ref()), ExecError::Trap(_)));
	}

	#[test]
	fn long_logs_are_truncated_on_a_char_boundary() {
		let log = "é".repeat(10);
		let cut = truncate(log, 5);
		assert!(cut.starts_with("éé"));
		assert!(cut.ends_with(" …"));
		assert_eq!(truncate("short".into(), 10), "short");
	}
}

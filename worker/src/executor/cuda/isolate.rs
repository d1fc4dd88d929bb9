//! Running a CUDA job in a child process, and the child's side.
//!
//! The parent starts its own executable with [`CHILD_ARG`], writes one request frame to the
//! child's stdin and reads one response frame from the child's **stderr**. The child's stdout is
//! `/dev/null`: kernels' `printf` writes to the process's stdout, and must not be able to forge
//! a response. The parent kills the child at the job's wall-clock limit (plus a grace for the
//! process to start), or shortly after a complete response if it does not exit by itself.
//!
//! The child is a sandbox ([`sandbox`]): it gets a cleared environment (only what the CUDA
//! libraries need to load, and `CUDA_VISIBLE_DEVICES` naming its one GPU), its own resource
//! limits (CPU time, open files, no core dumps) and, where the kernel lets an unprivileged process
//! make one, network and user namespaces of its own, so that it has no network at all.
//!
//! A frame is `magic (4 bytes) | payload length (u64) | payload`; integers are little-endian,
//! strings and byte strings are a length (u64) then the bytes.
//!
//! - Request payload: device (u32), max_units (u64), max_memory_bytes (u64), max_wall
//!   (u64 seconds, u32 nanoseconds), max_output_bytes (u64), program (bytes), input (bytes).
//! - Response payload: 0, then units (u64), gpu_ms (f64 bits), compile and wall (durations),
//!   output (bytes); or 1, then the [`ExecError`] (a kind byte and its fields).

use std::{
	io::{Read, Write},
	path::{Path, PathBuf},
	process::{Command, ExitCode, ExitStatus, Stdio},
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	thread,
	time::{Duration, Instant},
};

use super::JobReport;
use crate::executor::{ExecError, Limits, Outcome};

/// The hidden first argument that makes the worker's binary run one CUDA job ([`child_main`]).
pub const CHILD_ARG: &str = "__cuda-job";

const REQUEST_MAGIC: [u8; 4] = *b"SCJ1";
const RESPONSE_MAGIC: [u8; 4] = *b"SCR1";
/// Longest error message a response carries.
const MAX_MESSAGE_BYTES: usize = 65_536;
/// Room in a response for everything but the output.
const RESPONSE_OVERHEAD: u64 = 132_096;
/// How long a child may take to start (load CUDA, create a context) beyond the job's wall limit.
const DEFAULT_START_GRACE: Duration = Duration::from_secs(5);
/// How long a child that sent its response may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// What the child runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
	pub device: u32,
	pub limits: Limits,
	pub program: Vec<u8>,
	pub input: Vec<u8>,
}

/// Runs CUDA jobs each in a child process.
#[derive(Clone, Debug)]
pub struct IsolatedRunner {
	exe: PathBuf,
	device: u32,
	start_grace: Duration,
}

impl IsolatedRunner {
	/// A runner that starts this process's own executable (whose `main` dispatches
	/// [`CHILD_ARG`] to [`child_main`]) for jobs on GPU `device`.
	pub fn new(device: u32) -> Result<Self, ExecError> {
		let exe = std::env::current_exe().map_err(|e| {
			ExecError::Unavailable(format!("the worker's executable cannot be found: {e}"))
		})?;
		Ok(Self::with_exe(exe, device))
	}

	/// A runner that starts `exe` (a `stratus-worker` binary) for jobs on GPU `device`.
	pub fn with_exe(exe: impl Into<PathBuf>, device: u32) -> Self {
		Self { exe: exe.into(), device, start_grace: DEFAULT_START_GRACE }
	}

	/// Sets how long a child may take to start beyond the job's wall-clock limit.
	pub fn start_grace(mut self, grace: Duration) -> Self {
		self.start_grace = grace;
		self
	}

	/// The executable this runner starts.
	pub fn exe(&self) -> &Path {
		&self.exe
	}

	/// Runs one job in a child process. Blocking: call it from a blocking thread.
	pub fn run(
		&self,
		program: &[u8],
		input: &[u8],
		limits: &Limits,
	) -> Result<JobReport, ExecError> {
		let mut command = Command::new(&self.exe);
		command.arg(CHILD_ARG);
		sandbox(&mut command, self.device, limits.max_wall.saturating_add(self.start_grace))?;
		// The child sees only its own GPU, as device 0.
		let request = encode_request(0, limits, program, input);
		run_child(command, request, limits, self.start_grace)
	}
}

/// The worker's environment variables a CUDA child keeps: what the dynamic loader and the CUDA
/// libraries need to be found, and the device order its GPU is named in. Nothing else reaches
/// it (no keys, tokens or proxies of the worker's).
const PASSED_THROUGH: &[&str] = &["PATH", "LD_LIBRARY_PATH", "CUDA_DEVICE_ORDER"];

/// Settings forced on the child: no on-disk kernel cache (its HOME is unset), and none of the
/// variables that would change results (TF32 in FP32 GEMMs) or make cuBLAS log.
const FORCED: &[(&str, &str)] = &[("CUDA_CACHE_DISABLE", "1")];

/// Open files a CUDA child may hold (the driver's device files, its libraries, the pipes).
const CHILD_OPEN_FILES: u64 = 1024;

/// The environment of a CUDA child for a job on GPU `device` (an ordinal as the worker's own
/// process numbers its GPUs), from the worker's variables (`parent`): the [`PASSED_THROUGH`]
/// ones, the [`FORCED`] ones, and `CUDA_VISIBLE_DEVICES` naming that one GPU — the worker's own
/// list's entry when the worker itself was limited to some GPUs.
pub fn child_env(
	parent: impl Fn(&str) -> Option<String>,
	device: u32,
) -> Result<Vec<(String, String)>, ExecError> {
	let visible = match parent("CUDA_VISIBLE_DEVICES") {
		Some(list) => list
			.split(',')
			.map(str::trim)
			.nth(device as usize)
			.filter(|entry| !entry.is_empty())
			.map(str::to_owned)
			.ok_or_else(|| {
				ExecError::Unavailable(format!(
					"GPU {device} is not in this worker's CUDA_VISIBLE_DEVICES ({list:?})"
				))
			})?,
		None => device.to_string(),
	};
	let mut env: Vec<(String, String)> = PASSED_THROUGH
		.iter()
		.filter_map(|name| parent(name).map(|value| ((*name).to_owned(), value)))
		.collect();
	env.extend(FORCED.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
	env.push(("CUDA_VISIBLE_DEVICES".into(), visible));
	Ok(env)
}

/// Makes `command` a sandboxed CUDA child for GPU `device` that may run for `wall`: its
/// environment ([`child_env`]), and, set in the child before it executes, its limits — CPU time
/// (the wall time and a few seconds: a job cannot use more CPU than that, whatever threads it
/// starts), open files, no core dump — and its own user and network namespaces where the kernel
/// allows an unprivileged process them (no network interface but a loopback that is down). The
/// address-space limit is not set: the CUDA driver reserves the GPU's memory in it.
pub fn sandbox(command: &mut Command, device: u32, wall: Duration) -> Result<(), ExecError> {
	let env = child_env(|name| std::env::var(name).ok(), device)?;
	command.env_clear().envs(env);
	let cpu_seconds = wall.as_secs().saturating_add(5);
	// SAFETY: the closure runs in the child between fork and exec and calls only setrlimit and
	// unshare, which are async-signal-safe system calls; it allocates nothing and takes no lock.
	unsafe {
		std::os::unix::process::CommandExt::pre_exec(command, move || {
			use nix::sys::resource::{setrlimit, Resource};
			setrlimit(Resource::RLIMIT_CPU, cpu_seconds, cpu_seconds)?;
			setrlimit(Resource::RLIMIT_NOFILE, CHILD_OPEN_FILES, CHILD_OPEN_FILES)?;
			setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
			// No network: a fresh network namespace (inside a user namespace of its own, so that
			// no privilege is needed). Where the kernel refuses (user namespaces off), the child
			// runs in the worker's network namespace: docs/provider-guide.md says so.
			let _ = nix::sched::unshare(
				nix::sched::CloneFlags::CLONE_NEWUSER | nix::sched::CloneFlags::CLONE_NEWNET,
			);
			Ok(())
		});
	}
	Ok(())
}

/// Runs one job on GPU `device` in a child process of this executable.
pub fn run_isolated(
	program: &[u8],
	input: &[u8],
	limits: &Limits,
	device: u32,
) -> Result<Outcome, ExecError> {
	IsolatedRunner::new(device)?.run(program, input, limits).map(|report| report.outcome)
}

/// The child's side: reads a request from stdin, runs it with [`super::run_job_report`] and
/// writes the response to stderr. The worker binary's `main` calls this, first thing, when its
/// first argument is [`CHILD_ARG`], and returns its exit code.
pub fn child_main() -> ExitCode {
	let mut request = Vec::new();
	let response = match std::io::stdin().lock().read_to_end(&mut request) {
		Err(e) => Err(ExecError::Unavailable(format!("the job cannot be read: {e}"))),
		Ok(_) => match decode_request(&request) {
			Err(e) => Err(ExecError::Unavailable(format!("the job request is malformed: {e}"))),
			Ok(request) => super::run_job_report(
				&request.program,
				&request.input,
				&request.limits,
				request.device,
			),
		},
	};
	let frame = encode_response(&response);
	let mut stderr = std::io::stderr().lock();
	if stderr.write_all(&frame).and_then(|()| stderr.flush()).is_err() {
		return ExitCode::from(3);
	}
	if response.is_ok() {
		ExitCode::SUCCESS
	} else {
		ExitCode::from(1)
	}
}

/// Spawns `command` as a job's child, feeds it `request`, and reads its response.
fn run_child(
	mut command: Command,
	request: Vec<u8>,
	limits: &Limits,
	start_grace: Duration,
) -> Result<JobReport, ExecError> {
	command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
	let mut child = command
		.spawn()
		.map_err(|e| ExecError::Unavailable(format!("the CUDA job process cannot start: {e}")))?;

	let stdin = child.stdin.take();
	let writer = thread::spawn(move || {
		if let Some(mut stdin) = stdin {
			// A child that exits without reading (or is killed) closes the pipe: nothing to do.
			let _ = stdin.write_all(&request);
		}
	});

	let limit = limits.max_output_bytes.saturating_add(RESPONSE_OVERHEAD);
	let complete = Arc::new(AtomicBool::new(false));
	let stderr = child.stderr.take();
	let reader = {
		let complete = complete.clone();
		thread::spawn(move || {
			let mut bytes = Vec::new();
			if let Some(stderr) = stderr {
				let mut stderr = stderr.take(limit);
				let mut chunk = vec![0u8; 65_536];
				loop {
					match stderr.read(&mut chunk) {
						Ok(0) | Err(_) => break,
						Ok(n) => bytes.extend_from_slice(chunk.get(..n).unwrap_or_default()),
					}
					if !complete.load(Ordering::Relaxed) && has_frame(&bytes, RESPONSE_MAGIC) {
						complete.store(true, Ordering::Relaxed);
					}
				}
			}
			bytes
		})
	};

	let deadline = Instant::now().checked_add(limits.max_wall.saturating_add(start_grace));
	let mut responded_at: Option<Instant> = None;
	let mut pause = Duration::from_micros(200);
	let status: Option<ExitStatus> = loop {
		match child.try_wait() {
			Ok(Some(status)) => break Some(status),
			Ok(None) => {},
			Err(_) => break kill(&mut child),
		}
		let now = Instant::now();
		if responded_at.is_none() && complete.load(Ordering::Relaxed) {
			responded_at = Some(now);
		}
		let exit_overdue = responded_at.is_some_and(|at| now.duration_since(at) > EXIT_GRACE);
		if exit_overdue || deadline.is_some_and(|deadline| now >= deadline) {
			break kill(&mut child);
		}
		thread::sleep(pause);
		pause = pause.saturating_mul(2).min(Duration::from_millis(10));
	};
	let _ = writer.join();
	let bytes = reader.join().unwrap_or_default();

	match decode_response(&bytes) {
		Ok(result) => check_response(result, limits),
		Err(_) if status.is_none() => Err(ExecError::Timeout(limits.max_wall)),
		Err(e) => {
			let status = status.map_or_else(|| "killed".to_owned(), |s| s.to_string());
			let text = String::from_utf8_lossy(&bytes);
			let tail: String =
				text.chars().rev().take(2048).collect::<Vec<_>>().into_iter().rev().collect();
			Err(ExecError::Trap(format!(
				"the CUDA job process ended ({status}) without a result ({e}): {}",
				tail.trim()
			)))
		},
	}
}

/// Kills the child and reaps it; `None` marks it as killed.
fn kill(child: &mut std::process::Child) -> Option<ExitStatus> {
	let _ = child.kill();
	let _ = child.wait();
	None
}

/// A response is the child's word: still, nothing it says may exceed the job's limits.
fn check_response(
	result: Result<JobReport, ExecError>,
	limits: &Limits,
) -> Result<JobReport, ExecError> {
	let report = result?;
	let size = u64::try_from(report.outcome.output.len()).unwrap_or(u64::MAX);
	if size > limits.max_output_bytes {
		return Err(ExecError::OutputTooLarge { size, max: limits.max_output_bytes });
	}
	if report.outcome.units > limits.max_units {
		return Err(ExecError::OutOfUnits(limits.max_units));
	}
	Ok(report)
}

// ---- encoding ----

struct Writer(Vec<u8>);

impl Writer {
	fn u8(&mut self, v: u8) {
		self.0.push(v);
	}
	fn u32(&mut self, v: u32) {
		self.0.extend_from_slice(&v.to_le_bytes());
	}
	fn u64(&mut self, v: u64) {
		self.0.extend_from_slice(&v.to_le_bytes());
	}
	fn bytes(&mut self, v: &[u8]) {
		self.u64(u64::try_from(v.len()).unwrap_or(u64::MAX));
		self.0.extend_from_slice(v);
	}
	fn string(&mut self, v: &str) {
		let mut at = v.len().min(MAX_MESSAGE_BYTES);
		while !v.is_char_boundary(at) {
			at = at.saturating_sub(1);
		}
		self.bytes(v.get(..at).unwrap_or_default().as_bytes());
	}
	fn duration(&mut self, v: Duration) {
		self.u64(v.as_secs());
		self.u32(v.subsec_nanos());
	}
	fn frame(magic: [u8; 4], payload: Vec<u8>) -> Vec<u8> {
		let mut frame = Vec::with_capacity(payload.len().saturating_add(12));
		frame.extend_from_slice(&magic);
		frame.extend_from_slice(&u64::try_from(payload.len()).unwrap_or(u64::MAX).to_le_bytes());
		frame.extend_from_slice(&payload);
		frame
	}
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
	fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
		let (head, rest) = self.0.split_at_checked(n).ok_or("truncated")?;
		self.0 = rest;
		Ok(head)
	}
	fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
		self.take(N)?.try_into().map_err(|_| "truncated".to_owned())
	}
	fn u8(&mut self) -> Result<u8, String> {
		Ok(u8::from_le_bytes(self.array()?))
	}
	fn u32(&mut self) -> Result<u32, String> {
		Ok(u32::from_le_bytes(self.array()?))
	}
	fn u64(&mut self) -> Result<u64, String> {
		Ok(u64::from_le_bytes(self.array()?))
	}
	fn length(&mut self) -> Result<usize, String> {
		usize::try_from(self.u64()?).map_err(|_| "length too large".to_owned())
	}
	fn bytes(&mut self) -> Result<&'a [u8], String> {
		let len = self.length()?;
		self.take(len)
	}
	fn string(&mut self) -> Result<String, String> {
		let bytes = self.bytes()?;
		if bytes.len() > MAX_MESSAGE_BYTES {
			return Err("message too long".into());
		}
		String::from_utf8(bytes.to_vec()).map_err(|_| "message not UTF-8".to_owned())
	}
	fn duration(&mut self) -> Result<Duration, String> {
		let secs = self.u64()?;
		let nanos = self.u32()?;
		if nanos >= 1_000_000_000 {
			return Err("bad duration".into());
		}
		Ok(Duration::new(secs, nanos))
	}
	fn end(&self) -> Result<(), String> {
		if self.0.is_empty() {
			Ok(())
		} else {
			Err("trailing bytes".into())
		}
	}
}

/// The payload of the first complete `magic` frame in `bytes` (anything before it is skipped).
fn find_frame(bytes: &[u8], magic: [u8; 4]) -> Result<&[u8], String> {
	let at = bytes.windows(4).position(|w| w == magic.as_slice()).ok_or("no frame")?;
	let mut reader = Reader(bytes.get(at..).unwrap_or_default());
	reader.take(4)?;
	reader.bytes()
}

fn has_frame(bytes: &[u8], magic: [u8; 4]) -> bool {
	find_frame(bytes, magic).is_ok()
}

/// Encodes a request frame.
pub fn encode_request(device: u32, limits: &Limits, program: &[u8], input: &[u8]) -> Vec<u8> {
	let mut w =
		Writer(Vec::with_capacity(program.len().saturating_add(input.len()).saturating_add(64)));
	w.u32(device);
	w.u64(limits.max_units);
	w.u64(limits.max_memory_bytes);
	w.duration(limits.max_wall);
	w.u64(limits.max_output_bytes);
	w.bytes(program);
	w.bytes(input);
	Writer::frame(REQUEST_MAGIC, w.0)
}

/// Decodes a request frame.
pub fn decode_request(bytes: &[u8]) -> Result<Request, String> {
	if bytes.get(..4) != Some(REQUEST_MAGIC.as_slice()) {
		return Err("not a CUDA job request".into());
	}
	let mut r = Reader(find_frame(bytes, REQUEST_MAGIC)?);
	let device = r.u32()?;
	let limits = Limits {
		max_units: r.u64()?,
		max_memory_bytes: r.u64()?,
		max_wall: r.duration()?,
		max_output_bytes: r.u64()?,
	};
	let program = r.bytes()?.to_vec();
	let input = r.bytes()?.to_vec();
	r.end()?;
	Ok(Request { device, limits, program, input })
}

/// Encodes a response frame.
pub fn encode_response(response: &Result<JobReport, ExecError>) -> Vec<u8> {
	let mut w = Writer(Vec::new());
	match response {
		Ok(report) => {
			w.u8(0);
			w.u64(report.outcome.units);
			w.u64(report.gpu_ms.to_bits());
			w.duration(report.compile);
			w.duration(report.wall);
			w.bytes(&report.outcome.output);
		},
		Err(error) => {
			w.u8(1);
			encode_error(&mut w, error);
		},
	}
	Writer::frame(RESPONSE_MAGIC, w.0)
}

fn encode_error(w: &mut Writer, error: &ExecError) {
	match error {
		ExecError::Compile(m) => {
			w.u8(0);
			w.string(m);
		},
		ExecError::ForbiddenImport { module, name } => {
			w.u8(1);
			w.string(module);
			w.string(name);
		},
		ExecError::BadAbi(m) => {
			w.u8(2);
			w.string(m);
		},
		ExecError::Trap(m) => {
			w.u8(3);
			w.string(m);
		},
		ExecError::OutOfUnits(units) => {
			w.u8(4);
			w.u64(*units);
		},
		ExecError::OutOfMemory(bytes) => {
			w.u8(5);
			w.u64(*bytes);
		},
		ExecError::Timeout(wall) => {
			w.u8(6);
			w.duration(*wall);
		},
		ExecError::OutputTooLarge { size, max } => {
			w.u8(7);
			w.u64(*size);
			w.u64(*max);
		},
		ExecError::BadInput(m) => {
			w.u8(8);
			w.string(m);
		},
		ExecError::Unavailable(m) => {
			w.u8(9);
			w.string(m);
		},
	}
}

/// Decodes a response frame found anywhere in `bytes`: the job's result, or why the bytes are
/// not a response.
pub fn decode_response(bytes: &[u8]) -> Result<Result<JobReport, ExecError>, String> {
	let mut r = Reader(find_frame(bytes, RESPONSE_MAGIC)?);
	let result = match r.u8()? {
		0 => {
			let units = r.u64()?;
			let gpu_ms = f64::from_bits(r.u64()?);
			let compile = r.duration()?;
			let wall = r.duration()?;
			let output = r.bytes()?.to_vec();
			Ok(JobReport { outcome: Outcome::new(output, units), gpu_ms, compile, wall })
		},
		1 => Err(match r.u8()? {
			0 => ExecError::Compile(r.string()?),
			1 => ExecError::ForbiddenImport { module: r.string()?, name: r.string()? },
			2 => ExecError::BadAbi(r.string()?),
			3 => ExecError::Trap(r.string()?),
			4 => ExecError::OutOfUnits(r.u64()?),
			5 => ExecError::OutOfMemory(r.u64()?),
			6 => ExecError::Timeout(r.duration()?),
			7 => ExecError::OutputTooLarge { size: r.u64()?, max: r.u64()? },
			8 => ExecError::BadInput(r.string()?),
			9 => ExecError::Unavailable(r.string()?),
			kind => return Err(format!("unknown error kind {kind}")),
		}),
		tag => return Err(format!("unknown response tag {tag}")),
	};
	r.end()?;
	Ok(result)
}

#[cfg(test)]
mod tests {
	#![allow(clippy::arithmetic_side_effects)]

	use super::*;

	fn limits() -> Limits {
		Limits {
			max_units: 1_000,
			max_memory_bytes: 1 << 20,
			max_wall: Duration::from_millis(1_500),
			max_output_bytes: 4096,
		}
	}

	fn report(output: Vec<u8>, units: u64) -> JobReport {
		JobReport {
			outcome: Outcome::new(output, units),
			gpu_ms: 12.25,
			compile: Duration::new(1, 5),
			wall: Duration::new(2, 999_999_999),
		}
	}

	/// The child keeps only what CUDA needs, and sees its one GPU: the worker's ordinal, or
	/// that entry of the worker's own `CUDA_VISIBLE_DEVICES`.
	#[test]
	fn the_child_environment_is_cleared_but_for_cuda_and_its_gpu() {
		let parent = |vars: &'static [(&'static str, &'static str)]| {
			move |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
		};
		let worker = parent(&[
			("PATH", "/usr/bin"),
			("LD_LIBRARY_PATH", "/usr/local/cuda/lib64"),
			("HOME", "/home/provider"),
			("STRATUS_PASSPHRASE", "secret"),
			("AWS_SECRET_ACCESS_KEY", "secret"),
			("HTTPS_PROXY", "http://proxy:3128"),
			("NVIDIA_TF32_OVERRIDE", "1"),
			("CUBLAS_LOGINFO_DBG", "1"),
		]);
		let env = child_env(worker, 2).unwrap();
		let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
		assert_eq!(
			names,
			["PATH", "LD_LIBRARY_PATH", "CUDA_CACHE_DISABLE", "CUDA_VISIBLE_DEVICES"]
		);
		assert!(env.contains(&("CUDA_VISIBLE_DEVICES".into(), "2".into())));
		let limited = parent(&[("CUDA_VISIBLE_DEVICES", "GPU-aaaa, GPU-bbbb")]);
		let env = child_env(limited, 1).unwrap();
		assert!(env.contains(&("CUDA_VISIBLE_DEVICES".into(), "GPU-bbbb".into())));
		let limited = parent(&[("CUDA_VISIBLE_DEVICES", "3")]);
		assert!(matches!(child_env(limited, 1), Err(ExecError::Unavailable(_))));
	}

	/// A process started through [`sandbox`] (a shell standing in for the CUDA child) has the
	/// cleared environment, the limits, and — where user namespaces are allowed — no network
	/// but a loopback.
	#[test]
	fn a_sandboxed_child_has_its_limits_and_no_network() {
		let mut command = Command::new("/bin/sh");
		command.args([
			"-c",
			"env | cut -d= -f1 | sort | tr '\\n' ' '; echo; ulimit -t; ulimit -n; ulimit -c; \
			 tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' '",
		]);
		sandbox(&mut command, 0, Duration::from_secs(10)).unwrap();
		let out = command.output().unwrap();
		assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
		let text = String::from_utf8(out.stdout).unwrap();
		let lines: Vec<&str> = text.lines().collect();
		let names: Vec<&str> = lines[0].split_whitespace().collect();
		assert!(
			names.iter().all(|n| [
				"PATH",
				"LD_LIBRARY_PATH",
				"CUDA_DEVICE_ORDER",
				"CUDA_CACHE_DISABLE",
				"CUDA_VISIBLE_DEVICES",
				"PWD",
				"SHLVL",
				"_",
				"OLDPWD"
			]
			.contains(n)),
			"{names:?}"
		);
		assert!(names.contains(&"CUDA_VISIBLE_DEVICES"));
		assert_eq!(&lines[1..4], ["15", "1024", "0"]);
		let interfaces: Vec<&str> = lines.get(4).map_or(vec![], |l| l.split_whitespace().collect());
		let isolated = interfaces == ["lo"];
		let host_has_more = std::fs::read_to_string("/proc/self/net/dev")
			.map(|t| t.lines().count() > 3)
			.unwrap_or(false);
		// Either the namespace was made (only `lo`), or the kernel refused user namespaces here.
		let userns_allowed = std::fs::read_to_string("/proc/sys/kernel/unprivileged_userns_clone")
			.map_or(true, |v| v.trim() == "1");
		if userns_allowed && host_has_more {
			assert!(isolated, "interfaces seen by the child: {interfaces:?}");
		}
	}

	#[test]
	fn requests_round_trip() {
		let frame = encode_request(3, &limits(), b"{\"version\":1}", &[1, 2, 3, 0, 255]);
		let request = decode_request(&frame).unwrap();
		assert_eq!(
			request,
			Request {
				device: 3,
				limits: limits(),
				program: b"{\"version\":1}".to_vec(),
				input: vec![1, 2, 3, 0, 255],
			}
		);
		let empty = decode_request(&encode_request(0, &limits(), &[], &[])).unwrap();
		assert!(empty.program.is_empty() && empty.input.is_empty());
	}

	#[test]
	fn malformed_requests_are_rejected() {
		let frame = encode_request(0, &limits(), b"p", b"i");
		assert!(decode_request(&[]).is_err());
		assert!(decode_request(b"nope").is_err());
		for cut in 0..frame.len() {
			assert!(decode_request(&frame[..cut]).is_err(), "cut at {cut}");
		}
		let mut trailing = frame.clone();
		trailing.push(0);
		// The frame length excludes the extra byte, so it is ignored; a longer payload is not.
		assert!(decode_request(&trailing).is_ok());
		let mut long = frame;
		let len = u64::from_le_bytes(long[4..12].try_into().unwrap());
		long[4..12].copy_from_slice(&(len + 1).to_le_bytes());
		long.push(0);
		assert_eq!(decode_request(&long), Err("trailing bytes".into()));
	}

	#[test]
	fn successful_responses_round_trip() {
		let ok = Ok(report(vec![9; 100], 13));
		assert_eq!(decode_response(&encode_response(&ok)).unwrap(), ok);
		let empty = Ok(report(Vec::new(), 1));
		assert_eq!(decode_response(&encode_response(&empty)).unwrap(), empty);
	}

	#[test]
	fn every_error_round_trips() {
		let errors = [
			ExecError::Compile("error: expected a \";\"".into()),
			ExecError::ForbiddenImport { module: "env".into(), name: "clock".into() },
			ExecError::BadAbi("no run".into()),
			ExecError::Trap("a kernel faulted: CUDA_ERROR_ILLEGAL_ADDRESS".into()),
			ExecError::OutOfUnits(77),
			ExecError::OutOfMemory(1 << 30),
			ExecError::Timeout(Duration::new(3, 141_592_653)),
			ExecError::OutputTooLarge { size: 10, max: 9 },
			ExecError::BadInput("short".into()),
			ExecError::Unavailable("no CUDA driver".into()),
		];
		for error in errors {
			let response = Err(error);
			assert_eq!(decode_response(&encode_response(&response)).unwrap(), response);
		}
	}

	#[test]
	fn long_messages_are_cut_to_the_limit() {
		let response = Err(ExecError::Compile("é".repeat(MAX_MESSAGE_BYTES)));
		let Err(ExecError::Compile(message)) =
			decode_response(&encode_response(&response)).unwrap()
		else {
			panic!("not a compile error");
		};
		assert!(message.len() <= MAX_MESSAGE_BYTES);
		assert!(message.chars().all(|c| c == 'é'));
	}

	#[test]
	fn responses_are_found_after_noise_and_truncation_is_detected() {
		let frame = encode_response(&Ok(report(vec![1, 2, 3], 2)));
		let mut noisy = b"thread 'main' panicked somewhere\n".to_vec();
		noisy.extend_from_slice(&frame);
		assert!(decode_response(&noisy).unwrap().is_ok());
		assert!(has_frame(&noisy, RESPONSE_MAGIC));
		for cut in 0..frame.len() {
			assert!(decode_response(&frame[..cut]).is_err(), "cut at {cut}");
			assert!(!has_frame(&frame[..cut], RESPONSE_MAGIC));
		}
		let mut bad_tag = frame.clone();
		bad_tag[12] = 7;
		assert!(decode_response(&bad_tag).is_err());
	}

	#[test]
	fn the_parent_does_not_believe_a_response_beyond_the_limits() {
		let big = Ok(report(vec![0; 5000], 1));
		assert_eq!(
			check_response(big, &limits()),
			Err(ExecError::OutputTooLarge { size: 5000, max: 4096 })
		);
		let greedy = Ok(report(vec![0; 10], 1001));
		assert_eq!(check_response(greedy, &limits()), Err(ExecError::OutOfUnits(1000)));
	}

	#[cfg(unix)]
	fn shell(script: &str) -> Command {
		let mut command = Command::new("sh");
		command.args(["-c", script]);
		command
	}

	#[cfg(unix)]
	#[test]
	fn a_child_past_its_wall_limit_is_killed() {
		let limits = Limits { max_wall: Duration::from_millis(100), ..limits() };
		let started = Instant::now();
		let result = run_child(shell("exec sleep 30"), vec![0; 1 << 20], &limits, Duration::ZERO);
		assert_eq!(result, Err(ExecError::Timeout(Duration::from_millis(100))));
		assert!(started.elapsed() < Duration::from_secs(10));
	}

	#[cfg(unix)]
	#[test]
	fn a_child_that_dies_without_a_result_is_a_trap() {
		let result =
			run_child(shell("echo oops >&2; exit 3"), vec![1, 2], &limits(), Duration::ZERO);
		let Err(ExecError::Trap(message)) = result else { panic!("{result:?}") };
		assert!(message.contains("oops"), "{message}");
	}

	#[cfg(unix)]
	#[test]
	fn a_childs_response_is_read_from_stderr_and_stdout_is_ignored() {
		let dir = std::env::temp_dir().join(format!("stratus-cuda-isolate-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let path = dir.join("response");
		let frame = encode_response(&Ok(report(vec![4, 5, 6], 3)));
		std::fs::write(&path, &frame).unwrap();
		let forged = dir.join("forged");
		std::fs::write(&forged, encode_response(&Ok(report(vec![6, 6, 6], 1)))).unwrap();
		let script =
			format!("cat > /dev/null; cat '{}'; cat '{}' >&2", forged.display(), path.display());
		let result = run_child(shell(&script), vec![7; 10], &limits(), Duration::ZERO);
		std::fs::remove_dir_all(&dir).unwrap();
		assert_eq!(result.unwrap().outcome.output, vec![4, 5, 6]);
	}

	#[cfg(unix)]
	#[test]
	fn a_child_that_responds_but_does_not_exit_is_not_waited_for() {
		let dir = std::env::temp_dir().join(format!("stratus-cuda-linger-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let path = dir.join("response");
		std::fs::write(&path, encode_response(&Err(ExecError::OutOfUnits(1000)))).unwrap();
		let script = format!("cat '{}' >&2; exec sleep 30", path.display());
		let limits = Limits { max_wall: Duration::from_secs(60), ..limits() };
		let started = Instant::now();
		let result = run_child(shell(&script), Vec::new(), &limits, Duration::ZERO);
		std::fs::remove_dir_all(&dir).unwrap();
		assert_eq!(result, Err(ExecError::OutOfUnits(1000)));
		assert!(started.elapsed() < Duration::from_secs(20));
	}

	#[cfg(unix)]
	#[test]
	fn a_missing_executable_is_unavailable() {
		let runner = IsolatedRunner::with_exe("/nonexistent/stratus-worker", 0);
		assert!(matches!(runner.run(b"{}", b"", &limits()), Err(ExecError::Unavailable(_))));
	}
}

//! The CUDA program format (a CUDA program's bytes: a JSON job description with its kernels) and
//! its checks into a [`CudaJob`] — one owner for `stratus program register` and every worker.
//!
//! Everything here runs on the CPU and touches no CUDA library: names, sizes, GEMM shapes and
//! launch bounds are checked before a GPU is asked for anything; a worker adds the checks that
//! need the job's limits and input. The format is documented in `docs/job-abi.md`.

use serde::{Deserialize, Serialize};

/// The CUDA program version this format describes.
pub const PROGRAM_VERSION: u32 = 1;
/// Most buffers a job may declare.
pub const MAX_BUFFERS: usize = 256;
/// Most steps (kernel launches and GEMMs) a job may have.
pub const MAX_STEPS: usize = 4096;
/// Most arguments one kernel launch may pass (each at most 8 bytes: well inside CUDA's 4 KiB of
/// kernel parameters).
pub const MAX_ARGS: usize = 256;
/// Longest buffer name.
pub const MAX_NAME_LEN: usize = 64;
/// Longest kernel name (C++ mangled names can be long).
pub const MAX_KERNEL_NAME_LEN: usize = 1024;
/// Most dynamic shared memory per block (the largest any current GPU offers, 227 KiB); a device
/// that offers less fails the launch, which fails the job.
pub const MAX_SHARED_BYTES: u32 = 232_448;
/// Most threads in one block.
pub const MAX_BLOCK_THREADS: u64 = 1024;

/// The job description a CUDA program's bytes hold, as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CudaProgram {
	/// Always [`PROGRAM_VERSION`].
	pub version: u32,
	/// CUDA C++ source, compiled with NVRTC for the device. Exactly one of `source` and `ptx`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub source: Option<String>,
	/// PTX assembly, loaded (JIT-compiled) by the driver. Exactly one of `source` and `ptx`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub ptx: Option<String>,
	/// The device buffers, in the order that lays out the input and the output.
	pub buffers: Vec<BufferSpec>,
	/// What runs, in order, on one stream.
	pub steps: Vec<StepSpec>,
}

/// One device buffer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferSpec {
	/// Unique within the job: `[A-Za-z0-9_]`, 1 to [`MAX_NAME_LEN`] characters.
	pub name: String,
	/// The element type; only its size matters to the executor, except for GEMM operands.
	pub dtype: Dtype,
	/// Number of elements, at least 1.
	pub elements: u64,
	/// Where its contents come from and whether they are part of the output.
	pub role: Role,
}

/// An element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
	U8,
	I8,
	U16,
	I16,
	F16,
	Bf16,
	U32,
	I32,
	F32,
	U64,
	I64,
	F64,
}

impl Dtype {
	/// Bytes per element.
	pub fn size(self) -> u64 {
		match self {
			Dtype::U8 | Dtype::I8 => 1,
			Dtype::U16 | Dtype::I16 | Dtype::F16 | Dtype::Bf16 => 2,
			Dtype::U32 | Dtype::I32 | Dtype::F32 => 4,
			Dtype::U64 | Dtype::I64 | Dtype::F64 => 8,
		}
	}
}

/// What a buffer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
	/// Filled from the job's input; not part of the output.
	Input,
	/// Zero-filled; copied back as part of the output.
	Output,
	/// Filled from the input and copied back (updated in place).
	Inout,
	/// Zero-filled working memory; not part of the output.
	Scratch,
}

impl Role {
	/// Whether the input fills this buffer.
	pub fn is_input(self) -> bool {
		matches!(self, Role::Input | Role::Inout)
	}

	/// Whether this buffer is part of the output.
	pub fn is_output(self) -> bool {
		matches!(self, Role::Output | Role::Inout)
	}
}

/// One step of the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepSpec {
	/// Launch a kernel of the compiled module.
	Launch(LaunchSpec),
	/// A cuBLAS GEMM.
	Gemm(GemmSpec),
}

/// A kernel launch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchSpec {
	/// The kernel's symbol: its name when declared `extern "C"`, the mangled name otherwise.
	pub kernel: String,
	/// Blocks in the grid, `[x, y, z]`.
	pub grid: [u32; 3],
	/// Threads in a block, `[x, y, z]`.
	pub block: [u32; 3],
	/// Dynamic shared memory per block, in bytes.
	#[serde(default)]
	pub shared_bytes: u32,
	/// The kernel's parameters, in order.
	#[serde(default)]
	pub args: Vec<ArgSpec>,
}

/// One kernel parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArgSpec {
	/// The device address of a buffer (a pointer parameter).
	Buffer(String),
	U32(u32),
	I32(i32),
	U64(u64),
	I64(i64),
	F32(f32),
	F64(f64),
}

/// `C = alpha * op(A) * op(B) + beta * C`, column-major and packed, as `cublas<t>gemm`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GemmSpec {
	/// Buffer holding A: `m × k`, or `k × m` when `transa`.
	pub a: String,
	/// Buffer holding B: `k × n`, or `n × k` when `transb`.
	pub b: String,
	/// Buffer holding C: `m × n`; must be neither A nor B.
	pub c: String,
	pub m: u32,
	pub n: u32,
	pub k: u32,
	#[serde(default = "one")]
	pub alpha: f64,
	#[serde(default)]
	pub beta: f64,
	#[serde(default)]
	pub transa: bool,
	#[serde(default)]
	pub transb: bool,
}

fn one() -> f64 {
	1.0
}

/// Where the kernels come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
	/// CUDA C++ for NVRTC.
	Source(String),
	/// PTX for the driver's JIT.
	Ptx(String),
}

/// A validated buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
	pub name: String,
	pub dtype: Dtype,
	pub elements: u64,
	/// `elements × dtype.size()`.
	pub bytes: u64,
	pub role: Role,
}

/// A scalar kernel parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
	U32(u32),
	I32(i32),
	U64(u64),
	I64(i64),
	F32(f32),
	F64(f64),
}

/// A validated kernel parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg {
	/// Index into [`CudaJob::buffers`].
	Buffer(usize),
	Scalar(Scalar),
}

/// A validated kernel launch.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch {
	pub kernel: String,
	pub grid: (u32, u32, u32),
	pub block: (u32, u32, u32),
	pub shared_bytes: u32,
	pub args: Vec<Arg>,
}

/// A validated GEMM; `a`, `b`, `c` index [`CudaJob::buffers`], all of the same float type.
#[derive(Clone, Debug, PartialEq)]
pub struct Gemm {
	pub a: usize,
	pub b: usize,
	pub c: usize,
	pub dtype: GemmType,
	pub m: i32,
	pub n: i32,
	pub k: i32,
	pub lda: i32,
	pub ldb: i32,
	pub ldc: i32,
	pub alpha: f64,
	pub beta: f64,
	pub transa: bool,
	pub transb: bool,
}

/// The element types cuBLAS GEMM steps take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmType {
	F32,
	F64,
}

/// A validated step.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
	Launch(Launch),
	Gemm(Gemm),
}

/// A CUDA job whose manifest has been checked: every name resolved, every size computed.
#[derive(Clone, Debug, PartialEq)]
pub struct CudaJob {
	pub code: Code,
	pub buffers: Vec<Buffer>,
	pub steps: Vec<Step>,
	/// Sum of all buffers' bytes: the device memory the job allocates.
	pub device_bytes: u64,
	/// Sum of the input buffers' bytes: the exact input length.
	pub input_bytes: u64,
	/// Sum of the output buffers' bytes: the exact output length.
	pub output_bytes: u64,
}

/// Why a CUDA program is refused: what to fix, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CudaProgramError(pub String);

fn bad(msg: impl Into<String>) -> CudaProgramError {
	CudaProgramError(msg.into())
}

fn valid_name(name: &str) -> bool {
	!name.is_empty()
		&& name.len() <= MAX_NAME_LEN
		&& name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn valid_kernel_name(name: &str) -> bool {
	let mut bytes = name.bytes();
	let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'$');
	first_ok
		&& name.len() <= MAX_KERNEL_NAME_LEN
		&& bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
}

/// Identifiers that could pull a host file into an NVRTC compilation (whose log is reported
/// back). Rejecting the identifiers themselves, after line splicing, catches every spelling of
/// the directives (`#  include`, `%:include`, `# /**/ include`, `#\<newline>include`).
const FORBIDDEN_IDENTIFIERS: [&str; 7] = [
	"include",
	"include_next",
	"import",
	"embed",
	"__has_include",
	"__has_include_next",
	"__has_embed",
];

/// The first forbidden identifier in CUDA C++ `source`, if any.
pub fn forbidden_identifier(source: &str) -> Option<&'static str> {
	// Translation phases 1–2: `??/` is a backslash; backslash-newline joins lines.
	let spliced =
		source.replace("??/", "\\").replace("\\\r\n", "").replace("\\\n", "").replace("\\\r", "");
	spliced
		.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
		.find_map(|word| FORBIDDEN_IDENTIFIERS.iter().copied().find(|f| *f == word))
}

impl CudaJob {
	/// Parses and checks a CUDA program: everything that does not depend on the job's limits
	/// or input.
	pub fn check(program: &[u8]) -> Result<Self, CudaProgramError> {
		let manifest: CudaProgram = serde_json::from_slice(program)
			.map_err(|e| bad(format!("the CUDA job manifest is not valid: {e}")))?;
		Self::from_program(manifest)
	}

	/// Checks a parsed CUDA program.
	pub fn from_program(manifest: CudaProgram) -> Result<Self, CudaProgramError> {
		if manifest.version != PROGRAM_VERSION {
			return Err(bad(format!(
				"CUDA job manifest version {} is not supported (this worker runs version \
				 {PROGRAM_VERSION})",
				manifest.version
			)));
		}
		let code = match (manifest.source, manifest.ptx) {
			(Some(source), None) => {
				if let Some(word) = forbidden_identifier(&source) {
					return Err(bad(format!(
						"the source uses `{word}`: jobs must be a single self-contained source \
						 (no file inclusion)"
					)));
				}
				Code::Source(source)
			},
			(None, Some(ptx)) => Code::Ptx(ptx),
			_ => return Err(bad("the manifest must have exactly one of `source` and `ptx`")),
		};
		let text = match &code {
			Code::Source(s) | Code::Ptx(s) => s,
		};
		if text.trim().is_empty() {
			return Err(bad("the kernel code is empty"));
		}
		if text.contains('\0') {
			return Err(bad("the kernel code contains a NUL character"));
		}

		if manifest.buffers.is_empty() {
			return Err(bad("the job declares no buffers"));
		}
		if manifest.buffers.len() > MAX_BUFFERS {
			return Err(bad(format!("the job declares more than {MAX_BUFFERS} buffers")));
		}
		let mut buffers: Vec<Buffer> = Vec::with_capacity(manifest.buffers.len());
		for spec in manifest.buffers {
			if !valid_name(&spec.name) {
				return Err(bad(format!(
					"buffer name `{}` is not 1 to {MAX_NAME_LEN} characters of [A-Za-z0-9_]",
					spec.name
				)));
			}
			if buffers.iter().any(|b| b.name == spec.name) {
				return Err(bad(format!("buffer `{}` is declared twice", spec.name)));
			}
			if spec.elements == 0 {
				return Err(bad(format!("buffer `{}` has no elements", spec.name)));
			}
			// Overflow here is a size no device has: the memory check below reports it.
			let bytes = spec.elements.saturating_mul(spec.dtype.size());
			buffers.push(Buffer {
				name: spec.name,
				dtype: spec.dtype,
				elements: spec.elements,
				bytes,
				role: spec.role,
			});
		}

		if manifest.steps.is_empty() {
			return Err(bad("the job has no steps"));
		}
		if manifest.steps.len() > MAX_STEPS {
			return Err(bad(format!("the job has more than {MAX_STEPS} steps")));
		}
		let find = |name: &str, step: usize| -> Result<usize, CudaProgramError> {
			buffers
				.iter()
				.position(|b| b.name == name)
				.ok_or_else(|| bad(format!("step {step} names an unknown buffer `{name}`")))
		};
		let mut steps = Vec::with_capacity(manifest.steps.len());
		for (index, spec) in manifest.steps.into_iter().enumerate() {
			let step = match spec {
				StepSpec::Launch(launch) => Step::Launch(check_launch(launch, index, &find)?),
				StepSpec::Gemm(gemm) => Step::Gemm(check_gemm(&gemm, index, &find, &buffers)?),
			};
			steps.push(step);
		}

		let sum = |pick: fn(&Buffer) -> bool| {
			buffers.iter().filter(|b| pick(b)).fold(0u64, |acc, b| acc.saturating_add(b.bytes))
		};
		let device_bytes = sum(|_| true);
		let input_bytes = sum(|b| b.role.is_input());
		let output_bytes = sum(|b| b.role.is_output());
		Ok(Self { code, buffers, steps, device_bytes, input_bytes, output_bytes })
	}

	/// Whether any step is a cuBLAS GEMM (the job then needs cuBLAS).
	pub fn uses_cublas(&self) -> bool {
		self.steps.iter().any(|s| matches!(s, Step::Gemm(_)))
	}

	/// The distinct kernel names the launches use, in first-use order.
	pub fn kernels(&self) -> Vec<&str> {
		let mut names: Vec<&str> = Vec::new();
		for step in &self.steps {
			if let Step::Launch(launch) = step {
				if !names.contains(&launch.kernel.as_str()) {
					names.push(&launch.kernel);
				}
			}
		}
		names
	}
}

fn check_launch(
	spec: LaunchSpec,
	step: usize,
	find: &impl Fn(&str, usize) -> Result<usize, CudaProgramError>,
) -> Result<Launch, CudaProgramError> {
	if !valid_kernel_name(&spec.kernel) {
		return Err(bad(format!("step {step}: `{}` is not a valid kernel name", spec.kernel)));
	}
	let [gx, gy, gz] = spec.grid;
	let [bx, by, bz] = spec.block;
	if gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 {
		return Err(bad(format!("step {step}: grid and block dimensions must be at least 1")));
	}
	if gx > i32::MAX as u32 || gy > 65_535 || gz > 65_535 {
		return Err(bad(format!(
			"step {step}: the grid is at most [2147483647, 65535, 65535] blocks"
		)));
	}
	let threads = u64::from(bx).saturating_mul(u64::from(by)).saturating_mul(u64::from(bz));
	if bx > 1024 || by > 1024 || bz > 64 || threads > MAX_BLOCK_THREADS {
		return Err(bad(format!(
			"step {step}: a block is at most [1024, 1024, 64] and {MAX_BLOCK_THREADS} threads"
		)));
	}
	if spec.shared_bytes > MAX_SHARED_BYTES {
		return Err(bad(format!(
			"step {step}: at most {MAX_SHARED_BYTES} bytes of dynamic shared memory per block"
		)));
	}
	if spec.args.len() > MAX_ARGS {
		return Err(bad(format!("step {step}: more than {MAX_ARGS} kernel arguments")));
	}
	let args = spec
		.args
		.into_iter()
		.map(|arg| {
			Ok(match arg {
				ArgSpec::Buffer(name) => Arg::Buffer(find(&name, step)?),
				ArgSpec::U32(v) => Arg::Scalar(Scalar::U32(v)),
				ArgSpec::I32(v) => Arg::Scalar(Scalar::I32(v)),
				ArgSpec::U64(v) => Arg::Scalar(Scalar::U64(v)),
				ArgSpec::I64(v) => Arg::Scalar(Scalar::I64(v)),
				ArgSpec::F32(v) => Arg::Scalar(Scalar::F32(v)),
				ArgSpec::F64(v) => Arg::Scalar(Scalar::F64(v)),
			})
		})
		.collect::<Result<Vec<_>, CudaProgramError>>()?;
	Ok(Launch {
		kernel: spec.kernel,
		grid: (gx, gy, gz),
		block: (bx, by, bz),
		shared_bytes: spec.shared_bytes,
		args,
	})
}

fn check_gemm(
	spec: &GemmSpec,
	step: usize,
	find: &impl Fn(&str, usize) -> Result<usize, CudaProgramError>,
	buffers: &[Buffer],
) -> Result<Gemm, CudaProgramError> {
	let (a, b, c) = (find(&spec.a, step)?, find(&spec.b, step)?, find(&spec.c, step)?);
	if c == a || c == b {
		return Err(bad(format!("step {step}: the GEMM's C must be neither A nor B")));
	}
	let dtype_of = |i: usize| buffers.get(i).map(|buf| buf.dtype);
	let dtype = match (dtype_of(a), dtype_of(b), dtype_of(c)) {
		(Some(Dtype::F32), Some(Dtype::F32), Some(Dtype::F32)) => GemmType::F32,
		(Some(Dtype::F64), Some(Dtype::F64), Some(Dtype::F64)) => GemmType::F64,
		_ => return Err(bad(format!("step {step}: GEMM operands must all be f32 or all f64"))),
	};
	let dim = |v: u32, what: &str| -> Result<i32, CudaProgramError> {
		i32::try_from(v)
			.ok()
			.filter(|v| *v > 0)
			.ok_or_else(|| bad(format!("step {step}: GEMM {what} must be 1 to 2147483647")))
	};
	let (m, n, k) = (dim(spec.m, "m")?, dim(spec.n, "n")?, dim(spec.k, "k")?);
	// Packed column-major: the leading dimension is the stored matrix's row count.
	let lda = if spec.transa { k } else { m };
	let ldb = if spec.transb { n } else { k };
	let ldc = m;
	let need = |buffer: usize, rows: u32, cols: u32, what: &str| -> Result<(), CudaProgramError> {
		let elements = u64::from(rows).saturating_mul(u64::from(cols));
		let have = buffers.get(buffer).map_or(0, |buf| buf.elements);
		if have < elements {
			return Err(bad(format!(
				"step {step}: GEMM {what} needs {rows}×{cols} = {elements} elements; its buffer \
				 has {have}"
			)));
		}
		Ok(())
	};
	if spec.transa {
		need(a, spec.k, spec.m, "A")?;
	} else {
		need(a, spec.m, spec.k, "A")?;
	}
	if spec.transb {
		need(b, spec.n, spec.k, "B")?;
	} else {
		need(b, spec.k, spec.n, "B")?;
	}
	need(c, spec.m, spec.n, "C")?;
	if !spec.alpha.is_finite() || !spec.beta.is_finite() {
		return Err(bad(format!("step {step}: GEMM alpha and beta must be finite")));
	}
	Ok(Gemm {
		a,
		b,
		c,
		dtype,
		m,
		n,
		k,
		lda,
		ldb,
		ldc,
		alpha: spec.alpha,
		beta: spec.beta,
		transa: spec.transa,
		transb: spec.transb,
	})
}

//! Programs as the market stores them, checked before they are registered or run.
//!
//! A WASM program is a core module following the job ABI (`docs/job-abi.md`): it may import only
//! the ABI's host functions from [`ABI_MODULE`], and it exports `run: [] -> []` and a 32-bit,
//! unshared `memory`. [`check_wasm`] applies those rules and wasm's own validation with the
//! features the worker's engine accepts, so `stratus program register` refuses what every worker
//! would refuse, with the reason, before a deposit is paid. The worker checks the same table
//! ([`HOST_FUNCTIONS`]) when it compiles a program.

use wasmparser::{ExternalKind, Parser, Payload, TypeRef, ValType, Validator, WasmFeatures};

pub mod cuda;

/// The import module of the job ABI's host functions; a program may import nothing else.
pub const ABI_MODULE: &str = "stratus";
/// The exported function the executor calls: no parameters, no results.
pub const RUN_EXPORT: &str = "run";
/// The exported linear memory the host functions read and write.
pub const MEMORY_EXPORT: &str = "memory";

/// The host functions of the job ABI: name, number of `i32` parameters, number of `i32` results.
pub const HOST_FUNCTIONS: [(&str, usize, usize); 6] = [
	("input_len", 0, 1),
	("input_read", 3, 1),
	("output_write", 2, 1),
	("checkpoint_len", 0, 1),
	("checkpoint_load", 1, 1),
	("checkpoint_save", 2, 1),
];

/// Whether an import of `module`/`name` with these parameter and result types is one of the job
/// ABI's host functions.
pub fn abi_allows(module: &str, name: &str, params: &[ValType], results: &[ValType]) -> bool {
	let Some(&(_, n_params, n_results)) =
		(module == ABI_MODULE).then(|| HOST_FUNCTIONS.iter().find(|(n, ..)| *n == name)).flatten()
	else {
		return false;
	};
	params.len() == n_params
		&& results.len() == n_results
		&& params.iter().chain(results).all(|t| *t == ValType::I32)
}

/// The wasm features a job may use: the WebAssembly 2.0 set, tail calls and extended constant
/// expressions — no threads, relaxed SIMD, memory64, multi-memory, exceptions or GC (the worker's
/// engine is configured the same way, for deterministic results).
pub fn job_features() -> WasmFeatures {
	WasmFeatures::WASM2 | WasmFeatures::TAIL_CALL | WasmFeatures::EXTENDED_CONST
}

/// Bounds on what a program asks of the compiler, so that compiling one costs a worker a bounded
/// time and memory (Cranelift's register allocation grows faster than linearly with the values
/// live across a function). Programs past them are refused by `stratus program register` and by
/// every worker alike.
pub const MAX_FUNCTIONS: usize = 10_000;
/// Locals a function may declare, its parameters included.
pub const MAX_LOCALS: u64 = 1_024;
/// Bytes of one function's body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What compiling a WASM program costs its job, in compute units per byte of the module: charged
/// once per job, before its first instruction (a run resumed from a checkpoint has it counted
/// already), the same on every replica whether or not a worker had the program compiled in its
/// cache. At the unit rate a worker prices its time by (`units_per_second`, half the rate it
/// measures), it pays for the slowest compile per byte measured for modules at the limits above
/// (docs/performance.md, "Compile at the job ABI's structural limits").
pub const COMPILE_UNITS_PER_BYTE: u64 = 4_096;

/// The units compiling a `len`-byte WASM program costs its job ([`COMPILE_UNITS_PER_BYTE`]).
pub fn compile_units(len: usize) -> u64 {
	(len as u64).saturating_mul(COMPILE_UNITS_PER_BYTE)
}

/// Why a program is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProgramError {
	#[error("not a valid WebAssembly module for a job: {0}")]
	Invalid(String),
	#[error(
		"the module imports `{module}`.`{name}`, which workers refuse: a job may import only the \
		 job ABI's functions from \"stratus\" (input_len, input_read, output_write, \
		 checkpoint_len, checkpoint_load, checkpoint_save — see docs/job-abi.md)"
	)]
	ForbiddenImport { module: String, name: String },
	#[error("the module does not follow the job ABI: {0} (see docs/job-abi.md)")]
	BadAbi(String),
	#[error(
		"the module is too costly to compile: {0} (see docs/job-abi.md, \"Limits and units\")"
	)]
	TooComplex(String),
	#[error(
		"it is neither a WASM module nor a CUDA job manifest (JSON): {0} (see docs/job-abi.md)"
	)]
	NotAProgram(String),
	#[error(
		"it is not a CUDA job manifest: it needs \"version\": 1 and a \"source\" or \"ptx\" (see \
		 docs/job-abi.md, \"CUDA jobs\")"
	)]
	NotCudaManifest,
	#[error("its CUDA source does not compile with NVRTC:\n{0}")]
	CudaCompile(String),
	#[error(
		"every worker would refuse this CUDA program: {0} (see docs/job-abi.md, \"CUDA jobs\")"
	)]
	BadCuda(String),
}

/// What a program file holds, once checked as every worker would check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramKind {
	/// A WASM module following the job ABI.
	Wasm,
	/// A CUDA job manifest; `source_unchecked` when it has CUDA source that NVRTC could not
	/// compile here for want of NVRTC (workers compile it for their GPUs).
	Cuda { source_unchecked: bool },
}

/// Checks a program file: a WASM module ([`check_wasm`]) or a CUDA job manifest (every check a
/// worker makes of the program itself, [`cuda::CudaJob::check`], and its source compiled with
/// NVRTC where NVRTC loads, [`check_cuda_source`]).
pub fn check_program(code: &[u8]) -> Result<ProgramKind, ProgramError> {
	if code.starts_with(b"\0asm") {
		return check_wasm(code).map(|()| ProgramKind::Wasm);
	}
	let manifest: serde_json::Value =
		serde_json::from_slice(code).map_err(|e| ProgramError::NotAProgram(e.to_string()))?;
	let has_code = manifest.get("source").is_some() || manifest.get("ptx").is_some();
	if manifest.get("version").and_then(serde_json::Value::as_u64) != Some(1) || !has_code {
		return Err(ProgramError::NotCudaManifest);
	}
	cuda::CudaJob::check(code).map_err(|e| ProgramError::BadCuda(e.0))?;
	let source_unchecked = match manifest.get("source").and_then(serde_json::Value::as_str) {
		None => false,
		Some(source) => match check_cuda_source(source) {
			NvrtcCheck::Compiled => false,
			NvrtcCheck::Unavailable => true,
			NvrtcCheck::Failed(log) => return Err(ProgramError::CudaCompile(log)),
		},
	};
	Ok(ProgramKind::Cuda { source_unchecked })
}

/// Checks a WASM program: valid with the job features, imports only the ABI, exports `run` and
/// `memory` of the right shapes.
pub fn check_wasm(code: &[u8]) -> Result<(), ProgramError> {
	let mut validator = Validator::new_with_features(job_features());
	validator.validate_all(code).map_err(|e| ProgramError::Invalid(e.to_string()))?;
	let mut types: Vec<(Vec<ValType>, Vec<ValType>)> = Vec::new();
	let mut functions: Vec<u32> = Vec::new();
	let mut memories: Vec<wasmparser::MemoryType> = Vec::new();
	let (mut run, mut memory) = (None, None);
	// Defined functions whose bodies are still to come (their types are the last entries of
	// `functions`, after the imported ones).
	let mut defined_left = 0usize;
	let invalid = |e: wasmparser::BinaryReaderError| ProgramError::Invalid(e.to_string());
	for payload in Parser::new(0).parse_all(code) {
		match payload.map_err(invalid)? {
			Payload::TypeSection(reader) => {
				for ty in reader.into_iter_err_on_gc_types() {
					let ty = ty.map_err(invalid)?;
					types.push((ty.params().to_vec(), ty.results().to_vec()));
				}
			},
			Payload::ImportSection(reader) => {
				for import in reader {
					let import = import.map_err(invalid)?;
					let allowed = match import.ty {
						TypeRef::Func(index) => {
							functions.push(index);
							types.get(index as usize).is_some_and(|(params, results)| {
								abi_allows(import.module, import.name, params, results)
							})
						},
						_ => false,
					};
					if !allowed {
						return Err(ProgramError::ForbiddenImport {
							module: import.module.to_owned(),
							name: import.name.to_owned(),
						});
					}
				}
			},
			Payload::FunctionSection(reader) => {
				if reader.count() as usize > MAX_FUNCTIONS {
					return Err(ProgramError::TooComplex(format!(
						"it defines {} functions; at most {MAX_FUNCTIONS}",
						reader.count()
					)));
				}
				for index in reader {
					functions.push(index.map_err(invalid)?);
				}
			},
			Payload::CodeSectionEntry(body) => {
				let size = body.range().len();
				if size > MAX_BODY_BYTES {
					return Err(ProgramError::TooComplex(format!(
						"a function's body is {size} bytes; at most {MAX_BODY_BYTES}"
					)));
				}
				let params = functions
					.get(functions.len().saturating_sub(defined_left))
					.and_then(|ty| types.get(*ty as usize))
					.map_or(0, |(params, _)| params.len() as u64);
				defined_left = defined_left.saturating_sub(1);
				let mut locals = params;
				for group in body.get_locals_reader().map_err(invalid)? {
					let (count, _) = group.map_err(invalid)?;
					locals = locals.saturating_add(u64::from(count));
				}
				if locals > MAX_LOCALS {
					return Err(ProgramError::TooComplex(format!(
						"a function has {locals} locals (parameters included); at most {MAX_LOCALS}"
					)));
				}
			},
			Payload::CodeSectionStart { count, .. } => defined_left = count as usize,
			Payload::MemorySection(reader) => {
				for ty in reader {
					memories.push(ty.map_err(invalid)?);
				}
			},
			Payload::ExportSection(reader) => {
				for export in reader {
					let export = export.map_err(invalid)?;
					match (export.name, export.kind) {
						(RUN_EXPORT, ExternalKind::Func) => run = Some(export.index),
						(RUN_EXPORT, _) => run = Some(u32::MAX),
						(MEMORY_EXPORT, ExternalKind::Memory) => memory = Some(export.index),
						(MEMORY_EXPORT, _) => memory = Some(u32::MAX),
						_ => {},
					}
				}
			},
			_ => {},
		}
	}
	let run_shape = run
		.and_then(|f| functions.get(f as usize))
		.and_then(|ty| types.get(*ty as usize))
		.map(|(params, results)| params.is_empty() && results.is_empty());
	match (run, run_shape) {
		(None, _) => return Err(ProgramError::BadAbi("no exported function `run`".into())),
		(Some(_), Some(true)) => {},
		_ => {
			return Err(ProgramError::BadAbi(
				"the export `run` must be a function without parameters or results".into(),
			))
		},
	}
	match memory.map(|m| memories.get(m as usize)) {
		None => Err(ProgramError::BadAbi("no exported `memory`".into())),
		Some(Some(ty)) if !ty.shared && !ty.memory64 => Ok(()),
		Some(_) => Err(ProgramError::BadAbi(
			"the export `memory` must be a 32-bit, unshared memory defined by the module".into(),
		)),
	}
}

/// What compiling a CUDA program's source with NVRTC on this machine found.
#[derive(Debug, PartialEq, Eq)]
pub enum NvrtcCheck {
	/// It compiled.
	Compiled,
	/// NVRTC cannot be loaded here: nothing was checked.
	Unavailable,
	/// It does not compile: NVRTC's log.
	Failed(String),
}

/// Compiles CUDA C++ `source` with NVRTC when the library can be loaded here (cudarc's dynamic
/// loading; a machine without CUDA answers [`NvrtcCheck::Unavailable`]).
pub fn check_cuda_source(source: &str) -> NvrtcCheck {
	// SAFETY: loading the library runs only its initialisers, as any use of it would.
	if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
		return NvrtcCheck::Unavailable;
	}
	let compiled = std::panic::catch_unwind(|| cudarc::nvrtc::compile_ptx(source));
	match compiled {
		Ok(Ok(_)) => NvrtcCheck::Compiled,
		Ok(Err(cudarc::nvrtc::CompileError::CompileError { log, .. })) => {
			NvrtcCheck::Failed(log.to_string_lossy().trim().to_owned())
		},
		Ok(Err(other)) => NvrtcCheck::Failed(format!("{other:?}")),
		Err(_) => NvrtcCheck::Unavailable,
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
	use super::*;

	const ABI: &str = r#"(import "stratus" "input_len" (func (result i32)))
		(import "stratus" "output_write" (func (param i32 i32) (result i32)))"#;

	fn module(body: &str) -> Vec<u8> {
		wat::parse_str(format!("(module {body})")).unwrap()
	}

	#[test]
	fn cuda_sources_compile_with_nvrtc_where_it_is_there() {
		let good = "extern \"C\" __global__ void k(float *x) { x[threadIdx.x] *= 2.0f; }";
		match check_cuda_source(good) {
			// A machine without CUDA (CI): nothing can be checked, and nothing is claimed.
			NvrtcCheck::Unavailable => {
				assert_eq!(check_cuda_source("not C++"), NvrtcCheck::Unavailable)
			},
			compiled => {
				assert_eq!(compiled, NvrtcCheck::Compiled);
				assert!(matches!(check_cuda_source("__global__ void k( {"), NvrtcCheck::Failed(_)));
			},
		}
	}

	/// `stratus program register` refuses a CUDA program every worker would refuse, with the
	/// worker's reason (`cuda::CudaJob::check`, the one owner of those checks), and passes the
	/// example of docs/job-abi.md.
	#[test]
	fn cuda_programs_are_checked_as_workers_check_them() {
		let example = include_str!("../../../worker/testdata/cuda-vadd-gemm.json");
		let checked = check_program(example.as_bytes());
		assert!(matches!(checked, Ok(ProgramKind::Cuda { .. })), "{checked:?}");
		let program: serde_json::Value = serde_json::from_str(example).unwrap();
		for (pointer, value, why) in [
			("/steps/0/launch/args/0/buffer", serde_json::json!("nope"), "unknown buffer `nope`"),
			("/source", serde_json::json!("#include <stdio.h>\n"), "uses `include`"),
			("/buffers/0/elements", serde_json::json!(0), "has no elements"),
			("/steps/0/launch/block", serde_json::json!([2048, 1, 1]), "a block is at most"),
		] {
			let mut broken = program.clone();
			*broken.pointer_mut(pointer).unwrap() = value;
			match check_program(&serde_json::to_vec(&broken).unwrap()) {
				Err(ProgramError::BadCuda(message)) => assert!(message.contains(why), "{message}"),
				other => panic!("{why}: {other:?}"),
			}
		}
	}

	#[test]
	fn a_program_following_the_abi_passes() {
		let code =
			module(&format!(r#"{ABI} (memory (export "memory") 1) (func (export "run") nop)"#));
		assert_eq!(check_wasm(&code), Ok(()));
	}

	/// The shapes of the compile bombs tried against workers — tens of thousands of functions,
	/// one function with thousands of locals, one huge body — are refused before anything is
	/// compiled; programs at the bounds pass.
	#[test]
	fn programs_too_costly_to_compile_are_refused() {
		let with = |funcs: &str| {
			module(&format!(
				r#"{ABI} (memory (export "memory") 1) (func (export "run") nop) {funcs}"#
			))
		};
		let functions = |n: usize| with(&"(func nop)".repeat(n));
		assert_eq!(check_wasm(&functions(MAX_FUNCTIONS - 1)), Ok(()));
		assert!(matches!(
			check_wasm(&functions(80_000)),
			Err(ProgramError::TooComplex(why)) if why.contains("80001 functions")
		));
		let locals = |params: u64, locals: u64| {
			with(&format!(
				"(func {} {} nop)",
				"(param i64)".repeat(params as usize),
				"(local i64)".repeat(locals as usize)
			))
		};
		assert_eq!(check_wasm(&locals(4, MAX_LOCALS - 4)), Ok(()));
		assert!(matches!(
			check_wasm(&locals(4, MAX_LOCALS - 3)),
			Err(ProgramError::TooComplex(why)) if why.contains("1025 locals")
		));
		assert!(matches!(check_wasm(&locals(0, 5_000)), Err(ProgramError::TooComplex(_))));
		let body = |n: usize| {
			with(&format!("(func {})", "(drop (i64.const 0x7fffffffffffffff))".repeat(n)))
		};
		assert_eq!(check_wasm(&body(1_000)), Ok(()));
		assert!(matches!(
			check_wasm(&body(MAX_BODY_BYTES / 10)),
			Err(ProgramError::TooComplex(why)) if why.contains("body")
		));
	}

	#[test]
	fn forbidden_imports_are_refused_with_their_names() {
		for (import, module_name, name) in [
			(
				r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
				"wasi_snapshot_preview1",
				"fd_write",
			),
			(r#"(import "stratus" "clock_now" (func (result i64)))"#, "stratus", "clock_now"),
			(r#"(import "stratus" "input_len" (func (result i64)))"#, "stratus", "input_len"),
			(r#"(import "stratus" "input_len" (global i32))"#, "stratus", "input_len"),
			(r#"(import "env" "table" (table 1 funcref))"#, "env", "table"),
		] {
			let code = module(&format!(
				r#"{import} (memory (export "memory") 1) (func (export "run") nop)"#
			));
			assert_eq!(
				check_wasm(&code),
				Err(ProgramError::ForbiddenImport {
					module: module_name.into(),
					name: name.into()
				}),
				"{import}"
			);
		}
	}

	#[test]
	fn missing_or_misshapen_exports_and_disabled_features_are_refused() {
		let cases = [
			r#"(memory (export "memory") 1)"#,
			r#"(memory (export "memory") 1) (func (export "run") (param i32))"#,
			r#"(memory (export "memory") 1) (global (export "run") i32 (i32.const 0))"#,
			r#"(func (export "run"))"#,
			r#"(memory (export "memory") 1 1 shared) (func (export "run"))"#,
		];
		for body in cases {
			assert!(
				matches!(
					check_wasm(&module(body)),
					Err(ProgramError::BadAbi(_) | ProgramError::Invalid(_))
				),
				"{body}"
			);
		}
		assert!(matches!(check_wasm(b"\0asm junk"), Err(ProgramError::Invalid(_))));
		assert!(matches!(check_wasm(b"not wasm at all"), Err(ProgramError::Invalid(_))));
	}
}

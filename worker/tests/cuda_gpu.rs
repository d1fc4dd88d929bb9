//! The CUDA executor on a real GPU. Ignored by default (CI has no GPU); on a GPU host run
//! `cargo test -p stratus-worker --test cuda_gpu -- --ignored --test-threads 1`.

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stratus_worker::{
	executor::{
		cuda::{run_job, run_job_report, IsolatedRunner},
		digest, ExecError, Limits,
	},
	host,
};

/// The `docs/job-abi.md` example: a vector add of 1024 floats and a 64×64×64 GEMM.
const EXAMPLE: &str = include_str!("../testdata/cuda-vadd-gemm.json");

/// The example's CUDA source: one `vadd` kernel.
fn vadd() -> String {
	let example: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
	example["source"].as_str().unwrap().to_owned()
}

fn limits() -> Limits {
	Limits {
		max_units: 60_000,
		max_memory_bytes: 1 << 32,
		max_wall: Duration::from_secs(60),
		max_output_bytes: 1 << 30,
	}
}

fn isolated() -> IsolatedRunner {
	IsolatedRunner::with_exe(env!("CARGO_BIN_EXE_stratus-worker"), 0)
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
	let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
	(0..n)
		.map(|_| {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
		})
		.collect()
}

fn le_f32(values: &[f32]) -> Vec<u8> {
	values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn from_le_f32(bytes: &[u8]) -> Vec<f32> {
	bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn from_le_f64(bytes: &[u8]) -> Vec<f64> {
	bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

/// Column-major `alpha · op(A) · op(B) + beta · C` in f64.
#[allow(clippy::too_many_arguments)]
fn gemm_reference(
	a: &[f64],
	b: &[f64],
	c: &[f64],
	(m, n, k): (usize, usize, usize),
	(transa, transb): (bool, bool),
	alpha: f64,
	beta: f64,
) -> Vec<f64> {
	let at = |i: usize, p: usize| if transa { a[p + i * k] } else { a[i + p * m] };
	let bt = |p: usize, j: usize| if transb { b[j + p * n] } else { b[p + j * k] };
	let mut out = vec![0.0; m * n];
	for j in 0..n {
		for i in 0..m {
			let dot: f64 = (0..k).map(|p| at(i, p) * bt(p, j)).sum();
			out[i + j * m] = alpha * dot + beta * c[i + j * m];
		}
	}
	out
}

fn assert_close(got: &[f64], want: &[f64], tolerance: f64) {
	assert_eq!(got.len(), want.len());
	for (i, (g, w)) in got.iter().zip(want).enumerate() {
		assert!((g - w).abs() <= tolerance * (1.0 + w.abs()), "element {i}: {g} vs {w}");
	}
}

fn one_kernel(source: &str, kernel: &str, args: Value) -> Vec<u8> {
	serde_json::to_vec(&json!({
		"version": 1,
		"source": source,
		"buffers": [{"name": "out", "dtype": "u32", "elements": 32, "role": "output"}],
		"steps": [{"launch": {"kernel": kernel, "grid": [1, 1, 1], "block": [32, 1, 1], "args": args}}]
	}))
	.unwrap()
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn gpus_are_detected() {
	let gpus = host::probe_gpus().unwrap();
	assert!(!gpus.is_empty());
	for gpu in &gpus {
		println!("{gpu:?}");
		assert!(!gpu.name.is_empty());
		assert!(gpu.vram_mib > 1024);
		assert!(gpu.compute_major >= 5);
		assert!(gpu.cuda_major >= 11);
	}
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn the_documented_example_computes_a_vector_add_and_a_gemm() {
	let program = EXAMPLE.as_bytes().to_vec();
	let (x, y, a, b) = (values(1024, 1), values(1024, 2), values(4096, 3), values(4096, 4));
	let input = [le_f32(&x), le_f32(&y), le_f32(&a), le_f32(&b)].concat();
	let report = run_job_report(&program, &input, &limits(), 0).unwrap();
	println!("gpu {:.3} ms, compile {:?}, wall {:?}", report.gpu_ms, report.compile, report.wall);
	let output = &report.outcome.output;
	assert_eq!(output.len(), 4096 + 16384);
	let sum = from_le_f32(&output[..4096]);
	for i in 0..1024 {
		assert_eq!(sum[i], x[i] + y[i]);
	}
	let c: Vec<f64> = from_le_f32(&output[4096..]).into_iter().map(f64::from).collect();
	let widen = |v: &[f32]| v.iter().map(|v| f64::from(*v)).collect::<Vec<_>>();
	let want = gemm_reference(
		&widen(&a),
		&widen(&b),
		&[0.0; 4096],
		(64, 64, 64),
		(false, false),
		1.0,
		0.0,
	);
	assert_close(&c, &want, 1e-4);
	assert!(report.outcome.units >= 1);
	assert_eq!(report.outcome.digest, digest(output));

	// The same job in a child process gives the same bytes.
	let isolated = isolated().run(&program, &input, &limits()).unwrap();
	assert_eq!(isolated.outcome.digest, report.outcome.digest);
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn f64_gemms_with_transposes_alpha_and_beta_match_the_reference() {
	let (m, n, k) = (37usize, 19usize, 23usize);
	let (a, b, c0) = (values(m * k, 5), values(k * n, 6), values(m * n, 7));
	let widen = |v: &[f32]| v.iter().map(|v| f64::from(*v)).collect::<Vec<_>>();
	let (a, b, c0) = (widen(&a), widen(&b), widen(&c0));
	let le = |v: &[f64]| v.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
	for (transa, transb) in [(false, false), (true, false), (false, true), (true, true)] {
		let program = serde_json::to_vec(&json!({
			"version": 1,
			"ptx": "// GEMM only: the code is not loaded\n",
			"buffers": [
				{"name": "a", "dtype": "f64", "elements": m * k, "role": "input"},
				{"name": "b", "dtype": "f64", "elements": k * n, "role": "input"},
				{"name": "c", "dtype": "f64", "elements": m * n, "role": "inout"}
			],
			"steps": [{"gemm": {"a": "a", "b": "b", "c": "c", "m": m, "n": n, "k": k,
				"alpha": 0.5, "beta": -2.0, "transa": transa, "transb": transb}}]
		}))
		.unwrap();
		let input = [le(&a), le(&b), le(&c0)].concat();
		let output = run_job(&program, &input, &limits(), 0).unwrap().output;
		let want = gemm_reference(&a, &b, &c0, (m, n, k), (transa, transb), 0.5, -2.0);
		assert_close(&from_le_f64(&output), &want, 1e-12);
	}
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn ptx_jobs_run() {
	let source =
		"extern \"C\" __global__ void iota(unsigned *out, unsigned base) { out[threadIdx.x] \
	              = base + threadIdx.x; }";
	let ptx = cudarc::nvrtc::compile_ptx(source).unwrap().to_src();
	let program = serde_json::to_vec(&json!({
		"version": 1,
		"ptx": ptx,
		"buffers": [{"name": "out", "dtype": "u32", "elements": 32, "role": "output"}],
		"steps": [{"launch": {"kernel": "iota", "grid": [1, 1, 1], "block": [32, 1, 1],
			"args": [{"buffer": "out"}, {"u32": 100}]}}]
	}))
	.unwrap();
	let output = run_job(&program, &[], &limits(), 0).unwrap().output;
	let expected: Vec<u8> = (100u32..132).flat_map(u32::to_le_bytes).collect();
	assert_eq!(output, expected);
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn large_dynamic_shared_memory_is_granted() {
	let source = "extern \"C\" __global__ void big(unsigned *out, unsigned words) {\n\textern \
	              __shared__ unsigned scratch[];\n\tfor (unsigned i = threadIdx.x; i < words; i += \
	              blockDim.x) scratch[i] = i;\n\t__syncthreads();\n\tout[threadIdx.x] = \
	              scratch[words - 1 - threadIdx.x];\n}";
	let words = 96 * 1024 / 4;
	let mut program: Value = serde_json::from_slice(&one_kernel(
		source,
		"big",
		json!([{"buffer": "out"}, {"u32": words}]),
	))
	.unwrap();
	program["steps"][0]["launch"]["shared_bytes"] = json!(96 * 1024);
	let output = run_job(&serde_json::to_vec(&program).unwrap(), &[], &limits(), 0).unwrap().output;
	let expected: Vec<u8> = (0u32..32).flat_map(|t| (words - 1 - t).to_le_bytes()).collect();
	assert_eq!(output, expected);
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn compile_errors_and_missing_kernels_are_compile_errors() {
	let broken =
		one_kernel("extern \"C\" __global__ void k(unsigned *out) { oops }", "k", json!([]));
	let Err(ExecError::Compile(log)) = run_job(&broken, &[], &limits(), 0) else { panic!() };
	assert!(log.contains("oops"), "{log}");
	let missing = one_kernel(&vadd(), "nope", json!([]));
	assert!(matches!(run_job(&missing, &[], &limits(), 0), Err(ExecError::Compile(_))));
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn a_faulting_kernel_is_a_trap_and_the_worker_survives() {
	let source =
		"extern \"C\" __global__ void wild(unsigned *out) { *(volatile unsigned *)8 = 1; }";
	let program = one_kernel(source, "wild", json!([{"buffer": "out"}]));
	let result = isolated().run(&program, &[], &limits());
	assert!(matches!(result, Err(ExecError::Trap(_))), "{result:?}");
	// And the next job runs normally.
	let ok = one_kernel(
		"extern \"C\" __global__ void k(unsigned *out) { out[threadIdx.x] = 7; }",
		"k",
		json!([{"buffer": "out"}]),
	);
	assert!(isolated().run(&ok, &[], &limits()).is_ok());
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn a_kernel_that_never_ends_is_a_timeout() {
	let source = "extern \"C\" __global__ void spin(unsigned *out) { volatile unsigned go = 1; \
	              while (go) {} out[0] = 1; }";
	let program = one_kernel(source, "spin", json!([{"buffer": "out"}]));
	let limits = Limits { max_wall: Duration::from_secs(3), max_units: u64::MAX, ..limits() };
	let started = Instant::now();
	let result = isolated().run(&program, &[], &limits);
	assert_eq!(result, Err(ExecError::Timeout(Duration::from_secs(3))));
	assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn a_kernel_past_its_units_stops_early_as_out_of_units() {
	let source =
		"extern \"C\" __global__ void busy(unsigned *out, unsigned long long cycles) { long \
	              long t0 = clock64(); while (clock64() - t0 < (long long)cycles) {} out[0] = 1; }";
	// ~10 s of spinning at ~2 GHz against 100 units (ms).
	let program =
		one_kernel(source, "busy", json!([{"buffer": "out"}, {"u64": 20_000_000_000u64}]));
	let limits = Limits { max_units: 100, max_wall: Duration::from_secs(60), ..limits() };
	let started = Instant::now();
	let result = isolated().run(&program, &[], &limits);
	assert_eq!(result, Err(ExecError::OutOfUnits(100)));
	assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
}

//! CUDA executor figures: SGEMM throughput through a job vs cuBLAS called directly, in the same
//! run, and the per-job overhead in process and in a child process.
//!
//! `cargo bench -p stratus-worker --bench cuda_gemm`. Without a GPU it prints "no GPU: skipped".

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use std::time::{Duration, Instant};

use cudarc::{
	cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig},
	driver::{sys::CUevent_flags, CudaContext},
};
use serde_json::json;
use stratus_worker::{
	executor::{
		cuda::{run_job_report, IsolatedRunner},
		Limits,
	},
	host,
};

/// GEMMs per measurement.
const REPEATS: u32 = 10;

fn limits() -> Limits {
	Limits {
		max_units: u64::MAX,
		max_memory_bytes: u64::MAX,
		max_wall: Duration::from_secs(300),
		max_output_bytes: u64::MAX,
	}
}

fn tflops(n: u64, repeats: u32, ms: f64) -> f64 {
	2.0 * (n * n * n) as f64 * f64::from(repeats) / (ms / 1e3) / 1e12
}

fn gemm_job(n: u64, repeats: u32) -> Vec<u8> {
	let steps: Vec<_> = (0..repeats)
		.map(|_| json!({"gemm": {"a": "a", "b": "b", "c": "c", "m": n, "n": n, "k": n}}))
		.collect();
	serde_json::to_vec(&json!({
		"version": 1,
		"ptx": "// GEMM only\n",
		"buffers": [
			{"name": "a", "dtype": "f32", "elements": n * n, "role": "input"},
			{"name": "b", "dtype": "f32", "elements": n * n, "role": "input"},
			{"name": "c", "dtype": "f32", "elements": n * n, "role": "output"}
		],
		"steps": steps
	}))
	.unwrap()
}

fn input(n: u64) -> Vec<u8> {
	let mut state = 0x2545_F491_4F6C_DD1Du64;
	(0..2 * n * n)
		.flat_map(|_| {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			(((state >> 40) as f32 / 16_777_216.0) - 0.5).to_le_bytes()
		})
		.collect()
}

/// Milliseconds for `repeats` SGEMMs of size `n` with cuBLAS directly, timed by CUDA events.
fn direct_ms(ctx: &std::sync::Arc<CudaContext>, n: u64, repeats: u32) -> f64 {
	let stream = ctx.new_stream().unwrap();
	let blas = CudaBlas::new(stream.clone()).unwrap();
	let len = (n * n) as usize;
	let a = stream.alloc_zeros::<f32>(len).unwrap();
	let b = stream.alloc_zeros::<f32>(len).unwrap();
	let mut c = stream.alloc_zeros::<f32>(len).unwrap();
	let n = n as i32;
	let config = GemmConfig {
		transa: cublasOperation_t::CUBLAS_OP_N,
		transb: cublasOperation_t::CUBLAS_OP_N,
		m: n,
		n,
		k: n,
		alpha: 1.0f32,
		lda: n,
		ldb: n,
		beta: 0.0f32,
		ldc: n,
	};
	// Warm up (cuBLAS picks and loads its kernel), then measure.
	unsafe { blas.gemm(config, &a, &b, &mut c) }.unwrap();
	let start = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).unwrap();
	let end = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).unwrap();
	start.record(&stream).unwrap();
	for _ in 0..repeats {
		unsafe { blas.gemm(config, &a, &b, &mut c) }.unwrap();
	}
	end.record(&stream).unwrap();
	f64::from(start.elapsed_ms(&end).unwrap())
}

fn main() {
	let gpus = host::detect_gpus();
	let Some(gpu) = gpus.first() else {
		println!("no GPU: skipped");
		return;
	};
	println!(
		"GPU 0: {} ({} MiB, sm_{}{}, CUDA {}.{}, driver {})",
		gpu.name,
		gpu.vram_mib,
		gpu.compute_major,
		gpu.compute_minor,
		gpu.cuda_major,
		gpu.cuda_minor,
		gpu.driver_version.as_deref().unwrap_or("?")
	);
	// Holding the primary context keeps it alive between in-process jobs, as a long-lived
	// process would; the child-process figures below include creating it.
	let ctx = CudaContext::new(0).unwrap();

	println!("\nSGEMM, {REPEATS} per measurement (TFLOP/s; job = GPU time by the job's events)");
	println!(
		"{:>6} {:>10} {:>10} {:>7} {:>10} {:>10}",
		"n", "job", "cuBLAS", "ratio", "job ms", "units"
	);
	for n in [1024u64, 2048, 4096, 8192] {
		let program = gemm_job(n, REPEATS);
		let input = input(n);
		// First run warms cuBLAS's kernels for this shape in this process.
		run_job_report(&program, &input, &limits(), 0).unwrap();
		let report = run_job_report(&program, &input, &limits(), 0).unwrap();
		let job = tflops(n, REPEATS, report.gpu_ms);
		let direct = tflops(n, REPEATS, direct_ms(&ctx, n, REPEATS));
		println!(
			"{n:>6} {job:>10.2} {direct:>10.2} {:>7.3} {:>10.3} {:>10}",
			job / direct,
			report.gpu_ms,
			report.outcome.units
		);
	}

	let tiny = serde_json::to_vec(&json!({
		"version": 1,
		"source": "extern \"C\" __global__ void one(unsigned *out) { out[0] = 1; }",
		"buffers": [{"name": "out", "dtype": "u32", "elements": 1, "role": "output"}],
		"steps": [{"launch": {"kernel": "one", "grid": [1, 1, 1], "block": [1, 1, 1],
			"args": [{"buffer": "out"}]}}]
	}))
	.unwrap();
	let runs = 10u32;
	println!("\nPer-job overhead, a one-thread kernel, mean of {runs}");
	let mut compile = Duration::ZERO;
	let started = Instant::now();
	for _ in 0..runs {
		compile += run_job_report(&tiny, &[], &limits(), 0).unwrap().compile;
	}
	let in_process = started.elapsed() / runs;
	println!(
		"  in process (context kept):  {in_process:?} (of which NVRTC + load {:?})",
		compile / runs
	);
	let runner = IsolatedRunner::with_exe(env!("CARGO_BIN_EXE_stratus-worker"), 0);
	let started = Instant::now();
	for _ in 0..runs {
		runner.run(&tiny, &[], &limits()).unwrap();
	}
	println!("  child process (full cost):  {:?}", started.elapsed() / runs);
	drop(ctx);
}

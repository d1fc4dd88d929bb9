//! The CUDA executor's isolating runner against the real `stratus-worker` binary: the job goes
//! to a child process (`stratus-worker __cuda-job`) and its result comes back. These run on any
//! host; on one without CUDA a valid job comes back `Unavailable`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use serde_json::json;
use stratus_worker::executor::{
	cuda::{driver_present, IsolatedRunner},
	ExecError, Limits,
};

fn runner() -> IsolatedRunner {
	IsolatedRunner::with_exe(env!("CARGO_BIN_EXE_stratus-worker"), 0)
}

fn limits() -> Limits {
	Limits {
		max_units: 1_000,
		max_memory_bytes: 1 << 20,
		max_wall: Duration::from_secs(30),
		max_output_bytes: 1 << 16,
	}
}

fn job() -> Vec<u8> {
	serde_json::to_vec(&json!({
		"version": 1,
		"source": "extern \"C\" __global__ void fill(unsigned *out) { out[threadIdx.x] = threadIdx.x; }",
		"buffers": [
			{"name": "seed", "dtype": "u32", "elements": 1, "role": "input"},
			{"name": "out", "dtype": "u32", "elements": 32, "role": "output"}
		],
		"steps": [{"launch": {"kernel": "fill", "grid": [1, 1, 1], "block": [32, 1, 1],
			"args": [{"buffer": "out"}]}}]
	}))
	.unwrap()
}

#[test]
fn a_malformed_manifest_comes_back_as_a_compile_error() {
	let result = runner().run(b"{\"version\": 1}", &[], &limits());
	assert!(matches!(result, Err(ExecError::Compile(_))), "{result:?}");
}

#[test]
fn a_short_input_comes_back_as_bad_input() {
	let result = runner().run(&job(), &[1, 2], &limits());
	assert!(matches!(result, Err(ExecError::BadInput(_))), "{result:?}");
}

#[test]
fn an_output_over_the_cap_comes_back_as_too_large() {
	let limits = Limits { max_output_bytes: 100, ..limits() };
	let result = runner().run(&job(), &[0; 4], &limits);
	assert_eq!(result, Err(ExecError::OutputTooLarge { size: 128, max: 100 }));
}

#[test]
fn a_valid_job_runs_or_is_unavailable() {
	let result = runner().run(&job(), &[0; 4], &limits());
	if driver_present() {
		// A CUDA host (possibly without a usable GPU): the `cuda_gpu` tests check results.
		if let Ok(report) = result {
			let expected: Vec<u8> = (0u32..32).flat_map(u32::to_le_bytes).collect();
			assert_eq!(report.outcome.output, expected);
		}
	} else {
		assert!(matches!(result, Err(ExecError::Unavailable(_))), "{result:?}");
	}
}

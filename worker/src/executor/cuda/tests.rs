//! CPU-side tests of the CUDA executor: manifest checks, input and output layout, caps, and
//! behaviour on a host without CUDA. GPU tests are in `tests/cuda_gpu.rs` (ignored).

#![allow(clippy::arithmetic_side_effects)]

use std::time::Duration;

use serde_json::{json, Value};

use super::*;

/// The `docs/job-abi.md` example: a vector add of 1024 floats and a 64×64×64 GEMM.
const EXAMPLE: &str = include_str!("../../../testdata/cuda-vadd-gemm.json");

fn example() -> Value {
	serde_json::from_str(EXAMPLE).unwrap()
}

/// The example's CUDA source: one `vadd` kernel.
fn vadd() -> String {
	example()["source"].as_str().unwrap().to_owned()
}

fn bytes(value: &Value) -> Vec<u8> {
	serde_json::to_vec(value).unwrap()
}

fn parse(value: &Value) -> Result<CudaJob, ExecError> {
	CudaJob::parse(&bytes(value))
}

fn limits() -> Limits {
	Limits {
		max_units: 10_000,
		max_memory_bytes: 1 << 30,
		max_wall: Duration::from_secs(60),
		max_output_bytes: 1 << 20,
	}
}

/// Asserts `value` fails to parse with a compile error mentioning `needle`.
#[track_caller]
fn rejected(value: &Value, needle: &str) {
	match parse(value) {
		Err(ExecError::Compile(message)) => {
			assert!(message.contains(needle), "`{message}` does not mention `{needle}`")
		},
		other => panic!("expected a compile error about `{needle}`, got {other:?}"),
	}
}

/// `value` with the JSON pointer `pointer` set to `new` (an object's key is added if missing).
fn with(mut value: Value, pointer: &str, new: Value) -> Value {
	let (parent, key) = pointer.rsplit_once('/').unwrap();
	match value.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}")) {
		Value::Object(map) => {
			map.insert(key.to_owned(), new);
		},
		Value::Array(items) => items[key.parse::<usize>().unwrap()] = new,
		other => panic!("{other} is not an object or array"),
	}
	value
}

fn without(mut value: Value, object: &str, key: &str) -> Value {
	value.pointer_mut(object).unwrap().as_object_mut().unwrap().remove(key);
	value
}

#[test]
fn the_example_parses_into_a_resolved_job() {
	let job = parse(&example()).unwrap();
	assert_eq!(job.code, Code::Source(vadd()));
	assert_eq!(job.buffers.len(), 6);
	assert_eq!(job.buffers[4].bytes, 4096);
	assert_eq!(job.device_bytes, 4 * (1024 * 3 + 4096 * 3));
	assert_eq!(job.input_bytes, 4 * (1024 * 2 + 4096 * 2));
	assert_eq!(job.output_bytes, 4 * (1024 + 4096));
	assert_eq!(
		job.steps[0],
		Step::Launch(Launch {
			kernel: "vadd".into(),
			grid: (4, 1, 1),
			block: (256, 1, 1),
			shared_bytes: 0,
			args: vec![
				Arg::Buffer(0),
				Arg::Buffer(1),
				Arg::Buffer(4),
				Arg::Scalar(Scalar::U32(1024))
			],
		})
	);
	assert_eq!(
		job.steps[1],
		Step::Gemm(Gemm {
			a: 2,
			b: 3,
			c: 5,
			dtype: GemmType::F32,
			m: 64,
			n: 64,
			k: 64,
			lda: 64,
			ldb: 64,
			ldc: 64,
			alpha: 1.0,
			beta: 0.0,
			transa: false,
			transb: false,
		})
	);
	assert!(job.uses_cublas());
	assert_eq!(job.kernels(), vec!["vadd"]);
}

#[test]
fn manifests_round_trip_through_serde() {
	let manifest: CudaProgram = serde_json::from_value(example()).unwrap();
	let again: CudaProgram =
		serde_json::from_slice(&serde_json::to_vec(&manifest).unwrap()).unwrap();
	assert_eq!(manifest, again);
	assert_eq!(CudaJob::from_manifest(manifest).unwrap(), parse(&example()).unwrap());
}

#[test]
fn ptx_jobs_and_every_scalar_argument_parse() {
	let value = json!({
		"version": 1,
		"ptx": ".version 7.0\n.target sm_50\n.address_size 64\n",
		"buffers": [{"name": "out", "dtype": "u8", "elements": 1, "role": "output"}],
		"steps": [{"launch": {"kernel": "_Z1kPf", "grid": [1, 1, 1], "block": [1, 1, 1],
			"shared_bytes": 65536, "args": [
				{"buffer": "out"}, {"u32": 4294967295u32}, {"i32": -1}, {"u64": 18446744073709551615u64},
				{"i64": -9}, {"f32": 0.5}, {"f64": -2.25}
			]}}]
	});
	let job = parse(&value).unwrap();
	assert!(matches!(job.code, Code::Ptx(_)));
	assert!(!job.uses_cublas());
	let Step::Launch(launch) = &job.steps[0] else { panic!() };
	assert_eq!(launch.shared_bytes, 65536);
	assert_eq!(
		launch.args,
		vec![
			Arg::Buffer(0),
			Arg::Scalar(Scalar::U32(u32::MAX)),
			Arg::Scalar(Scalar::I32(-1)),
			Arg::Scalar(Scalar::U64(u64::MAX)),
			Arg::Scalar(Scalar::I64(-9)),
			Arg::Scalar(Scalar::F32(0.5)),
			Arg::Scalar(Scalar::F64(-2.25))
		]
	);
}

#[test]
fn malformed_manifests_are_compile_errors() {
	assert!(matches!(CudaJob::parse(b"not json"), Err(ExecError::Compile(_))));
	assert!(matches!(CudaJob::parse(b""), Err(ExecError::Compile(_))));
	rejected(&with(example(), "/extra", json!(1)), "unknown field");
	rejected(&with(example(), "/buffers/0/colour", json!("red")), "unknown field");
	rejected(&with(example(), "/version", json!(2)), "version 2");
	rejected(&with(example(), "/buffers/0/dtype", json!("f128")), "f128");
	rejected(&with(example(), "/buffers/0/role", json!("both")), "both");
	rejected(&with(example(), "/buffers/0/elements", json!(-1)), "invalid value");
	rejected(&with(example(), "/steps/0/launch/args/3", json!({"u32": -1})), "invalid value");
	rejected(&with(example(), "/steps/0/launch/args/3", json!({"f16": 1})), "f16");
	rejected(&with(example(), "/steps/0", json!({"sleep": {}})), "sleep");
	rejected(&with(example(), "/steps/0/launch/grid", json!([1, 1])), "invalid length");
}

#[test]
fn the_code_must_be_exactly_one_non_empty_source_or_ptx() {
	rejected(&with(example(), "/ptx", json!(".version 7.0")), "exactly one");
	rejected(&without(example(), "", "source"), "exactly one");
	rejected(&with(example(), "/source", json!(" \n\t")), "empty");
	rejected(&with(example(), "/source", json!("__global__ void k() {}\u{0}")), "NUL");
	let ptx = with(without(example(), "", "source"), "/ptx", json!(".entry k\u{0}"));
	rejected(&ptx, "NUL");
}

#[test]
fn sources_may_not_include_files() {
	for source in [
		"#include \"/etc/passwd\"\n",
		"  #  include <cuda_fp16.h>\n",
		"%:include \"x\"\n",
		"# /* hidden */ include \"x\"\n",
		"#inc\\\nlude \"x\"\n",
		"#inc\\\r\nlude \"x\"\n",
		"#inc??/\nlude \"x\"\n",
		"#if __has_include(\"x\")\n#endif\n",
		"#include_next <x>\n",
		"#import \"x\"\n",
		"#embed \"x\"\n",
	] {
		let value = with(example(), "/source", json!(format!("{source}{}", vadd())));
		rejected(&value, "self-contained");
	}
	assert_eq!(forbidden_identifier(&vadd()), None);
	assert_eq!(forbidden_identifier("int included = 1; int include_ = 2;"), None);
	assert_eq!(forbidden_identifier("#define X 1 // include"), Some("include"));
}

#[test]
fn buffers_are_checked() {
	rejected(&with(example(), "/buffers", json!([])), "no buffers");
	let many: Vec<Value> = (0..=MAX_BUFFERS)
		.map(|i| json!({"name": format!("b{i}"), "dtype": "u8", "elements": 1, "role": "scratch"}))
		.collect();
	rejected(&with(example(), "/buffers", Value::Array(many)), "more than 256 buffers");
	rejected(&with(example(), "/buffers/0/name", json!("")), "is not 1 to 64");
	rejected(&with(example(), "/buffers/0/name", json!("a-b")), "is not 1 to 64");
	rejected(&with(example(), "/buffers/0/name", json!("x".repeat(65))), "is not 1 to 64");
	rejected(&with(example(), "/buffers/1/name", json!("x")), "declared twice");
	rejected(&with(example(), "/buffers/0/elements", json!(0)), "no elements");
}

#[test]
fn steps_are_checked() {
	rejected(&with(example(), "/steps", json!([])), "no steps");
	let step = example()["steps"][0].clone();
	let many = Value::Array(vec![step; MAX_STEPS + 1]);
	rejected(&with(example(), "/steps", many), "more than 4096 steps");
	rejected(
		&with(example(), "/steps/0/launch/args/0", json!({"buffer": "nope"})),
		"unknown buffer `nope`",
	);
	rejected(&with(example(), "/steps/0/launch/kernel", json!("")), "not a valid kernel name");
	rejected(&with(example(), "/steps/0/launch/kernel", json!("9k")), "not a valid kernel name");
	rejected(&with(example(), "/steps/0/launch/kernel", json!("k()")), "not a valid kernel name");
	let args = Value::Array(vec![json!({"u32": 1}); MAX_ARGS + 1]);
	rejected(&with(example(), "/steps/0/launch/args", args), "more than 256 kernel arguments");
}

#[test]
fn launch_bounds_are_checked() {
	let launch = |grid: Value, block: Value| {
		with(with(example(), "/steps/0/launch/grid", grid), "/steps/0/launch/block", block)
	};
	assert!(parse(&launch(json!([2147483647, 65535, 65535]), json!([1024, 1, 1]))).is_ok());
	assert!(parse(&launch(json!([1, 1, 1]), json!([16, 16, 4]))).is_ok());
	rejected(&launch(json!([0, 1, 1]), json!([1, 1, 1])), "at least 1");
	rejected(&launch(json!([1, 1, 1]), json!([1, 0, 1])), "at least 1");
	rejected(&launch(json!([2147483648u32, 1, 1]), json!([1, 1, 1])), "the grid is at most");
	rejected(&launch(json!([1, 65536, 1]), json!([1, 1, 1])), "the grid is at most");
	rejected(&launch(json!([1, 1, 65536]), json!([1, 1, 1])), "the grid is at most");
	rejected(&launch(json!([1, 1, 1]), json!([1025, 1, 1])), "a block is at most");
	rejected(&launch(json!([1, 1, 1]), json!([1, 1, 65])), "a block is at most");
	rejected(&launch(json!([1, 1, 1]), json!([32, 32, 2])), "a block is at most");
	let shared = |bytes: u32| with(example(), "/steps/0/launch/shared_bytes", json!(bytes));
	assert!(parse(&shared(MAX_SHARED_BYTES)).is_ok());
	rejected(&shared(MAX_SHARED_BYTES + 1), "shared memory");
}

#[test]
fn gemms_are_checked() {
	let gemm = |key: &str, value: Value| with(example(), &format!("/steps/1/gemm/{key}"), value);
	rejected(&gemm("a", json!("nope")), "unknown buffer `nope`");
	rejected(&gemm("c", json!("a")), "neither A nor B");
	rejected(&gemm("c", json!("b")), "neither A nor B");
	rejected(&gemm("m", json!(0)), "GEMM m must be");
	rejected(&gemm("k", json!(2147483648u32)), "GEMM k must be");
	// A is 4096 elements: 64×64 fits, 65×64 does not.
	rejected(&gemm("m", json!(65)), "GEMM A needs 65×64");
	rejected(&gemm("n", json!(65)), "GEMM B needs 64×65");
	rejected(&gemm("k", json!(65)), "GEMM A needs 64×65");
	// Transposes swap the stored shapes, not the element counts; C still must hold m×n.
	let tall = with(gemm("transa", json!(true)), "/steps/1/gemm/m", json!(32));
	let job = parse(&tall).unwrap();
	let Step::Gemm(g) = &job.steps[1] else { panic!() };
	assert_eq!((g.m, g.lda, g.ldb, g.ldc), (32, 64, 64, 32));
	let transb = parse(&gemm("transb", json!(true))).unwrap();
	let Step::Gemm(g) = &transb.steps[1] else { panic!() };
	assert_eq!((g.lda, g.ldb), (64, 64));
	assert!(g.transb);
	let small_c = with(example(), "/buffers/5/elements", json!(4095));
	rejected(&small_c, "GEMM C needs 64×64 = 4096 elements; its buffer has 4095");
	// Every operand must be f32, or every one f64.
	rejected(&with(example(), "/buffers/2/dtype", json!("f64")), "must all be f32 or all f64");
	rejected(&with(example(), "/buffers/5/dtype", json!("f16")), "must all be f32 or all f64");
	let mut doubles = example();
	for i in [2, 3, 5] {
		doubles = with(doubles, &format!("/buffers/{i}/dtype"), json!("f64"));
	}
	let job = parse(&doubles).unwrap();
	assert!(matches!(&job.steps[1], Step::Gemm(g) if g.dtype == GemmType::F64));
}

#[test]
fn device_memory_is_capped() {
	let job = parse(&example()).unwrap();
	let at = Limits { max_memory_bytes: job.device_bytes, ..limits() };
	assert_eq!(job.check_limits(&at), Ok(()));
	let under = Limits { max_memory_bytes: job.device_bytes - 1, ..limits() };
	assert_eq!(job.check_limits(&under), Err(ExecError::OutOfMemory(job.device_bytes - 1)));
}

#[test]
fn sizes_that_overflow_are_out_of_memory() {
	let huge = with(example(), "/buffers/5/elements", json!(u64::MAX / 2));
	let job = parse(&huge).unwrap();
	let unlimited = Limits { max_memory_bytes: u64::MAX, ..limits() };
	assert_eq!(job.check_limits(&unlimited), Err(ExecError::OutOfMemory(u64::MAX)));
	// Each fits in u64, their sum does not.
	let mut two = example();
	for i in [4, 5] {
		two = with(
			two,
			&format!("/buffers/{i}"),
			json!({
				"name": format!("big{i}"), "dtype": "u8", "elements": u64::MAX / 2 + 1, "role": "scratch"
			}),
		);
	}
	let two = with(
		with(two, "/steps", json!([example()["steps"][0].clone()])),
		"/steps/0/launch/args/2",
		json!({"buffer": "x"}),
	);
	let job = parse(&two).unwrap();
	assert_eq!(job.check_limits(&unlimited), Err(ExecError::OutOfMemory(u64::MAX)));
}

#[test]
fn output_size_is_capped_up_front() {
	let job = parse(&example()).unwrap();
	let at = Limits { max_output_bytes: job.output_bytes, ..limits() };
	assert_eq!(job.check_limits(&at), Ok(()));
	let under = Limits { max_output_bytes: job.output_bytes - 1, ..limits() };
	assert_eq!(
		job.check_limits(&under),
		Err(ExecError::OutputTooLarge { size: job.output_bytes, max: job.output_bytes - 1 })
	);
	// Memory is checked first.
	let both = Limits { max_memory_bytes: 1, max_output_bytes: 1, ..limits() };
	assert_eq!(job.check_limits(&both), Err(ExecError::OutOfMemory(1)));
}

#[test]
fn the_input_is_split_in_declared_order_and_must_fit_exactly() {
	let value = json!({
		"version": 1, "source": vadd(),
		"buffers": [
			{"name": "p", "dtype": "u16", "elements": 2, "role": "input"},
			{"name": "o", "dtype": "u8", "elements": 3, "role": "output"},
			{"name": "q", "dtype": "u8", "elements": 1, "role": "inout"},
			{"name": "s", "dtype": "f64", "elements": 9, "role": "scratch"},
			{"name": "r", "dtype": "i32", "elements": 1, "role": "input"}
		],
		"steps": [{"launch": {"kernel": "vadd", "grid": [1, 1, 1], "block": [1, 1, 1]}}]
	});
	let job = parse(&value).unwrap();
	assert_eq!((job.input_bytes, job.output_bytes, job.device_bytes), (9, 4, 84));
	let input: Vec<u8> = (1..=9).collect();
	let parts = job.split_input(&input).unwrap();
	assert_eq!(parts, vec![&[1, 2, 3, 4][..], &[5][..], &[6, 7, 8, 9][..]]);
	assert!(matches!(job.split_input(&input[..8]), Err(ExecError::BadInput(_))));
	assert!(matches!(job.split_input(&[0; 10]), Err(ExecError::BadInput(_))));
	assert!(matches!(job.split_input(&[]), Err(ExecError::BadInput(_))));

	// The output is the output and inout buffers, in declared order.
	assert_eq!(job.join_output(&[vec![1, 2, 3], vec![4]]), Ok(vec![1, 2, 3, 4]));
	assert!(matches!(job.join_output(&[vec![1, 2, 3]]), Err(ExecError::Trap(_))));
	assert!(matches!(job.join_output(&[vec![1, 2], vec![3, 4]]), Err(ExecError::Trap(_))));
}

#[test]
fn validation_reports_in_order_manifest_memory_output_input() {
	let program = bytes(&example());
	let input = vec![0u8; 40_960];
	assert!(validate(&program, &input, &limits()).is_ok());
	assert!(matches!(validate(b"{}", &[], &limits()), Err(ExecError::Compile(_))));
	let tiny = Limits { max_memory_bytes: 1, max_output_bytes: 1, ..limits() };
	assert!(matches!(validate(&program, &[], &tiny), Err(ExecError::OutOfMemory(1))));
	let small_output = Limits { max_output_bytes: 1, ..limits() };
	assert!(matches!(
		validate(&program, &[], &small_output),
		Err(ExecError::OutputTooLarge { .. })
	));
	assert!(matches!(validate(&program, &input[1..], &limits()), Err(ExecError::BadInput(_))));
}

#[test]
fn without_cuda_a_valid_job_is_unavailable_and_an_invalid_one_still_fails_first() {
	let program = bytes(&example());
	let input = vec![0u8; 40_960];
	if !driver_present() {
		assert!(matches!(run_job(&program, &input, &limits(), 0), Err(ExecError::Unavailable(_))));
		let ptx = with(without(example(), "", "source"), "/ptx", json!(".version 7.0"));
		assert!(matches!(
			run_job(&bytes(&ptx), &input, &limits(), 0),
			Err(ExecError::Unavailable(_))
		));
	}
	// Validation needs no GPU, whatever the host.
	assert!(matches!(run_job(b"[]", &input, &limits(), 0), Err(ExecError::Compile(_))));
	assert!(matches!(run_job(&program, &input[1..], &limits(), 0), Err(ExecError::BadInput(_))));
}

/// The example in `docs/job-abi.md` is this file's [`example`].
#[test]
fn the_documented_example_is_the_tested_one() {
	let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/job-abi.md");
	let doc = std::fs::read_to_string(path).unwrap();
	let section = &doc[doc.find("## CUDA jobs").expect("a CUDA jobs section")..];
	let start = section.find("```json\n").expect("a JSON example") + "```json\n".len();
	let end = start + section[start..].find("```").unwrap();
	let documented: Value = serde_json::from_str(&section[start..end]).unwrap();
	assert_eq!(documented, example());
}

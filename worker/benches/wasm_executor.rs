//! The WASM executor against native code, and runs from the module cache. Prints figures; passes
//! or fails nothing (a timing is never a test).
//!
//! The kernel is `stratus-kernels`' `sha256_rounds`, one source compiled twice: natively into this
//! binary (the bench profile: release) and to `wasm32v1-none` (release) for the executor.
//! `scripts/bench-worker` builds the latter and passes its path:
//!
//!   STRATUS_KERNEL_WASM=…/stratus_kernels.wasm \
//!     cargo bench -p stratus-worker --bench wasm_executor
//!
//! Options (after `--`): `--rounds N` (default 32), `--data-kib N` (default 64), `--samples N`
//! (default 31), `--instantiations N` (default 20000).

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing
)]

use std::{
	env, fs,
	hint::black_box,
	path::PathBuf,
	process,
	sync::Arc,
	time::{Duration, Instant},
};
use stratus_kernels::{sha256_rounds, SliceInput};
use stratus_worker::executor::{
	digest,
	wasm::{NoCheckpoints, WasmConfig, WasmExecutor, WasmJob},
	Limits,
};

struct Options {
	rounds: u32,
	data_kib: usize,
	samples: usize,
	instantiations: usize,
}

fn options() -> Options {
	let mut options = Options { rounds: 32, data_kib: 64, samples: 31, instantiations: 20_000 };
	let mut args = env::args().skip(1).filter(|a| a != "--bench");
	while let Some(arg) = args.next() {
		let mut value = || -> usize {
			let v = args.next().unwrap_or_default();
			v.parse().unwrap_or_else(|_| fail(&format!("{arg} needs a number, not `{v}`")))
		};
		match arg.as_str() {
			"--rounds" => options.rounds = value() as u32,
			"--data-kib" => options.data_kib = value(),
			"--samples" => options.samples = value().max(1),
			"--instantiations" => options.instantiations = value().max(1),
			other => fail(&format!("unknown option {other}")),
		}
	}
	options
}

fn fail(message: &str) -> ! {
	eprintln!("wasm_executor bench: {message}");
	process::exit(2)
}

fn kernel_path() -> PathBuf {
	if let Some(path) = env::var_os("STRATUS_KERNEL_WASM") {
		return path.into();
	}
	let target =
		env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), Into::into);
	target.join("wasm32v1-none/release/stratus_kernels.wasm")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
	sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(mut samples: Vec<Duration>) -> Duration {
	samples.sort();
	percentile(&samples, 0.5)
}

fn ms(d: Duration) -> f64 {
	d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
	d.as_secs_f64() * 1e6
}

fn main() {
	let options = options();
	let path = kernel_path();
	let program = fs::read(&path).unwrap_or_else(|e| {
		fail(&format!(
			"cannot read the wasm kernel {} ({e}); build it with scripts/bench-worker",
			path.display()
		))
	});
	let program_hash = digest(&program);
	let executor = WasmExecutor::new(WasmConfig::default()).expect("the executor starts");
	let limits = Limits {
		max_units: u64::MAX,
		max_memory_bytes: 64 << 20,
		max_wall: Duration::from_secs(600),
		max_output_bytes: 32,
	};

	let started = Instant::now();
	executor.prepare(&program_hash, &program).expect("the kernel compiles");
	let compile = started.elapsed();

	// Deterministic pseudo-random data (xorshift64).
	let mut x = 0x9e37_79b9_7f4a_7c15_u64;
	let data: Vec<u8> = (0..options.data_kib * 1024)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x as u8
		})
		.collect();
	let mut input = options.rounds.to_le_bytes().to_vec();
	input.extend_from_slice(&data);
	let hashed = data.len() as f64 * f64::from(options.rounds);

	let job = WasmJob { program_hash, program: &program, input: &input, limits: limits.clone() };
	let native_digest = sha256_rounds(&mut SliceInput(&input));
	let outcome = executor.run(&job, Arc::new(NoCheckpoints)).expect("the kernel runs");
	assert_eq!(outcome.output, native_digest, "the wasm kernel and the native one disagree");

	// Alternating samples, so that both sides see the same machine.
	let (mut native, mut wasm) = (Vec::new(), Vec::new());
	for _ in 0..options.samples {
		let t = Instant::now();
		black_box(sha256_rounds(&mut SliceInput(black_box(&input))));
		native.push(t.elapsed());
		let t = Instant::now();
		let out = executor.run(black_box(&job), Arc::new(NoCheckpoints)).expect("the kernel runs");
		wasm.push(t.elapsed());
		assert_eq!(out.output, native_digest);
	}
	let (native, wasm) = (median(native), median(wasm));
	let ratio = wasm.as_secs_f64() / native.as_secs_f64();
	let plain = plain_wasmtime(&program, &input, &native_digest, options.samples);

	// Runs from the cache: an empty program (instantiation, the call, the outcome), and the kernel
	// with zero rounds (the same plus its 1 MiB+ stack and data segment).
	let empty = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)
		.expect("valid wat");
	let empty_job = WasmJob {
		program_hash: digest(&empty),
		program: &empty,
		input: &[],
		limits: limits.clone(),
	};
	let zero_rounds = 0u32.to_le_bytes();
	let kernel_job = WasmJob { input: &zero_rounds, ..job.clone() };
	let cached = |job: &WasmJob<'_>| {
		for _ in 0..1000 {
			executor.run(job, Arc::new(NoCheckpoints)).expect("runs");
		}
		let mut samples: Vec<Duration> = (0..options.instantiations)
			.map(|_| {
				let t = Instant::now();
				black_box(executor.run(black_box(job), Arc::new(NoCheckpoints)).expect("runs"));
				t.elapsed()
			})
			.collect();
		samples.sort();
		(percentile(&samples, 0.5), percentile(&samples, 0.9), percentile(&samples, 0.99))
	};
	let empty_times = cached(&empty_job);
	let kernel_times = cached(&kernel_job);
	let stats = executor.cache_stats();

	println!("WASM executor benchmark (stratus-kernels::sha256_rounds, the same source both ways)");
	println!(
		"  kernel: {} rounds x {} KiB = {:.1} MiB hashed per run; median of {} runs each",
		options.rounds,
		options.data_kib,
		hashed / f64::from(1 << 20),
		options.samples
	);
	println!("  wasm module: {} ({} bytes)", path.display(), program.len());
	println!(
		"  native                 {:>9.3} ms/run  {:>7.1} MB/s",
		ms(native),
		hashed / native.as_secs_f64() / 1e6
	);
	println!(
		"  wasm (executor)        {:>9.3} ms/run  {:>7.1} MB/s  {} units/run",
		ms(wasm),
		hashed / wasm.as_secs_f64() / 1e6,
		outcome.units
	);
	println!("  ratio wasm / native    {ratio:>9.2}x   (target <= 1.5x)");
	println!(
		"  plain wasmtime         {:>9.3} ms/run  {:>7.1} MB/s  (same module, no fuel, no epoch: \
		 {:.2}x native)",
		ms(plain),
		hashed / plain.as_secs_f64() / 1e6,
		plain.as_secs_f64() / native.as_secs_f64()
	);
	println!("  compile (cache miss)   {:>9.3} ms", ms(compile));
	println!(
		"  cached run, empty job  median {:.1} us, p90 {:.1} us, p99 {:.1} us  (target < 100 us)",
		us(empty_times.0),
		us(empty_times.1),
		us(empty_times.2)
	);
	println!(
		"  cached run, kernel 0 rounds  median {:.1} us, p90 {:.1} us, p99 {:.1} us",
		us(kernel_times.0),
		us(kernel_times.1),
		us(kernel_times.2)
	);
	println!(
		"  module cache: {} hits, {} misses, {} programs",
		stats.hits, stats.misses, stats.programs
	);
}

/// The same module in a wasmtime engine with default settings (no fuel, no epoch interruption,
/// no NaN canonicalisation, on-demand allocation): what the executor's limits cost.
fn plain_wasmtime(program: &[u8], input: &[u8], expected: &[u8; 32], samples: usize) -> Duration {
	use wasmtime::{Caller, Engine, Linker, Module, Store};
	struct Job {
		input: Vec<u8>,
		output: Vec<u8>,
	}
	fn memory<'a>(caller: &'a mut Caller<'_, Job>) -> (&'a mut [u8], &'a mut Job) {
		let memory = caller.get_export("memory").and_then(|e| e.into_memory()).unwrap();
		memory.data_and_store_mut(caller)
	}
	let engine = Engine::default();
	let module = Module::new(&engine, program).unwrap();
	let mut linker = Linker::<Job>::new(&engine);
	linker
		.func_wrap("stratus", "input_len", |c: Caller<'_, Job>| c.data().input.len() as i32)
		.unwrap();
	linker
		.func_wrap(
			"stratus",
			"input_read",
			|mut c: Caller<'_, Job>, ptr: i32, offset: i32, len: i32| {
				let (mem, job) = memory(&mut c);
				let src = job.input.get(offset as usize..).unwrap_or_default();
				let n = src.len().min(len as usize);
				mem[ptr as usize..][..n].copy_from_slice(&src[..n]);
				n as i32
			},
		)
		.unwrap();
	linker
		.func_wrap("stratus", "output_write", |mut c: Caller<'_, Job>, ptr: i32, len: i32| {
			let (mem, job) = memory(&mut c);
			job.output.extend_from_slice(&mem[ptr as usize..][..len as usize]);
			len
		})
		.unwrap();
	let pre = linker.instantiate_pre(&module).unwrap();
	let mut times = Vec::new();
	for _ in 0..samples {
		let t = Instant::now();
		let mut store = Store::new(&engine, Job { input: input.to_vec(), output: Vec::new() });
		let instance = pre.instantiate(&mut store).unwrap();
		let run = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap();
		run.call(&mut store, ()).unwrap();
		times.push(t.elapsed());
		assert_eq!(store.data().output, expected);
	}
	median(times)
}

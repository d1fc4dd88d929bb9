//! The WASM executor against native code, and runs from the module cache. Prints figures; passes
//! or fails nothing (a timing is never a test).
//!
//! The kernels are `stratus-kernels`' — SHA-256 (integer), a dense `f64` matrix product, and the
//! Mandelbrot escape counts (floating point with a data-dependent exit) — each one source compiled
//! twice: natively into this binary (the bench profile: release) and to `wasm32v1-none` (release,
//! one module per kernel, chosen by the crate's features) for the executor. `scripts/bench-worker`
//! builds the modules into one directory and passes it:
//!
//!   STRATUS_KERNELS_DIR=…/kernels cargo bench -p stratus-worker --bench wasm_executor
//!
//! (`sha256.wasm`, `matmul.wasm`, `mandelbrot.wasm` there.) Options (after `--`): `--rounds N`
//! (default 32) and `--data-kib N` (default 64) for SHA-256, `--n N` for the matrices (default
//! 256), `--side N` and `--cap N` for the grid (default 512, 256), `--samples N` (default 31),
//! `--instantiations N` (default 20000).

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
use stratus_client::program::{compile_units, COMPILE_UNITS_PER_BYTE};
use stratus_kernels::{header, mandelbrot, matmul, matmul_scratch, sha256_rounds, SliceInput};
use stratus_worker::executor::{
	canonicalise_nans, digest,
	wasm::{measure_unit_rate, NoCheckpoints, WasmConfig, WasmExecutor, WasmJob},
	Limits,
};

struct Options {
	rounds: u32,
	data_kib: usize,
	n: u32,
	side: u32,
	cap: u32,
	samples: usize,
	instantiations: usize,
}

fn options() -> Options {
	let mut options = Options {
		rounds: 32,
		data_kib: 64,
		n: 256,
		side: 512,
		cap: 256,
		samples: 31,
		instantiations: 20_000,
	};
	let mut args = env::args().skip(1).filter(|a| a != "--bench");
	while let Some(arg) = args.next() {
		let mut value = || -> usize {
			let v = args.next().unwrap_or_default();
			v.parse().unwrap_or_else(|_| fail(&format!("{arg} needs a number, not `{v}`")))
		};
		match arg.as_str() {
			"--rounds" => options.rounds = value() as u32,
			"--data-kib" => options.data_kib = value(),
			"--n" => options.n = value() as u32,
			"--side" => options.side = value() as u32,
			"--cap" => options.cap = value() as u32,
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

fn kernels_dir() -> PathBuf {
	if let Some(path) = env::var_os("STRATUS_KERNELS_DIR") {
		return path.into();
	}
	let target =
		env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), Into::into);
	target.join("stratus-kernels")
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

/// One kernel: its module, its input, the native call on the same input, and the work one run
/// does (to print a rate).
struct Kernel {
	name: &'static str,
	work: String,
	per_run: f64,
	unit: &'static str,
	input: Vec<u8>,
	native: Box<dyn Fn(&[u8]) -> Vec<u8>>,
}

fn u32s(values: &[u32]) -> Vec<u8> {
	values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn kernels(options: &Options) -> Vec<Kernel> {
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
	let mut sha_input = u32s(&[options.rounds]);
	sha_input.extend_from_slice(&data);
	let (n, side, cap) = (options.n, options.side, options.cap);
	vec![
		Kernel {
			name: "sha256",
			work: format!(
				"{} rounds x {} KiB = {:.1} MiB hashed",
				options.rounds,
				options.data_kib,
				(data.len() as f64 * f64::from(options.rounds)) / f64::from(1 << 20)
			),
			per_run: data.len() as f64 * f64::from(options.rounds) / 1e6,
			unit: "MB/s",
			input: sha_input,
			native: Box::new(|input| sha256_rounds(&mut SliceInput(input)).to_vec()),
		},
		Kernel {
			name: "matmul",
			work: format!("{n}x{n} f64 matrices, C = A.B"),
			per_run: 2.0 * f64::from(n).powi(3) / 1e9,
			unit: "GFLOP/s",
			input: u32s(&[n]),
			native: Box::new(|input| {
				let [n] = header::<1, _>(&mut SliceInput(input));
				let mut scratch = vec![0.0; matmul_scratch(n as usize)];
				matmul(n as usize, &mut scratch).to_vec()
			}),
		},
		Kernel {
			name: "mandelbrot",
			work: format!("{side}x{side} grid, at most {cap} iterations a point"),
			per_run: f64::from(side) * f64::from(side) / 1e6,
			unit: "Mpoint/s",
			input: u32s(&[side, cap]),
			native: Box::new(|input| {
				let [side, cap] = header::<2, _>(&mut SliceInput(input));
				mandelbrot(side, cap).to_vec()
			}),
		},
	]
}

fn main() {
	let options = options();
	let dir = kernels_dir();
	let executor = WasmExecutor::new(WasmConfig::default()).expect("the executor starts");
	let limits = Limits {
		max_units: u64::MAX,
		max_memory_bytes: 64 << 20,
		max_wall: Duration::from_secs(600),
		max_output_bytes: 32,
	};
	println!("WASM executor benchmark: stratus-kernels, the same source natively and as WASM");
	println!("  modules: {}; median of {} runs each, alternating", dir.display(), options.samples);
	println!("  kernel           native    executor    ratio       plain    ratio   work per run");
	let mut ratios = Vec::new();
	let mut sha_module = None;
	let mut kernel_compile_ms = 0.0;
	for kernel in kernels(&options) {
		let path = dir.join(format!("{}.wasm", kernel.name));
		let program = fs::read(&path).unwrap_or_else(|e| {
			fail(&format!(
				"cannot read the wasm kernel {} ({e}); build it with scripts/bench-worker",
				path.display()
			))
		});
		let program_hash = digest(&program);
		let started = Instant::now();
		executor.prepare(&program_hash, &program).expect("the kernel compiles");
		let compile = started.elapsed();
		if kernel.name == "sha256" {
			kernel_compile_ms = ms(compile);
		}
		let job = WasmJob {
			program_hash,
			program: &program,
			input: &kernel.input,
			limits: limits.clone(),
		};
		let expected = (kernel.native)(&kernel.input);
		let outcome = executor.run(&job, Arc::new(NoCheckpoints)).expect("the kernel runs");
		assert_eq!(
			outcome.output, expected,
			"{}: the wasm kernel and the native one disagree",
			kernel.name
		);

		// Alternating samples, so that both sides see the same machine.
		let (mut native, mut wasm) = (Vec::new(), Vec::new());
		for _ in 0..options.samples {
			let t = Instant::now();
			black_box((kernel.native)(black_box(&kernel.input)));
			native.push(t.elapsed());
			let t = Instant::now();
			let out =
				executor.run(black_box(&job), Arc::new(NoCheckpoints)).expect("the kernel runs");
			wasm.push(t.elapsed());
			assert_eq!(out.output, expected);
		}
		let (native, wasm) = (median(native), median(wasm));
		let plain = plain_wasmtime(&program, &kernel.input, &expected, options.samples, false);
		let nans_only = canonicalise_nans(&program).expect("the kernel rewrites");
		let wasmtime_metered =
			plain_wasmtime(&nans_only, &kernel.input, &expected, options.samples, true);
		let ratio = wasm.as_secs_f64() / native.as_secs_f64();
		ratios.push(ratio);
		let rate = |d: Duration| kernel.per_run / d.as_secs_f64();
		println!(
			"  {:<11} {:>8.2} ms {:>8.2} ms {:>7.2}x {:>8.2} ms {:>7.2}x   {}",
			kernel.name,
			ms(native),
			ms(wasm),
			ratio,
			ms(plain),
			plain.as_secs_f64() / native.as_secs_f64(),
			kernel.work
		);
		println!(
			"  {:<11} {:>8.1} {:<8} native, {:.1} executor, {:.1} plain; {} units/run ({} of \
			 them the compile charge); {} bytes, compiled in {:.1} ms on a cache miss",
			"",
			rate(native),
			kernel.unit,
			rate(wasm),
			rate(plain),
			outcome.units,
			compile_units(program.len()),
			program.len(),
			ms(compile)
		);
		println!(
			"  {:<11} with wasmtime's fuel and epoch interruption instead of the metering \
			 rewrite: {:.2} ms, {:.2}x native, {:.2}x the executor",
			"",
			ms(wasmtime_metered),
			wasmtime_metered.as_secs_f64() / native.as_secs_f64(),
			wasmtime_metered.as_secs_f64() / wasm.as_secs_f64()
		);
		if kernel.name == "sha256" {
			sha_module = Some((program, program_hash));
		}
	}
	let geomean = ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64;
	println!(
		"  executor / native: geometric mean {:.2}x, worst {:.2}x  (target <= 1.5x)",
		geomean.exp(),
		ratios.iter().copied().fold(0.0, f64::max)
	);

	// Runs from the cache: an empty program (instantiation, the call, the outcome), and the SHA-256
	// kernel with zero rounds (the same plus its 1 MiB+ stack and data segment).
	let (sha_program, sha_hash) = sha_module.expect("the sha256 kernel ran");
	let empty = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)
		.expect("valid wat");
	let empty_job = WasmJob {
		program_hash: digest(&empty),
		program: &empty,
		input: &[],
		limits: limits.clone(),
	};
	let zero_rounds = 0u32.to_le_bytes();
	let kernel_job =
		WasmJob { program_hash: sha_hash, program: &sha_program, input: &zero_rounds, limits };
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
	println!(
		"  cached run, empty job  median {:.1} us, p90 {:.1} us, p99 {:.1} us  (target < 100 us)",
		us(empty_times.0),
		us(empty_times.1),
		us(empty_times.2)
	);
	println!(
		"  cached run, sha256 0 rounds  median {:.1} us, p90 {:.1} us, p99 {:.1} us",
		us(kernel_times.0),
		us(kernel_times.1),
		us(kernel_times.2)
	);
	println!(
		"  module cache: {} hits, {} misses, {} programs",
		stats.hits, stats.misses, stats.programs
	);
	compile_at_the_limits(&executor, sha_program.len(), kernel_compile_ms);
}

/// `locals` i64 locals; a body of about `body_bytes` that keeps them all live (each step adds
/// one local into another, far apart), then stores their sum, so none is dead.
fn live_locals_function(locals: u32, body_bytes: usize, export: bool) -> String {
	let mut body = String::new();
	let steps = body_bytes / 10;
	for step in 0..steps as u32 {
		let (to, from) = (step % locals, (step.wrapping_mul(7) + 13) % locals);
		body.push_str(&format!("(local.set {to} (i64.add (local.get {to}) (local.get {from})))\n"));
	}
	let mut sum = String::from("(i64.const 0)");
	for local in 0..locals {
		sum = format!("(i64.add {sum} (local.get {local}))");
	}
	format!(
		"(func {} (local{}) {body} (i64.store (i32.const 0) {sum}))",
		if export { "(export \"run\")" } else { "" },
		" i64".repeat(locals as usize)
	)
}

/// Compile time and the process's peak memory for modules at the job ABI's structural limits
/// (`stratus_client::program`: 10,000 functions, 1,024 locals, 256 KiB bodies, 2 MiB programs),
/// against the SHA-256 kernel's compile per byte measured above; and the compile time per byte
/// in units at this host's unit rate (what `stratus-worker init` measures) against the compile
/// charge, `COMPILE_UNITS_PER_BYTE`.
fn compile_at_the_limits(executor: &WasmExecutor, sha_bytes: usize, sha_ms: f64) {
	use stratus_client::program::{MAX_BODY_BYTES, MAX_FUNCTIONS, MAX_LOCALS};
	let rate = measure_unit_rate(Duration::from_millis(300)).expect("the calibration runs");
	// Units of this host's rate that `ms` milliseconds for `bytes` bytes come to, per byte.
	let units_per_byte = |ms: f64, bytes: usize| ms / 1e3 * rate as f64 / bytes as f64;
	let locals = MAX_LOCALS as u32;
	let memory = r#"(memory (export "memory") 1)"#;
	let cases: Vec<(&str, String)> = vec![
		(
			"one 256 KiB function, 1,024 live locals",
			format!(
				"(module {memory} {})",
				live_locals_function(locals, MAX_BODY_BYTES - 8192, true)
			),
		),
		(
			"7 such functions (about 1.8 MiB)",
			format!(
				"(module {memory} {} {})",
				live_locals_function(locals, MAX_BODY_BYTES - 8192, true),
				(0..6)
					.map(|_| live_locals_function(locals, MAX_BODY_BYTES - 8192, false))
					.collect::<String>()
			),
		),
		(
			"9,999 small functions, 32 live locals each",
			format!(
				"(module {memory} (func (export \"run\")) {})",
				(0..MAX_FUNCTIONS - 1)
					.map(|_| live_locals_function(32, 120, false))
					.collect::<String>()
			),
		),
	];
	let sha_per_kib = sha_ms / (sha_bytes as f64 / 1024.0);
	let sha_units = units_per_byte(sha_ms, sha_bytes);
	println!(
		"  compile at the job ABI's limits (cache misses; SHA-256: {sha_per_kib:.2} ms/KiB, {:.0} \
		 units a byte at this host's unit rate of {rate} units/s, charged {COMPILE_UNITS_PER_BYTE} \
		 = {:.2}x):",
		sha_units,
		COMPILE_UNITS_PER_BYTE as f64 / sha_units
	);
	for (name, text) in cases {
		let program = wat::parse_str(&text).expect("valid wat");
		let hash = digest(&program);
		let started = Instant::now();
		let prepared = executor.prepare(&hash, &program);
		let took = started.elapsed();
		let peak = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
			.map(|u| u.max_rss() / 1024)
			.unwrap_or(0);
		let kib = program.len() as f64 / 1024.0;
		let units = units_per_byte(ms(took), program.len());
		println!(
			"    {name:<40} {kib:>7.0} KiB {:>9.1} ms {:>6.2} ms/KiB ({:.1}x SHA-256's; {units:.0} \
			 units a byte, charged {:.2}x) peak RSS {peak} MiB{}",
			ms(took),
			ms(took) / kib,
			ms(took) / kib / sha_per_kib,
			COMPILE_UNITS_PER_BYTE as f64 / units,
			match prepared {
				Ok(()) => String::new(),
				Err(e) => format!("  refused: {e}"),
			}
		);
	}
}

/// The same module in a wasmtime engine with default settings (no fuel, no epoch interruption,
/// no NaN canonicalisation, on-demand allocation): what the executor's limits cost. With
/// `metered`, wasmtime's own fuel and epoch interruption: given the module after the executor's
/// NaN rewrite, the executor as it was before its metering rewrite (executor/wasm/meter.rs), the
/// baseline for that rewrite.
fn plain_wasmtime(
	program: &[u8],
	input: &[u8],
	expected: &[u8],
	samples: usize,
	metered: bool,
) -> Duration {
	use wasmtime::{Caller, Engine, Linker, Module, Store};
	struct Job {
		input: Vec<u8>,
		output: Vec<u8>,
	}
	fn memory<'a>(caller: &'a mut Caller<'_, Job>) -> (&'a mut [u8], &'a mut Job) {
		let memory = caller.get_export("memory").and_then(|e| e.into_memory()).unwrap();
		memory.data_and_store_mut(caller)
	}
	let mut config = wasmtime::Config::new();
	config.consume_fuel(metered).epoch_interruption(metered);
	let engine = Engine::new(&config).unwrap();
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
		if metered {
			store.set_fuel(u64::MAX).unwrap();
			store.set_epoch_deadline(u64::MAX);
		}
		let instance = pre.instantiate(&mut store).unwrap();
		let run = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap();
		run.call(&mut store, ()).unwrap();
		times.push(t.elapsed());
		assert_eq!(store.data().output, expected);
	}
	median(times)
}

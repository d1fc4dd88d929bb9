//! The WASM executor's tests: the job ABI, units, limits, checkpoints, determinism.

#![allow(clippy::arithmetic_side_effects)]

use super::*;
use crate::executor::digest;
use std::{
	io,
	sync::{mpsc, OnceLock},
	time::Instant,
};

const MIB: u64 = 1 << 20;

/// One executor for most tests, shared by the test threads as the worker shares it.
fn executor() -> &'static WasmExecutor {
	static EXECUTOR: OnceLock<WasmExecutor> = OnceLock::new();
	EXECUTOR.get_or_init(|| {
		WasmExecutor::new(WasmConfig { max_concurrent_jobs: 32, ..WasmConfig::default() }).unwrap()
	})
}

fn limits() -> Limits {
	Limits {
		max_units: 1 << 40,
		max_memory_bytes: 16 * MIB,
		max_wall: Duration::from_secs(60),
		max_output_bytes: MIB,
	}
}

fn run_on(
	executor: &WasmExecutor,
	program: &[u8],
	input: &[u8],
	limits: Limits,
	checkpoints: Arc<dyn CheckpointStore>,
) -> Result<Outcome, ExecError> {
	let job = WasmJob { program_hash: digest(program), program, input, limits };
	executor.run(&job, checkpoints)
}

fn run_wat(wat: &str, input: &[u8], limits: Limits) -> Result<Outcome, ExecError> {
	run_on(executor(), &wat::parse_str(wat).unwrap(), input, limits, Arc::new(NoCheckpoints))
}

/// The compile charge of a program given as text: the units a job of it has used before its
/// first instruction.
fn compile_charge(wat: &str) -> u64 {
	compile_units(wat::parse_str(wat).unwrap().len())
}

/// The units a failed or finished job of `program` used beyond its compile charge.
fn executed(program: &[u8], units: u64) -> u64 {
	units - compile_units(program.len())
}

/// The ABI imports, for test programs to paste in.
const IMPORTS: &str = r#"
	(import "stratus" "input_len" (func $input_len (result i32)))
	(import "stratus" "input_read" (func $input_read (param i32 i32 i32) (result i32)))
	(import "stratus" "output_write" (func $output_write (param i32 i32) (result i32)))
	(import "stratus" "checkpoint_len" (func $checkpoint_len (result i32)))
	(import "stratus" "checkpoint_load" (func $checkpoint_load (param i32) (result i32)))
	(import "stratus" "checkpoint_save" (func $checkpoint_save (param i32 i32) (result i32)))
"#;

fn module(body: &str) -> String {
	format!("(module {IMPORTS} (memory (export \"memory\") 1) {body})")
}

/// Writes the input reversed (inputs up to 32 KiB).
fn reverse() -> String {
	module(
		r#"(func (export "run") (local $n i32) (local $i i32)
			(local.set $n (call $input_len))
			(drop (call $input_read (i32.const 0) (i32.const 0) (local.get $n)))
			(block $done (loop $next
				(br_if $done (i32.ge_u (local.get $i) (local.get $n)))
				(i32.store8 (i32.add (i32.const 32768) (local.get $i))
					(i32.load8_u (i32.sub (i32.sub (local.get $n) (i32.const 1)) (local.get $i))))
				(local.set $i (i32.add (local.get $i) (i32.const 1)))
				(br $next)))
			(drop (call $output_write (i32.const 32768) (local.get $n))))"#,
	)
}

/// FNV-1a (64-bit) of the input, read in 256-byte chunks; writes the hash little-endian.
fn fnv() -> String {
	module(
		r#"(func (export "run") (local $offset i32) (local $n i32) (local $i i32) (local $h i64)
			(local.set $h (i64.const 0xcbf29ce484222325))
			(block $eof (loop $chunk
				(local.set $n (call $input_read (i32.const 1024) (local.get $offset) (i32.const 256)))
				(br_if $eof (i32.eqz (local.get $n)))
				(local.set $i (i32.const 0))
				(block $done (loop $byte
					(br_if $done (i32.ge_u (local.get $i) (local.get $n)))
					(local.set $h (i64.mul
						(i64.xor (local.get $h) (i64.load8_u offset=1024 (local.get $i)))
						(i64.const 0x100000001b3)))
					(local.set $i (i32.add (local.get $i) (i32.const 1)))
					(br $byte)))
				(local.set $offset (i32.add (local.get $offset) (local.get $n)))
				(br $chunk)))
			(i64.store (i32.const 0) (local.get $h))
			(drop (call $output_write (i32.const 0) (i32.const 8))))"#,
	)
}

fn fnv_reference(bytes: &[u8]) -> [u8; 8] {
	bytes
		.iter()
		.fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
		.to_le_bytes()
}

/// Sum of i*i for i < n (n: u64 LE input), wrapping; writes "sum=" then the sum (u64 LE).
/// Saves (i, sum) every 10,000 steps and resumes from it.
fn sum_of_squares() -> String {
	module(
		r#"(data (i32.const 64) "sum=")
		(func (export "run") (local $n i64) (local $i i64) (local $acc i64)
			(drop (call $input_read (i32.const 32) (i32.const 0) (i32.const 8)))
			(local.set $n (i64.load (i32.const 32)))
			(if (i32.eq (call $checkpoint_len) (i32.const 16))
				(then
					(drop (call $checkpoint_load (i32.const 0)))
					(local.set $i (i64.load (i32.const 0)))
					(local.set $acc (i64.load (i32.const 8))))
				(else (drop (call $output_write (i32.const 64) (i32.const 4)))))
			(block $done (loop $next
				(br_if $done (i64.ge_u (local.get $i) (local.get $n)))
				(local.set $acc (i64.add (local.get $acc) (i64.mul (local.get $i) (local.get $i))))
				(local.set $i (i64.add (local.get $i) (i64.const 1)))
				(if (i64.eqz (i64.rem_u (local.get $i) (i64.const 10000)))
					(then
						(i64.store (i32.const 0) (local.get $i))
						(i64.store (i32.const 8) (local.get $acc))
						(drop (call $checkpoint_save (i32.const 0) (i32.const 16)))))
				(br $next)))
			(i64.store (i32.const 16) (local.get $acc))
			(drop (call $output_write (i32.const 16) (i32.const 8))))"#,
	)
}

fn sum_of_squares_reference(n: u64) -> Vec<u8> {
	let sum = (0..n).fold(0u64, |acc, i| acc.wrapping_add(i.wrapping_mul(i)));
	[&b"sum="[..], &sum.to_le_bytes()].concat()
}

fn pseudo_random(len: usize) -> Vec<u8> {
	let mut x = 0x2545_f491_4f6c_dd1d_u64;
	(0..len)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x as u8
		})
		.collect()
}

const SPIN: &str =
	r#"(module (memory (export "memory") 1) (func (export "run") (loop $l (br $l))))"#;

/// Counts to `rounds`, then fails with `end` (`unreachable`, or a store out of bounds).
fn count_then(rounds: u32, end: &str) -> Vec<u8> {
	wat::parse_str(format!(
		r#"(module (memory (export "memory") 1)
			(func (export "run") (local $i i32)
				(loop $l
					(local.set $i (i32.add (local.get $i) (i32.const 1)))
					(br_if $l (i32.lt_u (local.get $i) (i32.const {rounds}))))
				{end}))"#
	))
	.unwrap()
}

fn run_failing(program: &[u8], limits: Limits) -> Failed {
	let job = WasmJob { program_hash: digest(program), program, input: b"", limits };
	executor().run_counted(&job, Arc::new(NoCheckpoints)).unwrap_err()
}

#[test]
fn a_trap_reports_the_units_it_used_the_same_on_every_run() {
	let short = run_failing(&count_then(100, "unreachable"), limits());
	let long = run_failing(&count_then(10_000, "unreachable"), limits());
	assert!(matches!(long.error, ExecError::Trap(_)), "{:?}", long.error);
	// About five instructions a round: the work done before the trap is what is paid, with
	// the compile charge.
	let (short_run, long_run) = (
		executed(&count_then(100, "unreachable"), short.units),
		executed(&count_then(10_000, "unreachable"), long.units),
	);
	assert!(long_run > 10_000 * 4, "{long_run}");
	assert!(long_run > 50 * short_run, "{long_run} vs {short_run}");
	// Deterministic: every replica commits the same units for the same failure.
	for _ in 0..3 {
		assert_eq!(run_failing(&count_then(10_000, "unreachable"), limits()), long);
	}
	let oob = count_then(10_000, "(i32.store (i32.const 70000) (i32.const 1))");
	let out_of_bounds = run_failing(&oob, limits());
	assert!(matches!(out_of_bounds.error, ExecError::Trap(_)));
	assert_eq!(out_of_bounds, run_failing(&oob, limits()));
	assert!(executed(&oob, out_of_bounds.units).abs_diff(long_run) < 10);
}

#[test]
fn running_out_of_units_reports_the_whole_budget_and_a_refused_program_none() {
	let tight = Limits { max_units: 1_000_000, ..limits() };
	let spin = wat::parse_str(SPIN).unwrap();
	assert_eq!(
		run_failing(&spin, tight),
		Failed { error: ExecError::OutOfUnits(1_000_000), units: 1_000_000 }
	);
	let refused = run_failing(b"not a module", limits());
	assert_eq!(refused.units, 0, "{:?}", refused.error);
	assert!(refused.error.is_deterministic());
}

#[test]
fn a_timeout_reports_no_units_and_is_not_a_verifiable_result() {
	let slow = Limits { max_wall: Duration::from_millis(50), ..limits() };
	let failed = run_failing(&wat::parse_str(SPIN).unwrap(), slow);
	assert!(matches!(failed.error, ExecError::Timeout(_)), "{:?}", failed.error);
	assert_eq!(failed.units, 0);
	assert!(!failed.error.is_deterministic());
	assert_eq!(
		stratus_client::blake2_256(&super::super::failure_output(&failed.error)),
		stratus_primitives::timeout_digest().0,
		"the chain recognises the record as a timeout"
	);
}

#[test]
fn executor_is_send_and_sync() {
	fn shared<T: Send + Sync + Clone + 'static>() {}
	shared::<WasmExecutor>();
}

#[test]
fn transforms_its_input() {
	let input = pseudo_random(5000);
	let outcome = run_wat(&reverse(), &input, limits()).unwrap();
	let reversed: Vec<u8> = input.iter().rev().copied().collect();
	assert_eq!(outcome.output, reversed);
	assert_eq!(outcome.digest, digest(&reversed));
	assert!(outcome.units > 5000 * 5, "about ten instructions per byte: {}", outcome.units);
	assert_eq!(run_wat(&reverse(), b"", limits()).unwrap().output, b"");
}

#[test]
fn hashes_its_input_in_chunks() {
	for len in [0, 1, 255, 256, 257, 10_000] {
		let input = pseudo_random(len);
		let outcome = run_wat(&fnv(), &input, limits()).unwrap();
		assert_eq!(outcome.output, fnv_reference(&input), "{len} bytes");
	}
}

#[test]
fn computes_a_kernel() {
	let n = 123_457u64;
	let outcome = run_wat(&sum_of_squares(), &n.to_le_bytes(), limits()).unwrap();
	assert_eq!(outcome.output, sum_of_squares_reference(n));
	// Units are fuel: some instructions per step, proportional to n.
	let small = run_wat(&sum_of_squares(), &1000u64.to_le_bytes(), limits()).unwrap();
	let charge = compile_charge(&sum_of_squares());
	let (run, small_run) = (outcome.units - charge, small.units - charge);
	assert!(run > 100 * small_run, "{run} vs {small_run}");
}

#[test]
fn units_are_fuel_and_host_copies() {
	// `run` with one `nop`: the call costs nothing measurable but the `end` (and the compile
	// charge).
	let empty = r#"(module (memory (export "memory") 1) (func (export "run") nop))"#;
	let nothing = run_wat(empty, b"", limits()).unwrap();
	// Reading 64 KiB - 1 bytes costs ceil(65535 / 64) = 1024 units beyond the instructions.
	let read = |len: usize| {
		run_wat(
			&module(
				r#"(func (export "run")
					(drop (call $input_read (i32.const 0) (i32.const 0) (call $input_len))))"#,
			),
			&vec![7; len],
			limits(),
		)
		.unwrap()
		.units
	};
	assert_eq!(read(65_535) - read(0), 1024);
	assert!(nothing.units - compile_charge(empty) < 10, "{}", nothing.units);
}

/// Compiling costs the job its program's size at COMPILE_UNITS_PER_BYTE, once, before its
/// first instruction: the same whether the worker compiles it or has it cached, more for a
/// larger module (custom sections included: the worker parses them too), and a job whose
/// units do not cover it is out of units before anything runs.
#[test]
fn compiling_is_charged_by_the_programs_size_once_per_job() {
	use stratus_client::program::COMPILE_UNITS_PER_BYTE;
	let counted = wat::parse_str(module(
		r#"(func (export "run") (local i32)
			(loop $l
				(local.set 0 (i32.add (local.get 0) (i32.const 1)))
				(br_if $l (i32.lt_u (local.get 0) (i32.const 100)))))"#,
	))
	.unwrap();
	// The same code with a 100 KiB custom section appended: a different program.
	let mut padded = counted.clone();
	wasm_encoder::Section::append_to(
		&wasm_encoder::CustomSection { name: "note".into(), data: vec![0u8; 100 * 1024].into() },
		&mut padded,
	);
	let fresh = WasmExecutor::new(WasmConfig::default()).unwrap();
	let first = run_on(&fresh, &counted, b"", limits(), Arc::new(NoCheckpoints)).unwrap();
	assert_eq!(first.units, counted.len() as u64 * COMPILE_UNITS_PER_BYTE + 801);
	// From the cache: the same units, on this worker as on one that compiles it.
	let cached = run_on(&fresh, &counted, b"", limits(), Arc::new(NoCheckpoints)).unwrap();
	assert_eq!(fresh.cache_stats().hits, 1);
	assert_eq!(cached.units, first.units);
	let larger = run_on(&fresh, &padded, b"", limits(), Arc::new(NoCheckpoints)).unwrap();
	assert_eq!(
		larger.units - first.units,
		(padded.len() - counted.len()) as u64 * COMPILE_UNITS_PER_BYTE
	);
	// Units that cover the compile but not the run, or not even the compile: out of units,
	// the whole budget paid.
	for max_units in [compile_units(counted.len()) + 100, compile_units(counted.len()) - 1, 1] {
		let failed = run_failing(&counted, Limits { max_units, ..limits() });
		assert_eq!(failed, Failed { error: ExecError::OutOfUnits(max_units), units: max_units });
	}
}

#[test]
fn an_infinite_loop_runs_out_of_units() {
	let mut tight = limits();
	tight.max_units = 1_000_000;
	assert_eq!(run_wat(SPIN, b"", tight), Err(ExecError::OutOfUnits(1_000_000)));
}

/// `memory.fill`, `memory.copy`, `memory.init`, the table instructions and `memory.grow`
/// cost their length at the rates docs/job-abi.md states, on top of their one unit; a loop
/// of 64 MiB fills runs out of units at that price, and stops before the fill that would go
/// past them.
#[test]
fn bulk_instructions_cost_their_length() {
	use super::meter::{UNITS_PER_BULK_BYTE, UNITS_PER_MEMORY_PAGE, UNITS_PER_TABLE_ELEMENT};
	// The units beyond the compile charge (the programs' sizes differ).
	let units = |body: &str| {
		let program = format!(
			"(module (memory (export \"memory\") 2) (table 64 funcref) (elem $e func $f $f) \
			 (data $d \"abcdefgh\") (func $f) (func (export \"run\") {body}))"
		);
		run_wat(&program, b"", limits()).unwrap().units - compile_charge(&program)
	};
	let base = units("");
	let length = |op: &str, n: u32| units(&op.replace("N", &n.to_string())) - base;
	let fill = "(memory.fill (i32.const 0) (i32.const 7) (i32.const N))";
	let copy = "(memory.copy (i32.const 0) (i32.const 4096) (i32.const N))";
	let init = "(memory.init $d (i32.const 0) (i32.const 0) (i32.const N))";
	let table = "(table.fill (i32.const 0) (ref.null func) (i32.const N))";
	let grow = "(drop (memory.grow (i32.const N)))";
	for (op, rate, a, b) in [
		(fill, UNITS_PER_BULK_BYTE, 0, 100_000),
		(copy, UNITS_PER_BULK_BYTE, 1, 60_000),
		(init, UNITS_PER_BULK_BYTE, 0, 8),
		(table, UNITS_PER_TABLE_ELEMENT, 0, 64),
		(grow, UNITS_PER_MEMORY_PAGE, 0, 3),
	] {
		let extra = length(op, b) - length(op, a);
		assert_eq!(extra, (rate * i64::from(b - a)) as u64, "{op}");
	}
	// 64 MiB a fill, a thousand fills, a budget of ten: out of units before the eleventh.
	let fills = module(
		r#"(func (export "run") (local $i i32)
			(drop (memory.grow (i32.const 1024)))
			(loop $l
				(memory.fill (i32.const 0) (i32.const 7) (i32.const 0x4000000))
				(local.set $i (i32.add (local.get $i) (i32.const 1)))
				(br_if $l (i32.lt_u (local.get $i) (i32.const 1000)))))"#,
	);
	let mut budget = limits();
	budget.max_memory_bytes = 128 << 20;
	budget.max_units = compile_charge(&fills) + 10 * (64 << 20) + 1_000;
	assert_eq!(run_wat(&fills, b"", budget.clone()), Err(ExecError::OutOfUnits(budget.max_units)));
}

/// The fuel wasmtime's own metering counts for `program`'s `run` (no host calls).
fn wasmtime_fuel(program: &[u8]) -> u64 {
	let mut config = Config::new();
	config.consume_fuel(true);
	let engine = Engine::new(&config).unwrap();
	let module = Module::new(&engine, program).unwrap();
	let mut store = Store::new(&engine, ());
	store.set_fuel(u64::MAX).unwrap();
	let instance = Instance::new(&mut store, &module, &[]).unwrap();
	let run = instance.get_typed_func::<(), ()>(&mut store, RUN_EXPORT).unwrap();
	run.call(&mut store, ()).unwrap();
	u64::MAX - store.get_fuel().unwrap()
}

#[test]
fn units_are_wasmtime_fuel_on_every_path() {
	// Loops, blocks, if/else, br_if and br_table out of the function, calls, returns and tail
	// calls: the rewrite's units are what wasmtime's fuel counts. (A start function's
	// instructions count the same way; wasmtime 48's fuel adds 2 for instantiating it.)
	let program = wat::parse_str(
		r#"(module (memory (export "memory") 1)
		(global $step (mut i32) (i32.const 3)) (global $acc (mut i32) (i32.const 0))
		(func $add (param i32) (global.set $acc (i32.add (global.get $acc) (local.get 0))))
		(func $classify (param i32)
			(block $a
				(block $b
					(block $c
						(br_table $c $b $a 3 3 (i32.rem_u (local.get 0) (i32.const 5))))
					(call $add (i32.const 1))
					(return))
				(br_if 1 (i32.eqz (i32.and (local.get 0) (i32.const 1))))
				(call $add (i32.const 2)))
			(if (i32.gt_u (local.get 0) (i32.const 50))
				(then (call $add (i32.const 3)))
				(else (call $add (i32.const 4)))))
		(func $countdown (param i32) (result i32)
			(if (i32.eqz (local.get 0)) (then (return (i32.const 0))))
			(return_call $countdown (i32.sub (local.get 0) (i32.const 1))))
		(func (export "run") (local $i i32)
			(loop $l
				(call $classify (local.get $i))
				(local.set $i (i32.add (local.get $i) (global.get $step)))
				(br_if $l (i32.lt_u (local.get $i) (i32.const 300))))
			(drop (call $countdown (i32.const 100)))
			(i32.store (i32.const 0) (global.get $acc))))"#,
	)
	.unwrap();
	let fuel = wasmtime_fuel(&program);
	let outcome = run_on(executor(), &program, b"", limits(), Arc::new(NoCheckpoints)).unwrap();
	assert!(fuel > 1000, "{fuel}");
	assert_eq!(executed(&program, outcome.units), fuel);
	// A loop of eight instructions a round, a hundred rounds, and one unit for entering `run`.
	let counted = module(
		r#"(func (export "run") (local i32)
			(loop $l
				(local.set 0 (i32.add (local.get 0) (i32.const 1)))
				(br_if $l (i32.lt_u (local.get 0) (i32.const 100)))))"#,
	);
	assert_eq!(run_wat(&counted, b"", limits()).unwrap().units, compile_charge(&counted) + 801);
}

#[test]
fn recursion_and_start_functions_are_limited_too() {
	let mut tight = limits();
	tight.max_units = 1_000_000;
	// Tail calls loop without a loop header: the function entry is checked.
	let tail = module(r#"(func $f (return_call $f)) (func (export "run") (call $f))"#);
	assert_eq!(run_wat(&tail, b"", tight.clone()), Err(ExecError::OutOfUnits(1_000_000)));
	let mut clock = limits();
	clock.max_units = u64::MAX;
	clock.max_wall = Duration::from_millis(50);
	assert_eq!(run_wat(&tail, b"", clock.clone()), Err(ExecError::Timeout(clock.max_wall)));
	// A start function runs on the job's units and clock.
	let start = module(r#"(func $spin (loop $l (br $l))) (start $spin) (func (export "run"))"#);
	assert_eq!(run_wat(&start, b"", tight.clone()), Err(ExecError::OutOfUnits(1_000_000)));
	assert_eq!(run_wat(&start, b"", clock.clone()), Err(ExecError::Timeout(clock.max_wall)));
	// Units spent after the last check still count: out of units, not a success past them.
	let straight =
		module(&format!(r#"(func (export "run") {})"#, "(drop (i32.const 0))".repeat(50)));
	let charge = compile_charge(&straight);
	tight.max_units = charge + 20;
	assert_eq!(run_wat(&straight, b"", tight.clone()), Err(ExecError::OutOfUnits(charge + 20)));
	tight.max_units = charge + 51;
	assert_eq!(run_wat(&straight, b"", tight).unwrap().units, charge + 51);
	// The metering imports are not the program's to take.
	let meter = r#"(module (import "stratus:meter" "units" (global (mut i64)))
		(memory (export "memory") 1) (func (export "run")))"#;
	assert_eq!(
		run_wat(meter, b"", limits()),
		Err(ExecError::ForbiddenImport { module: "stratus:meter".into(), name: "units".into() })
	);
}

#[test]
fn an_infinite_loop_is_stopped_by_the_wall_clock() {
	let mut clock = limits();
	clock.max_units = u64::MAX;
	clock.max_wall = Duration::from_millis(100);
	let started = Instant::now();
	assert_eq!(run_wat(SPIN, b"", clock), Err(ExecError::Timeout(Duration::from_millis(100))));
	let took = started.elapsed();
	assert!(took >= Duration::from_millis(100), "stopped early: {took:?}");
	assert!(took < Duration::from_secs(10), "stopped late: {took:?}");
}

#[test]
fn a_memory_bomb_is_stopped() {
	let bomb = r#"(module (memory (export "memory") 1)
		(func (export "run") (loop $grow (drop (memory.grow (i32.const 16))) (br $grow))))"#;
	let mut small = limits();
	small.max_memory_bytes = 8 * MIB;
	assert_eq!(run_wat(bomb, b"", small.clone()), Err(ExecError::OutOfMemory(8 * MIB)));
	// A program that asks for more than the limit up front never starts.
	let big = r#"(module (memory (export "memory") 200) (func (export "run")))"#;
	assert_eq!(run_wat(big, b"", small.clone()), Err(ExecError::OutOfMemory(8 * MIB)));
	// Growth within the limit works: from 1 page to 127 (the 8 MiB less a page's room for
	// the output, which counts against the limit too), and the last page is usable.
	let grow = module(
		r#"(func (export "run")
			(i32.store (i32.const 0) (memory.grow (i32.const 126)))
			(i32.store (i32.const 0x7efffc) (i32.const 42))
			(drop (call $output_write (i32.const 0x7efffc) (i32.const 4)))
			(drop (call $output_write (i32.const 0) (i32.const 4))))"#,
	);
	let outcome = run_wat(&grow, b"", small).unwrap();
	assert_eq!(outcome.output, [42, 0, 0, 0, 1, 0, 0, 0]);
}

#[test]
fn forbidden_imports_are_refused_before_running() {
	// Each would trap in its start function if it ran.
	let cases = [
		(
			r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
			"wasi_snapshot_preview1",
			"fd_write",
		),
		(
			r#"(import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))"#,
			"wasi_snapshot_preview1",
			"random_get",
		),
		(r#"(import "stratus" "clock_now" (func (result i64)))"#, "stratus", "clock_now"),
		(r#"(import "stratus" "input_len" (func (result i64)))"#, "stratus", "input_len"),
		(
			r#"(import "stratus" "input_read" (func (param i32 i32) (result i32)))"#,
			"stratus",
			"input_read",
		),
		(r#"(import "stratus" "output_write" (func (param i32 i32)))"#, "stratus", "output_write"),
		(r#"(import "stratus" "input_len" (global i32))"#, "stratus", "input_len"),
		(r#"(import "env" "table" (table 1 funcref))"#, "env", "table"),
	];
	for (import, module, name) in cases {
		let wat = format!(
			r#"(module {import} (memory (export "memory") 1) (func $boom unreachable)
				(start $boom) (func (export "run")))"#
		);
		assert_eq!(
			run_wat(&wat, b"", limits()),
			Err(ExecError::ForbiddenImport { module: module.into(), name: name.into() }),
			"{import}"
		);
	}
	let memory = r#"(module (import "stratus" "memory" (memory 1)) (export "memory" (memory 0))
		(func (export "run")))"#;
	assert_eq!(
		run_wat(memory, b"", limits()),
		Err(ExecError::ForbiddenImport { module: "stratus".into(), name: "memory".into() })
	);
}

#[test]
fn programs_without_the_abi_exports_are_refused() {
	for wat in [
		r#"(module (memory (export "memory") 1))"#,
		r#"(module (memory (export "memory") 1) (func (export "main")))"#,
		r#"(module (memory (export "memory") 1) (func (export "run") (param i32)))"#,
		r#"(module (memory (export "memory") 1) (func (export "run") (result i32) i32.const 0))"#,
		r#"(module (memory (export "memory") 1) (global (export "run") i32 (i32.const 0)))"#,
		r#"(module (memory 1) (func (export "run")))"#,
		r#"(module (memory (export "mem") 1) (func (export "run")))"#,
		r#"(module (func (export "run")))"#,
		r#"(module (func (export "memory")) (func (export "run")))"#,
	] {
		assert!(matches!(run_wat(wat, b"", limits()), Err(ExecError::BadAbi(_))), "{wat}");
	}
}

#[test]
fn invalid_and_nondeterministic_programs_do_not_compile() {
	let compile_error = |program: &[u8]| {
		matches!(
			run_on(executor(), program, b"", limits(), Arc::new(NoCheckpoints)),
			Err(ExecError::Compile(_))
		)
	};
	assert!(compile_error(b"not wasm at all"));
	assert!(compile_error(b"\0asm\x01\0\0\0\x01"));
	assert!(compile_error(b""));
	for wat in [
		// Threads: a shared memory and atomics.
		r#"(module (memory (export "memory") 1 1 shared) (func (export "run")))"#,
		// Relaxed SIMD: results differ between CPUs.
		r#"(module (memory (export "memory") 1) (func (export "run")
			(drop (i32x4.relaxed_trunc_f32x4_s (v128.const i32x4 0 0 0 0)))))"#,
		// Memory64 and multiple memories: outside the ABI.
		r#"(module (memory (export "memory") i64 1) (func (export "run")))"#,
		r#"(module (memory (export "memory") 1) (memory 1) (func (export "run")))"#,
	] {
		assert!(compile_error(&wat::parse_str(wat).unwrap()), "{wat}");
	}
	// Bytes that do not match the hash the job names.
	let program =
		wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#).unwrap();
	let job = WasmJob { program_hash: [0; 32], program: &program, input: b"", limits: limits() };
	assert!(matches!(executor().run(&job, Arc::new(NoCheckpoints)), Err(ExecError::Compile(_))));
}

#[test]
fn traps_are_clean_errors() {
	let trap = |body: &str| match run_wat(&module(body), b"", limits()) {
		Err(ExecError::Trap(message)) => message,
		other => panic!("expected a trap, got {other:?}"),
	};
	assert!(trap(r#"(func (export "run") unreachable)"#).contains("unreachable"));
	let div = trap(r#"(func (export "run") (drop (i32.div_s (i32.const 1) (call $input_len))))"#);
	assert!(div.contains("divide by zero"), "{div}");
	let oob = trap(r#"(func (export "run") (drop (i32.load (i32.const 70000))))"#);
	assert!(oob.contains("out of bounds"), "{oob}");
	let stack = trap(r#"(func $f (export "run") (call $f))"#);
	assert!(stack.contains("stack"), "{stack}");
	// Host calls check their pointers against the program's memory.
	let write =
		trap(r#"(func (export "run") (drop (call $output_write (i32.const -1) (i32.const 2))))"#);
	assert!(write.contains("output_write"), "{write}");
	let program = wat::parse_str(module(
		r#"(func (export "run")
			(drop (call $input_read (i32.const 65530) (i32.const 0) (i32.const 8))))"#,
	))
	.unwrap();
	match run_on(executor(), &program, &[1; 8], limits(), Arc::new(NoCheckpoints)) {
		Err(ExecError::Trap(message)) => assert!(message.contains("input_read"), "{message}"),
		other => panic!("expected a trap, got {other:?}"),
	}
	// Reading nothing is fine anywhere in memory (the input is empty here).
	assert!(run_on(executor(), &program, b"", limits(), Arc::new(NoCheckpoints)).is_ok());
}

#[test]
fn output_beyond_the_limit_is_refused() {
	let two_writes = module(
		r#"(func (export "run")
			(drop (call $output_write (i32.const 0) (i32.const 40)))
			(drop (call $output_write (i32.const 0) (i32.const 40))))"#,
	);
	let mut small = limits();
	small.max_output_bytes = 64;
	assert_eq!(
		run_wat(&two_writes, b"", small.clone()),
		Err(ExecError::OutputTooLarge { size: 80, max: 64 })
	);
	small.max_output_bytes = 80;
	assert_eq!(run_wat(&two_writes, b"", small).unwrap().output, vec![0; 80]);
}

#[test]
fn a_checkpointing_job_resumes_after_a_restart() {
	let program = wat::parse_str(sum_of_squares()).unwrap();
	let n = 1_000_000u64;
	let input = n.to_le_bytes();
	let expected = sum_of_squares_reference(n);

	// Uninterrupted, for comparison (its saves go nowhere).
	let whole = run_on(executor(), &program, &input, limits(), Arc::new(NoCheckpoints)).unwrap();
	assert_eq!(whole.output, expected);

	// The first run is cut off by its units after saving checkpoints...
	let store = Arc::new(MemoryCheckpoints::default());
	let mut first = limits();
	first.max_units = whole.units / 2;
	assert_eq!(
		run_on(executor(), &program, &input, first.clone(), store.clone()),
		Err(ExecError::OutOfUnits(first.max_units))
	);
	let (saved, saved_output) = store.get().expect("a checkpoint was saved");
	assert_eq!(saved.program_hash, digest(&program));
	assert_eq!((saved.output_len, &saved_output[..]), (4, &b"sum="[..]));
	// Saves are taken once every CHECKPOINT_INTERVAL_UNITS: the last one lies within one
	// interval of the cut, plus the 10,000 steps between the program's calls and a save's
	// cost (well under a million units).
	let recent = first.max_units - CHECKPOINT_INTERVAL_UNITS - 1_000_000;
	assert!(
		saved.units > recent && saved.units <= first.max_units,
		"{} of {}",
		saved.units,
		first.max_units
	);
	let steps = u64::from_le_bytes(saved.state[..8].try_into().unwrap());
	assert_eq!(steps % 10_000, 0);

	// ...then the worker restarts: a new executor, the checkpoint read back from "disk".
	let restarted = WasmExecutor::new(WasmConfig::default()).unwrap();
	let from_disk = Arc::new(MemoryCheckpoints::new(
		Checkpoint::decode(&saved.encode()).map(|c| (c, saved_output.clone())),
	));
	let resumed = run_on(&restarted, &program, &input, limits(), from_disk).unwrap();
	assert_eq!(resumed.output, expected);
	assert_eq!(resumed.digest, whole.digest);
	// Units add up: those before the checkpoint plus the rest. The work done after the last
	// save and before the cut is not counted, loading the checkpoint is: within a few units
	// of the uninterrupted run.
	// The compile charge is in the checkpoint's units, not charged again.
	assert!(resumed.units > saved.units);
	assert!(resumed.units.abs_diff(whole.units) < 100, "{} vs {}", resumed.units, whole.units);

	// The job's unit limit counts all its runs: the checkpoint's units included.
	let mut total = limits();
	total.max_units = saved.units + (whole.units - saved.units) / 2;
	let from_disk = Arc::new(MemoryCheckpoints::new(Some((saved.clone(), saved_output.clone()))));
	assert_eq!(
		run_on(&restarted, &program, &input, total.clone(), from_disk),
		Err(ExecError::OutOfUnits(total.max_units))
	);
	total.max_units = saved.units;
	let from_disk = Arc::new(MemoryCheckpoints::new(Some((saved, saved_output))));
	assert_eq!(
		run_on(&restarted, &program, &input, total.clone(), from_disk),
		Err(ExecError::OutOfUnits(total.max_units))
	);
}

#[test]
fn a_job_cut_off_by_the_wall_clock_resumes() {
	let program = wat::parse_str(sum_of_squares()).unwrap();
	let n = 30_000_000u64;
	let input = n.to_le_bytes();
	let store = Arc::new(MemoryCheckpoints::default());
	let mut first = limits();
	first.max_wall = Duration::from_millis(20);
	assert_eq!(
		run_on(executor(), &program, &input, first, store.clone()),
		Err(ExecError::Timeout(Duration::from_millis(20)))
	);
	let (saved, _) = store.get().expect("a checkpoint was saved");
	let outcome = run_on(executor(), &program, &input, limits(), store).unwrap();
	assert_eq!(outcome.output, sum_of_squares_reference(n));
	assert!(outcome.units > saved.units);
}

/// Counts the saves it is given.
#[derive(Default)]
struct CountingSaves(AtomicU64);

impl CheckpointStore for CountingSaves {
	fn load(&self) -> Option<(Checkpoint, Vec<u8>)> {
		None
	}

	fn save(&self, _: Checkpoint, _: &[u8]) -> io::Result<()> {
		self.0.fetch_add(1, Ordering::Relaxed);
		Ok(())
	}
}

/// A program that does nothing but call `checkpoint_save` runs out of units at the documented
/// price: every call costs CHECKPOINT_CALL_UNITS, a save is taken once every
/// CHECKPOINT_INTERVAL_UNITS (5M) units and costs max(CHECKPOINT_SAVE_FLOOR_UNITS, len) more.
#[test]
fn a_checkpoint_save_loop_runs_out_of_units_at_the_documented_price() {
	let save_loop = |len: u32| {
		format!(
			"(module {IMPORTS} (memory (export \"memory\") 17)
				(func (export \"run\")
					(loop $again
						(drop (call $checkpoint_save (i32.const 0) (i32.const {len})))
						(br $again))))"
		)
	};
	let mut budget = limits();
	budget.max_units = 50_000_000;
	budget.max_memory_bytes = 32 * MIB;
	// 1 MiB saves: taken at ~5M, 11M, 17M, ... 47M units (5M apart, plus 1M each): 8.
	// 16-byte saves cost the floor (100k): taken at ~5M, 10.1M, ... 45.8M: 9.
	for (len, saves) in [(1u32 << 20, 8), (16, 9)] {
		let program = wat::parse_str(save_loop(len)).unwrap();
		let store = Arc::new(CountingSaves::default());
		let job = WasmJob {
			program_hash: digest(&program),
			program: &program,
			input: b"",
			limits: budget.clone(),
		};
		let started = Instant::now();
		let failed = executor().run_counted(&job, store.clone()).unwrap_err();
		assert_eq!(failed.error, ExecError::OutOfUnits(budget.max_units), "{len}");
		assert_eq!(failed.units, budget.max_units);
		assert_eq!(store.0.load(Ordering::Relaxed), saves, "saves of {len} bytes");
		// About 50,000 calls: the host's time is what the units say, not more.
		assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
	}
	// The rate limit counts units, not time: a second run takes the same saves.
	let program = wat::parse_str(save_loop(16)).unwrap();
	let store = Arc::new(CountingSaves::default());
	let _ = run_on(executor(), &program, b"", budget, store.clone());
	assert_eq!(store.0.load(Ordering::Relaxed), 9);
}

/// The output counts against the job's memory limit with the linear memory: a job cannot keep
/// more in the worker's memory than its limit by writing it out.
#[test]
fn the_output_counts_against_the_memory_limit() {
	let mut small = limits();
	small.max_memory_bytes = MIB;
	small.max_output_bytes = 4 * MIB;
	// One 64 KiB page of memory, written out `n` times.
	let writes = |n: u32| {
		module(&format!(
			r#"(func (export "run") (local $i i32)
				(loop $again
					(drop (call $output_write (i32.const 0) (i32.const 65536)))
					(local.set $i (i32.add (local.get $i) (i32.const 1)))
					(br_if $again (i32.lt_u (local.get $i) (i32.const {n})))))"#
		))
	};
	// 64 KiB of memory and 15 × 64 KiB of output: exactly 1 MiB.
	assert_eq!(run_wat(&writes(15), b"", small.clone()).unwrap().output.len(), 15 << 16);
	assert_eq!(run_wat(&writes(16), b"", small.clone()), Err(ExecError::OutOfMemory(MIB)));
	// Memory cannot grow into what the output holds either.
	let grow_after_output = module(
		r#"(func (export "run")
			(drop (call $output_write (i32.const 0) (i32.const 65536)))
			(drop (call $output_write (i32.const 0) (i32.const 65536)))
			(drop (memory.grow (i32.const 14))))"#,
	);
	assert_eq!(run_wat(&grow_after_output, b"", small.clone()), Err(ExecError::OutOfMemory(MIB)));
	let fits = grow_after_output.replace("(i32.const 14)", "(i32.const 13)");
	assert!(run_wat(&fits, b"", small).is_ok());
}

#[test]
fn a_checkpoint_of_another_program_is_ignored() {
	let program = wat::parse_str(sum_of_squares()).unwrap();
	// Long enough to save (past CHECKPOINT_INTERVAL_UNITS).
	let input = 1_000_000u64.to_le_bytes();
	let stranger = Checkpoint {
		program_hash: [9; 32],
		units: 1 << 39,
		state: [7u8; 16].to_vec(),
		output_len: 4,
	};
	let store = Arc::new(MemoryCheckpoints::new(Some((stranger, b"junk".to_vec()))));
	let outcome = run_on(executor(), &program, &input, limits(), store.clone()).unwrap();
	assert_eq!(outcome.output, sum_of_squares_reference(1_000_000));
	assert!(outcome.units < 1 << 30);
	assert_eq!(store.get().unwrap().0.program_hash, digest(&program));
}

#[test]
fn checkpoints_encode_and_decode() {
	let checkpoint = Checkpoint {
		program_hash: [3; 32],
		units: 123_456_789,
		state: pseudo_random(1000),
		output_len: 7,
	};
	let bytes = checkpoint.encode();
	assert_eq!(Checkpoint::decode(&bytes), Some(checkpoint.clone()));
	for cut in [0, 4, 5, 37, 45, 53, bytes.len() - 1] {
		assert_eq!(Checkpoint::decode(&bytes[..cut]), None, "cut at {cut}");
	}
	let mut longer = bytes.clone();
	longer.push(0);
	assert_eq!(Checkpoint::decode(&longer), None);
	let mut corrupt = bytes;
	corrupt[0] = b'X';
	assert_eq!(Checkpoint::decode(&corrupt), None);
	let empty = Checkpoint { program_hash: [0; 32], units: 0, state: vec![], output_len: 0 };
	assert_eq!(Checkpoint::decode(&empty.encode()), Some(empty));
}

#[test]
fn the_module_cache_hits_and_evicts() {
	let executor = WasmExecutor::new(WasmConfig {
		cached_programs: 2,
		max_concurrent_jobs: 2,
		..WasmConfig::default()
	})
	.unwrap();
	let programs: Vec<Vec<u8>> =
		[reverse(), fnv(), sum_of_squares()].iter().map(|w| wat::parse_str(w).unwrap()).collect();
	let input = 777u64.to_le_bytes();
	let run = |i: usize| {
		run_on(&executor, &programs[i], &input, limits(), Arc::new(NoCheckpoints)).unwrap()
	};
	let first = run(0);
	assert_eq!(executor.cache_stats(), CacheStats { hits: 0, misses: 1, programs: 1 });
	assert_eq!(run(0), first);
	assert_eq!(executor.cache_stats(), CacheStats { hits: 1, misses: 1, programs: 1 });
	run(1);
	run(0); // 0 is now more recently used than 1
	run(2); // evicts 1
	assert_eq!(executor.cache_stats(), CacheStats { hits: 2, misses: 3, programs: 2 });
	run(0);
	assert_eq!(executor.cache_stats().hits, 3);
	run(1);
	assert_eq!(executor.cache_stats(), CacheStats { hits: 3, misses: 4, programs: 2 });
	// A cached program with another job's hash is still checked on its own miss.
	executor.prepare(&digest(&programs[2]), &programs[2]).unwrap();
	assert_eq!(
		executor.prepare(&[1; 32], &programs[2]),
		Err(ExecError::Compile("the program's bytes do not match its hash".into()))
	);
	// No cache at all still runs.
	let uncached = WasmExecutor::new(WasmConfig {
		cached_programs: 0,
		max_concurrent_jobs: 1,
		..WasmConfig::default()
	})
	.unwrap();
	let again = run_on(&uncached, &programs[0], &input, limits(), Arc::new(NoCheckpoints)).unwrap();
	assert_eq!(again, first);
	assert_eq!(uncached.cache_stats().programs, 0);
}

#[test]
fn the_same_job_gives_the_same_outcome() {
	let input = pseudo_random(20_000);
	let a = run_wat(&fnv(), &input, limits()).unwrap();
	let b = run_wat(&fnv(), &input, limits()).unwrap();
	let other =
		WasmExecutor::new(WasmConfig { max_concurrent_jobs: 1, ..WasmConfig::default() }).unwrap();
	let c =
		run_on(&other, &wat::parse_str(fnv()).unwrap(), &input, limits(), Arc::new(NoCheckpoints))
			.unwrap();
	assert_eq!(a, b);
	assert_eq!(a, c);
	assert_eq!(a.digest, digest(&a.output));
}

#[test]
fn nans_are_canonical() {
	// 0/0 and sqrt(-1) from memory (nothing to fold at compile time). x86 produces a negative
	// NaN (0xffc00000) for 0/0; canonicalisation makes it 0x7fc00000 everywhere.
	let nans = module(
		r#"(func (export "run")
			(f32.store (i32.const 0) (f32.div (f32.load (i32.const 100)) (f32.load (i32.const 100))))
			(f64.store (i32.const 8) (f64.sqrt (f64.neg (f64.convert_i32_u (call $input_len)))))
			(drop (call $output_write (i32.const 0) (i32.const 16))))"#,
	);
	let outcome = run_wat(&nans, b"x", limits()).unwrap();
	assert_eq!(outcome.output[..4], 0x7fc0_0000u32.to_le_bytes());
	assert_eq!(outcome.output[8..], 0x7ff8_0000_0000_0000u64.to_le_bytes());
}

/// Every way a float's bits can leave float code, each fed a NaN with a payload (a signalling
/// NaN from memory, quieted by arithmetic: x86 keeps its payload) and a negative NaN (x86's
/// 0/0), through a helper with parameters and locals of its own (the rewrite's locals come
/// after them). Each must come out as the canonical NaN.
#[test]
fn nans_are_canonical_wherever_their_bits_are_seen() {
	let nans = module(
		r#"(func $bits (param $x f64) (param $y f32) (local $i i32) (local $k i64)
			(f64.store (i32.const 0) (local.get $x))
			(i64.store (i32.const 8) (i64.reinterpret_f64 (local.get $x)))
			(v128.store (i32.const 16) (f64x2.splat (local.get $x)))
			(v128.store (i32.const 32) (f64x2.replace_lane 1 (v128.const i64x2 0 0) (local.get $x)))
			(f32.store (i32.const 48) (local.get $y))
			(i32.store (i32.const 52) (i32.reinterpret_f32 (local.get $y)))
			(v128.store (i32.const 56) (f32x4.splat (local.get $y)))
			(v128.store (i32.const 72) (f32x4.replace_lane 3 (v128.const i32x4 0 0 0 0) (local.get $y))))
		(func (export "run")
			(i64.store (i32.const 1000) (i64.const 0x7ff4000000000001))
			(i32.store (i32.const 1008) (i32.const 0x7fa00001))
			(call $bits
				(f64.add (f64.load (i32.const 1000)) (f64.const 1))
				(f32.add (f32.load (i32.const 1008)) (f32.const 1)))
			(drop (call $output_write (i32.const 0) (i32.const 88)))
			(call $bits
				(f64.div (f64.load (i32.const 2000)) (f64.load (i32.const 2000)))
				(f32.neg (f32.div (f32.load (i32.const 2000)) (f32.load (i32.const 2000)))))
			(drop (call $output_write (i32.const 0) (i32.const 88)))
			;; lanes: 0/0 in every lane, and a quieted payload NaN next to a number.
			(v128.store (i32.const 0) (f32x4.div (v128.load (i32.const 2000)) (v128.load (i32.const 2000))))
			(v128.store (i32.const 16) (f64x2.add (v128.const i64x2 0x7ff4000000000001 0x3ff0000000000000) (v128.const f64x2 1 1)))
			;; a lane result consumed by another lane instruction is checked there: the sum of
			;; a product is canonical, the negation of a sum is the canonical NaN negated.
			(v128.store (i32.const 32) (f64x2.add (f64x2.mul (v128.const i64x2 0x7ff4000000000001 0) (v128.const f64x2 1 1)) (v128.const f64x2 1 1)))
			(v128.store (i32.const 48) (f64x2.neg (f64x2.add (v128.const i64x2 0x7ff4000000000001 0) (v128.const f64x2 1 1))))
			(drop (call $output_write (i32.const 0) (i32.const 64))))"#,
	);
	let output = run_wat(&nans, b"", limits()).unwrap().output;
	let f64_nan = 0x7ff8_0000_0000_0000u64.to_le_bytes();
	let f32_nan = 0x7fc0_0000u32.to_le_bytes();
	let scalars = [
		[&f64_nan[..], &f64_nan, &f64_nan, &f64_nan, &[0; 8], &f64_nan].concat(),
		[&f32_nan[..], &f32_nan, &f32_nan, &f32_nan, &f32_nan, &f32_nan, &[0; 12], &f32_nan]
			.concat(),
	]
	.concat();
	assert_eq!(output[..88], scalars, "payload NaNs");
	assert_eq!(output[88..176], scalars, "negative NaNs");
	assert_eq!(output[176..192], [f32_nan; 4].concat(), "f32x4 lanes");
	assert_eq!(output[192..200], f64_nan, "f64x2 NaN lane");
	assert_eq!(output[200..208], 2.0f64.to_le_bytes(), "f64x2 number lane");
	assert_eq!(output[208..216], f64_nan, "f64x2.add of f64x2.mul");
	assert_eq!(output[216..224], 1.0f64.to_le_bytes(), "f64x2.add of f64x2.mul, number lane");
	assert_eq!(output[224..232], 0xfff8_0000_0000_0000u64.to_le_bytes(), "f64x2.neg of f64x2.add");
}

/// Each class of instruction of docs/job-abi.md's NaN table, fed NaNs whose bits differ
/// between CPUs (0/0 computed at run time: negative on x86, positive on Arm; a signalling NaN
/// quieted by arithmetic: its payload kept on x86 only), gives the bits the table says, the
/// same on every CPU. Each case stores its result at 0 and writes 16 bytes.
#[test]
fn every_class_of_float_instruction_gives_cpu_independent_bits() {
	let n32 = "(f32.div (f32.load (i32.const 2000)) (f32.load (i32.const 2000)))";
	let p32 = "(f32.add (f32.reinterpret_i32 (i32.const 0x7fa00001)) (f32.const 1))";
	let n64 = "(f64.div (f64.load (i32.const 2000)) (f64.load (i32.const 2000)))";
	let p64 = "(f64.add (f64.reinterpret_i64 (i64.const 0x7ff4000000000001)) (f64.const 1))";
	let v32 = "(f32x4.div (v128.load (i32.const 2000)) (v128.load (i32.const 2000)))";
	let v64 = "(f64x2.div (v128.load (i32.const 2000)) (v128.load (i32.const 2000)))";
	let c32 = 0x7fc0_0000u32.to_le_bytes().to_vec();
	let c64 = 0x7ff8_0000_0000_0000u64.to_le_bytes().to_vec();
	let pad = |mut bytes: Vec<u8>| {
		bytes.resize(16, 0);
		bytes
	};
	let lanes32 = |bits: u32| bits.to_le_bytes().repeat(4);
	let lanes64 = |bits: u64| bits.to_le_bytes().repeat(2);
	let mut cases: Vec<(String, String, Vec<u8>)> = Vec::new();
	// Arithmetic, rounding, min/max, sign and moves, in both widths: a NaN, stored canonical.
	for (ty, nans, canonical) in [
		("f32", [(n32, "0/0"), (p32, "payload")], &c32),
		("f64", [(n64, "0/0"), (p64, "payload")], &c64),
	] {
		for (nan, name) in nans {
			for op in ["add", "sub", "mul", "div", "min", "max", "copysign"] {
				cases.push((
					format!("{ty}.{op} ({name})"),
					format!("({ty}.store (i32.const 0) ({ty}.{op} {nan} ({ty}.const 1)))"),
					pad(canonical.clone()),
				));
			}
			for op in ["sqrt", "ceil", "floor", "trunc", "nearest", "abs", "neg"] {
				cases.push((
					format!("{ty}.{op} ({name})"),
					format!("({ty}.store (i32.const 0) ({ty}.{op} {nan}))"),
					pad(canonical.clone()),
				));
			}
		}
	}
	for (nan, name) in [(n32, "0/0"), (p32, "payload")] {
		let store = |e: String| format!("(f32.store (i32.const 0) {e})");
		cases.push((
			format!("f32.demote_f64 ({name})"),
			store("(f32.demote_f64 N64)".replace("N64", n64)),
			pad(c32.clone()),
		));
		cases.push((
			format!("select ({name})"),
			store(format!("(select {nan} (f32.const 1) (i32.const 1))")),
			pad(c32.clone()),
		));
		cases.push((
			format!("i32.reinterpret_f32 ({name})"),
			format!("(i32.store (i32.const 0) (i32.reinterpret_f32 {nan}))"),
			pad(c32.clone()),
		));
		// Its sign given to a number: the canonical NaN's, positive.
		for sign in [nan.to_string(), format!("(f32.neg {nan})")] {
			cases.push((
				format!("f32.copysign 1, {name}"),
				store(format!("(f32.copysign (f32.const 1) {sign})")),
				pad(1.0f32.to_le_bytes().to_vec()),
			));
			cases.push((
				format!("f32.lt (copysign 1, {name}) 0"),
				format!("(i32.store (i32.const 0) (f32.lt (f32.copysign (f32.const 1) {sign}) (f32.const 0)))"),
				pad(vec![]),
			));
		}
		// Comparisons and saturating conversions do not see the bits.
		for (op, result) in [("eq", 0u8), ("ne", 1), ("lt", 0), ("ge", 0)] {
			cases.push((
				format!("f32.{op} ({name})"),
				format!("(i32.store (i32.const 0) (f32.{op} {nan} {nan}))"),
				pad(vec![result]),
			));
		}
		cases.push((
			format!("i32.trunc_sat_f32_s ({name})"),
			format!("(i32.store (i32.const 0) (i32.trunc_sat_f32_s {nan}))"),
			pad(vec![]),
		));
		cases.push((
			format!("f32x4.splat ({name})"),
			format!("(v128.store (i32.const 0) (f32x4.splat {nan}))"),
			lanes32(0x7fc0_0000),
		));
		cases.push((format!("f32x4.replace_lane ({name})"), format!("(v128.store (i32.const 0) (f32x4.replace_lane 2 (v128.const i32x4 0 0 0 0) {nan}))"), [vec![0; 8], c32.clone(), vec![0; 4]].concat()));
	}
	for (nan, name) in [(n64, "0/0"), (p64, "payload")] {
		let store = |e: String| format!("(f64.store (i32.const 0) {e})");
		cases.push((
			format!("f64.promote_f32 ({name})"),
			store(format!("(f64.promote_f32 {n32})")),
			pad(c64.clone()),
		));
		cases.push((
			format!("i64.reinterpret_f64 ({name})"),
			format!("(i64.store (i32.const 0) (i64.reinterpret_f64 {nan}))"),
			pad(c64.clone()),
		));
		for sign in [nan.to_string(), format!("(f64.neg {nan})")] {
			cases.push((
				format!("f64.copysign 1, {name}"),
				store(format!("(f64.copysign (f64.const 1) {sign})")),
				pad(1.0f64.to_le_bytes().to_vec()),
			));
		}
		cases.push((
			format!("i64.trunc_sat_f64_u ({name})"),
			format!("(i64.store (i32.const 0) (i64.trunc_sat_f64_u {nan}))"),
			pad(vec![]),
		));
		cases.push((
			format!("f64x2.splat ({name})"),
			format!("(v128.store (i32.const 0) (f64x2.splat {nan}))"),
			lanes64(0x7ff8_0000_0000_0000),
		));
	}
	// Lane instructions: every float lane result canonical where it is produced; sign-bit
	// lane instructions act on those canonical bits; comparisons and conversions to integers
	// do not see them; a lane taken out is a scalar like any other.
	let vstore = |e: String| format!("(v128.store (i32.const 0) {e})");
	for op in ["add", "sub", "mul", "div", "min", "max", "pmin", "pmax"] {
		cases.push((
			format!("f32x4.{op}"),
			vstore(format!("(f32x4.{op} {v32} (v128.const f32x4 1 1 1 1))")),
			lanes32(0x7fc0_0000),
		));
		cases.push((
			format!("f64x2.{op}"),
			vstore(format!("(f64x2.{op} {v64} (v128.const f64x2 1 1))")),
			lanes64(0x7ff8_0000_0000_0000),
		));
	}
	for op in ["sqrt", "ceil", "floor", "trunc", "nearest", "abs"] {
		cases.push((
			format!("f32x4.{op}"),
			vstore(format!("(f32x4.{op} {v32})")),
			lanes32(0x7fc0_0000),
		));
		cases.push((
			format!("f64x2.{op}"),
			vstore(format!("(f64x2.{op} {v64})")),
			lanes64(0x7ff8_0000_0000_0000),
		));
	}
	cases.push(("f32x4.neg".into(), vstore(format!("(f32x4.neg {v32})")), lanes32(0xffc0_0000)));
	cases.push((
		"f64x2.neg".into(),
		vstore(format!("(f64x2.neg {v64})")),
		lanes64(0xfff8_0000_0000_0000),
	));
	cases.push((
		"v128.xor (sign mask)".into(),
		vstore(format!(
			"(v128.xor {v32} (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))"
		)),
		lanes32(0xffc0_0000),
	));
	cases.push((
		"f32x4.demote_f64x2_zero".into(),
		vstore(format!("(f32x4.demote_f64x2_zero {v64})")),
		[c32.repeat(2), vec![0; 8]].concat(),
	));
	cases.push((
		"f64x2.promote_low_f32x4".into(),
		vstore(format!("(f64x2.promote_low_f32x4 {v32})")),
		lanes64(0x7ff8_0000_0000_0000),
	));
	cases.push(("f32x4.eq".into(), vstore(format!("(f32x4.eq {v32} {v32})")), vec![0; 16]));
	cases.push((
		"i32x4.trunc_sat_f32x4_s".into(),
		vstore(format!("(i32x4.trunc_sat_f32x4_s {v32})")),
		vec![0; 16],
	));
	cases.push((
		"f32x4.extract_lane, stored".into(),
		format!("(f32.store (i32.const 0) (f32x4.extract_lane 1 {v32}))"),
		pad(c32.clone()),
	));
	cases.push((
		"f32x4.extract_lane, its sign".into(),
		format!(
			"(f32.store (i32.const 0) (f32.copysign (f32.const 1) (f32x4.extract_lane 1 {v32})))"
		),
		pad(1.0f32.to_le_bytes().to_vec()),
	));
	cases.push((
		"f64x2.extract_lane, reinterpreted".into(),
		format!("(i64.store (i32.const 0) (i64.reinterpret_f64 (f64x2.extract_lane 0 {v64})))"),
		pad(c64.clone()),
	));
	for (name, body, expected) in &cases {
		let program = module(&format!(
			r#"(func (export "run") {body} (drop (call $output_write (i32.const 0) (i32.const 16))))"#
		));
		let output =
			run_wat(&program, b"", limits()).unwrap_or_else(|e| panic!("{name}: {e}")).output;
		assert_eq!(&output, expected, "{name}: {body}");
	}
	assert!(cases.len() > 100, "{} cases", cases.len());
}

/// Numbers — signed zeros, infinities, subnormals, the largest finite — keep their bits
/// through every checked instruction.
#[test]
fn numbers_pass_the_nan_checks_unchanged() {
	let numbers = module(
		r#"(func (export "run") (local $i i32) (local $x i64)
			(block $done (loop $next
				(br_if $done (i32.ge_u (local.get $i) (i32.const 6)))
				(local.set $x (i64.load (i32.shl (local.get $i) (i32.const 3))))
				(i64.store offset=1024 (i32.shl (local.get $i) (i32.const 3))
					(i64.reinterpret_f64 (f64.reinterpret_i64 (local.get $x))))
				(f64.store offset=2048 (i32.shl (local.get $i) (i32.const 3))
					(f64.reinterpret_i64 (local.get $x)))
				(f32.store offset=3072 (i32.shl (local.get $i) (i32.const 2))
					(f32.load offset=512 (i32.shl (local.get $i) (i32.const 2))))
				(local.set $i (i32.add (local.get $i) (i32.const 1)))
				(br $next)))
			(v128.store (i32.const 4096) (f64x2.mul (v128.load (i32.const 0)) (v128.const f64x2 1 1)))
			(drop (call $output_write (i32.const 1024) (i32.const 48)))
			(drop (call $output_write (i32.const 2048) (i32.const 48)))
			(drop (call $output_write (i32.const 3072) (i32.const 24)))
			(drop (call $output_write (i32.const 4096) (i32.const 16))))
		(data (i32.const 0)
			"\00\00\00\00\00\00\00\80" ;; -0
			"\00\00\00\00\00\00\f0\7f" ;; +inf
			"\00\00\00\00\00\00\f0\ff" ;; -inf
			"\01\00\00\00\00\00\00\00" ;; the smallest subnormal
			"\ff\ff\ff\ff\ff\ff\ef\7f" ;; the largest finite
			"\00\00\00\00\00\00\f8\3f") ;; 1.5
		(data (i32.const 512)
			"\00\00\00\80" "\00\00\80\7f" "\00\00\80\ff" "\01\00\00\00" "\ff\ff\7f\7f"
			"\00\00\c0\3f")"#,
	);
	let output = run_wat(&numbers, b"", limits()).unwrap().output;
	let bits: [u64; 6] =
		[0x8000_0000_0000_0000, 0x7ff0 << 48, 0xfff0 << 48, 1, 0x7fef_ffff_ffff_ffff, 0x3ff8 << 48];
	let words: Vec<u8> = bits.iter().flat_map(|b| b.to_le_bytes()).collect();
	let singles: [u32; 6] = [0x8000_0000, 0x7f80_0000, 0xff80_0000, 1, 0x7f7f_ffff, 0x3fc0_0000];
	let highs: Vec<u8> = singles.iter().flat_map(|b| b.to_le_bytes()).collect();
	assert_eq!(output[..48], words, "i64.reinterpret_f64");
	assert_eq!(output[48..96], words, "f64.store");
	assert_eq!(output[96..120], highs, "f32.store");
	assert_eq!(output[120..136], words[..16], "f64x2.mul by one");
}

#[test]
fn many_threads_share_one_executor() {
	let input = pseudo_random(3000);
	let expected = fnv_reference(&input);
	let program = wat::parse_str(fnv()).unwrap();
	thread::scope(|scope| {
		let handles: Vec<_> = (0..8)
			.map(|_| {
				scope.spawn(|| {
					(0..20)
						.map(|_| {
							run_on(executor(), &program, &input, limits(), Arc::new(NoCheckpoints))
								.unwrap()
						})
						.collect::<Vec<_>>()
				})
			})
			.collect();
		for handle in handles {
			for outcome in handle.join().unwrap() {
				assert_eq!(outcome.output, expected);
			}
		}
	});
}

#[test]
fn a_job_out_of_time_stops_alone() {
	// One executor: a spinning job with a short wall clock runs beside jobs with time to
	// spare; only the spinning one is stopped, and the stop memory it used serves later jobs
	// without stopping them.
	let executor =
		WasmExecutor::new(WasmConfig { max_concurrent_jobs: 4, ..WasmConfig::default() }).unwrap();
	let spin = wat::parse_str(SPIN).unwrap();
	let input = pseudo_random(200_000);
	let expected = fnv_reference(&input);
	let program = wat::parse_str(fnv()).unwrap();
	let mut short = limits();
	short.max_units = u64::MAX;
	short.max_wall = Duration::from_millis(200);
	thread::scope(|scope| {
		let spinning =
			scope.spawn(|| run_on(&executor, &spin, b"", short.clone(), Arc::new(NoCheckpoints)));
		let hashing = scope.spawn(|| {
			let started = Instant::now();
			let mut runs = 0;
			while runs < 3 || started.elapsed() < Duration::from_millis(600) {
				let outcome =
					run_on(&executor, &program, &input, limits(), Arc::new(NoCheckpoints));
				assert_eq!(outcome.unwrap().output, expected);
				runs += 1;
			}
		});
		assert_eq!(spinning.join().unwrap(), Err(ExecError::Timeout(short.max_wall)));
		hashing.join().unwrap();
	});
	for _ in 0..4 {
		let outcome = run_on(&executor, &program, &input, limits(), Arc::new(NoCheckpoints));
		assert_eq!(outcome.unwrap().output, expected);
	}
}

/// A store whose saves tell the test that the job is running.
struct Signal(Mutex<mpsc::Sender<()>>);

impl CheckpointStore for Signal {
	fn load(&self) -> Option<(Checkpoint, Vec<u8>)> {
		None
	}

	fn save(&self, _: Checkpoint, _: &[u8]) -> io::Result<()> {
		let _ = self.0.lock().unwrap().send(());
		Ok(())
	}
}

#[test]
fn jobs_beyond_the_pool_are_unavailable_not_crashes() {
	let executor =
		WasmExecutor::new(WasmConfig { max_concurrent_jobs: 1, ..WasmConfig::default() }).unwrap();
	let busy = wat::parse_str(module(
		// Saves as soon as the rate limit lets it (the store signals the save), then spins.
		r#"(func (export "run")
			(loop $save (br_if $save (call $checkpoint_save (i32.const 0) (i32.const 0))))
			(loop $l (br $l)))"#,
	))
	.unwrap();
	let (sender, running) = mpsc::channel();
	let mut long = limits();
	long.max_wall = Duration::from_millis(500);
	thread::scope(|scope| {
		let first = scope.spawn(|| {
			run_on(&executor, &busy, b"", long.clone(), Arc::new(Signal(Mutex::new(sender))))
		});
		running.recv().unwrap();
		let second = run_on(
			&executor,
			&wat::parse_str(reverse()).unwrap(),
			b"ab",
			limits(),
			Arc::new(NoCheckpoints),
		);
		assert!(matches!(second, Err(ExecError::Unavailable(_))), "{second:?}");
		assert_eq!(first.join().unwrap(), Err(ExecError::Timeout(long.max_wall)));
	});
	// The slot is free again.
	let outcome = run_on(
		&executor,
		&wat::parse_str(reverse()).unwrap(),
		b"ab",
		limits(),
		Arc::new(NoCheckpoints),
	);
	assert_eq!(outcome.unwrap().output, b"ba");
}

#[test]
fn bad_configurations_are_errors() {
	assert!(
		WasmExecutor::new(WasmConfig { max_concurrent_jobs: 0, ..WasmConfig::default() }).is_err()
	);
	assert!(WasmExecutor::new(WasmConfig { clock_tick: Duration::ZERO, ..WasmConfig::default() })
		.is_err());
}

#[test]
fn the_unit_rate_is_measured() {
	// Cranelift's code runs at the same speed in a debug build of the worker: billions of
	// units a second on any machine that runs the tests, never zero.
	let rate = measure_unit_rate(Duration::from_millis(50)).unwrap();
	assert!(rate > 100_000_000, "{rate}");
}

#[test]
fn the_clock_stops_only_jobs_past_their_deadline() {
	let engine = Engine::new(&engine_config(1)).unwrap();
	let clock = Clock::default();
	let now = Instant::now();
	let hour = Duration::from_secs(3600);
	let due = clock.start(&engine, Some(now)).unwrap();
	let later = clock.start(&engine, now.checked_add(hour)).unwrap();
	// `max_wall` too large for an `Instant`: no deadline.
	let never = clock.start(&engine, now.checked_add(Duration::MAX)).unwrap();
	clock.tick(now);
	assert!(due.stopped() && !later.stopped() && !never.stopped());
	// A finished job leaves the clock; its stop memory serves the next job, floor lowered.
	drop(due);
	let next = clock.start(&engine, None).unwrap();
	assert!(!next.stopped());
	assert!(clock.state.lock().unwrap().idle.is_empty());
	clock.tick(now + 2 * hour);
	assert!(later.stopped() && !never.stopped() && !next.stopped());
}

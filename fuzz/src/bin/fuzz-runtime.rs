//! The libFuzzer target `scripts/fuzz` builds and runs: every input is played by
//! [`stratus_fuzz::run`]; a panic (a broken invariant, a weight overrun, a runtime panic) is a
//! crash. Every 100 inputs (a line every minute or so) it prints how many inputs and extrinsics
//! this process has played, which `scripts/fuzz` adds up at the end.

#![no_main]

use std::sync::atomic::Ordering;
use stratus_fuzz::{TOTAL_EXTRINSICS, TOTAL_INPUTS};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
	stratus_fuzz::run(data);
	let inputs = TOTAL_INPUTS.load(Ordering::Relaxed);
	if inputs % 100 == 0 {
		let extrinsics = TOTAL_EXTRINSICS.load(Ordering::Relaxed);
		eprintln!("stratus-fuzz: {inputs} inputs, {extrinsics} extrinsics");
	}
});

//! Replays the committed corpus (`fuzz/corpus/runtime`, what `scripts/fuzz` found and merged)
//! and every crash the fuzzer found (`fuzz/regressions`, each fixed since) through the same
//! harness the fuzzer runs, so a change that breaks an invariant on any of them fails here.

use std::path::{Path, PathBuf};
use stratus_fuzz::Report;

fn inputs(dir: &str) -> Vec<PathBuf> {
	let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
	let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
		.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
		.map(|entry| entry.expect("a readable directory entry").path())
		.filter(|path| path.is_file() && path.file_name().is_some_and(|n| n != ".gitkeep"))
		.collect();
	files.sort();
	files
}

fn replay(files: &[PathBuf]) -> Report {
	let mut total = Report::default();
	for file in files {
		let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
		let result = std::panic::catch_unwind(|| stratus_fuzz::run(&data));
		match result {
			Ok(report) => total.add(&report),
			Err(_) => panic!("{} fails (replay it: scripts/fuzz --replay {0})", file.display()),
		}
	}
	total
}

#[test]
fn the_corpus_replays_and_reaches_every_stage_of_a_job() {
	let files = inputs("corpus/runtime");
	assert!(files.len() >= 50, "the corpus holds only {} inputs", files.len());
	let total = replay(&files);
	println!("{} inputs: {total:?}", files.len());
	// A corpus that no longer reaches settlements, slashes or governance calls (a harness or
	// runtime change that makes every call fail early) would test little: fail then.
	assert!(total.succeeded * 4 >= total.extrinsics, "most calls fail: {total:?}");
	assert!(total.revealed > 0 && total.settled > 0, "no job settles: {total:?}");
	assert!(total.slashes_reported > 0 && total.slashes_applied > 0, "no slash: {total:?}");
	assert!(total.root_calls > 0, "no governance call: {total:?}");
}

#[test]
fn every_crash_found_stays_fixed() {
	let files = inputs("regressions");
	replay(&files);
}

#[test]
fn any_bytes_are_an_input() {
	// Empty, short and random inputs decode to some actions and play without a failed check.
	let mut seed = 0x5eed_u64;
	for len in [0usize, 1, 2, 7, 64, 300, 1000] {
		let data: Vec<u8> = (0..len)
			.map(|_| {
				seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
				(seed >> 56) as u8
			})
			.collect();
		stratus_fuzz::run(&data);
	}
}

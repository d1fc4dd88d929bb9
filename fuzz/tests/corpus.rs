//! Replays the committed corpus (`fuzz/corpus/runtime`, what `scripts/fuzz` found and merged)
//! and every crash the fuzzer found (`fuzz/regressions`, each fixed since) through the same
//! harness the fuzzer runs, so a change that breaks an invariant on any of them fails here; and
//! runs a short burst of fresh inputs, mutated from the corpus (`a_burst_of_mutated_inputs`).

// A test: a panic is a failure with its message, and the mutator's arithmetic and indexing are
// on lengths it has just checked.
#![allow(clippy::expect_used, clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use stratus_fuzz::{
	actions::{Action, By, Input, Policy, Tamper},
	Report,
};

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

/// Plays every file through the harness and adds up their reports.
fn replay(files: &[PathBuf]) -> Report {
	in_parallel(files, |_, file| {
		let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
		match std::panic::catch_unwind(|| stratus_fuzz::run(&data)) {
			Ok(report) => report,
			Err(_) => panic!("{} fails (replay it: scripts/fuzz --replay {0})", file.display()),
		}
	})
}

/// Runs `play` on every item (with its index) and adds up the reports, the items shared out
/// over one thread per core: each input runs in externalities of its own, so they are
/// independent, and on an otherwise idle 2-core machine the replay takes half the time. A panic
/// in any of them is the test's.
fn in_parallel<T: Sync>(items: &[T], play: impl Fn(usize, &T) -> Report + Sync) -> Report {
	let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
	let share = items.len().div_ceil(threads).max(1);
	std::thread::scope(|scope| {
		let handles: Vec<_> = items
			.chunks(share)
			.enumerate()
			.map(|(c, chunk)| {
				let play = &play;
				scope.spawn(move || {
					let mut total = Report::default();
					for (i, item) in chunk.iter().enumerate() {
						total.add(&play(c * share + i, item));
					}
					total
				})
			})
			.collect();
		let mut total = Report::default();
		for handle in handles {
			match handle.join() {
				Ok(report) => total.add(&report),
				Err(failure) => std::panic::resume_unwind(failure),
			}
		}
		total
	})
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
	let mut rng = Rng(0x5eed);
	for len in [0usize, 1, 2, 7, 64, 300, 1000] {
		let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
		stratus_fuzz::run(&data);
	}
}

/// A small, seeded generator (PCG's LCG step): the burst's inputs depend on the seed alone, so
/// a failing seed replays exactly.
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
		self.0 >> 33
	}
	fn below(&mut self, n: usize) -> usize {
		(self.next() % n.max(1) as u64) as usize
	}
}

/// One to four of libFuzzer's simplest mutations: a bit flipped, a byte set, bytes inserted or
/// erased, a range copied, or a splice with another corpus input.
fn mutate(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
	let mut data = base.to_vec();
	for _ in 0..1 + rng.below(4) {
		match rng.below(6) {
			0 if !data.is_empty() => {
				let i = rng.below(data.len());
				data[i] ^= 1 << rng.below(8);
			},
			1 if !data.is_empty() => {
				let i = rng.below(data.len());
				data[i] = rng.next() as u8;
			},
			2 => {
				let at = rng.below(data.len() + 1);
				let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
				data.splice(at..at, bytes);
			},
			3 if !data.is_empty() => {
				let at = rng.below(data.len());
				let end = (at + 1 + rng.below(8)).min(data.len());
				data.drain(at..end);
			},
			4 if !data.is_empty() => {
				let from = rng.below(data.len());
				let end = (from + 1 + rng.below(16)).min(data.len());
				let piece = data[from..end].to_vec();
				let at = rng.below(data.len() + 1);
				data.splice(at..at, piece);
			},
			_ => {
				let keep = rng.below(data.len() + 1);
				data.truncate(keep);
				data.extend_from_slice(&other[rng.below(other.len() + 1)..]);
			},
		}
	}
	data.truncate(4096);
	data
}

#[test]
fn a_burst_of_mutated_inputs() {
	// The short fuzzing burst of the README's test command: fresh inputs the corpus does not
	// hold, played through the same harness in the test build. It is not coverage-guided (that
	// is scripts/fuzz's libFuzzer build, which the test build does not compile): it mutates the
	// corpus at random. STRATUS_FUZZ_SEED picks the inputs (else the clock does) and
	// STRATUS_FUZZ_BURST how many (default 200); a failing input is saved and named.
	let seed = std::env::var("STRATUS_FUZZ_SEED")
		.ok()
		.map(|s| s.parse::<u64>().expect("STRATUS_FUZZ_SEED must be a whole number"))
		.unwrap_or_else(|| {
			std::time::SystemTime::now()
				.duration_since(std::time::UNIX_EPOCH)
				.expect("the clock is after 1970")
				.as_secs()
		});
	let count = std::env::var("STRATUS_FUZZ_BURST")
		.ok()
		.map(|s| s.parse::<usize>().expect("STRATUS_FUZZ_BURST must be a whole number"))
		.unwrap_or(200);
	let corpus: Vec<Vec<u8>> = inputs("corpus/runtime")
		.iter()
		.map(|file| std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
		.collect();
	assert!(!corpus.is_empty(), "the burst mutates the committed corpus, and it is empty");
	println!("burst: {count} inputs from seed {seed} (STRATUS_FUZZ_SEED={seed} replays them)");
	let mut rng = Rng(seed);
	let burst: Vec<Vec<u8>> = (0..count)
		.map(|_| {
			let base = &corpus[rng.below(corpus.len())];
			let other = &corpus[rng.below(corpus.len())];
			mutate(&mut rng, base, other)
		})
		.collect();
	let total =
		in_parallel(&burst, |i, data| match std::panic::catch_unwind(|| stratus_fuzz::run(data)) {
			Ok(report) => report,
			Err(_) => {
				let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/fuzz/artifacts");
				std::fs::create_dir_all(&dir).expect("the artifacts folder can be made");
				let file = dir.join(format!("burst-{seed}-{i}"));
				std::fs::write(&file, data).expect("the failing input can be saved");
				panic!(
					"input {i} of seed {seed} fails; saved as {} (scripts/fuzz --replay {0})",
					file.display()
				);
			},
		});
	println!("burst: {total:?}");
	assert!(total.extrinsics > 0, "the burst applied no extrinsic: {total:?}");
}

/// A job through every stage, as an honest requester and providers would play it.
fn a_job(policy: Policy, tamper: Tamper) -> Vec<Action> {
	let submit = Action::SubmitJob {
		who: 0,
		program: 0,
		input: Input::Inline(8),
		policy,
		max_price: 1_000,
		max_units: 100,
		commit_window: 4,
		deadline_in: 400,
		max_output_kib: 64,
		regions: 0,
		min_stake: 0,
		min_reputation: 0,
		min_cpu_cores: 1,
		gpu: false,
	};
	let mut actions = vec![submit, Action::Blocks(0)];
	for pick in 0..3 {
		actions.push(Action::Acknowledge { pick, by: By::Worker });
	}
	actions.push(Action::Blocks(0));
	for pick in 0..3 {
		actions.push(Action::Commit { pick, by: By::Worker, result: 0, units: 1 });
	}
	actions.push(Action::Blocks(0));
	for pick in 0..3 {
		let tamper = if pick == 0 { tamper } else { Tamper::None };
		actions.push(Action::Reveal { pick, by: By::Worker, tamper });
	}
	actions.push(Action::Blocks(0));
	actions
}

#[test]
fn the_harness_plays_a_job_to_settlement() {
	// The harness's actions can take a job through every stage: if they could not, the fuzzer
	// could not either, and the corpus test above would say so only later.
	let honest = stratus_fuzz::play(&a_job(Policy::Replicated(2), Tamper::None));
	println!("honest: {honest:?}");
	assert_eq!((honest.revealed, honest.settled), (2, 1), "{honest:?}");
	// The same through `Work`, each the next honest step of some replica.
	let mut actions = a_job(Policy::Replicated(2), Tamper::None);
	actions.truncate(2);
	for _ in 0..3 {
		actions.extend(vec![Action::Work { pick: 0, result: 0, units: 1 }; 2]);
		actions.push(Action::Blocks(0));
	}
	let work = stratus_fuzz::play(&actions);
	assert_eq!((work.revealed, work.settled), (2, 1), "{work:?}");
	let cheat = stratus_fuzz::play(&a_job(Policy::Replicated(3), Tamper::Digest));
	println!("one of three lies: {cheat:?}");
	assert!(cheat.settled == 1 && cheat.slashes_applied >= 1, "{cheat:?}");
}

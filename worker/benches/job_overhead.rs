//! The worker's overhead per job outside chain waits, for a 1 MiB remote input and a 1 MiB output:
//! the functions the daemon runs for every job, timed one by one —
//!
//! 1. fetch the input over real HTTP (a local axum server) with its size and hash checked
//!    (`fetch::fetch_input`),
//! 2. digest the output (`executor::digest`),
//! 3. store output, digest, units and a fresh salt durably (`Store::store_result`: write, fsync,
//!    rename, directory fsync) and compute the commitment,
//! 4. sign the commit (sr25519 over an extrinsic-sized payload, as the submitter does).
//!
//! Baseline in the same run: the same HTTP GET of the same bytes with no checks. Prints medians and
//! 95th percentiles; the target is a total under 10 ms. Not a test: `scripts/bench-worker` runs it.

#![allow(clippy::expect_used, clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use stratus_worker::{
	executor, fetch,
	store::{Record, Stage, Store},
};

const INPUT_BYTES: usize = 1 << 20;
const RUNS: usize = 60;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
	samples.sort();
	let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
	samples.get(index).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
	format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn record(job: u64) -> Record {
	Record {
		job,
		replica: 0,
		requester: [1; 32],
		program: [2; 32],
		kind: stratus_primitives::JobKind::Wasm,
		offer: 0,
		max_units: 1,
		max_output_bytes: INPUT_BYTES as u32,
		stage: Stage::Running,
		..Record::default()
	}
}

#[tokio::main]
async fn main() {
	let input: Vec<u8> =
		(0..INPUT_BYTES).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
	let hash = executor::digest(&input);
	let body = input.clone();
	let app = axum::Router::new().route(
		"/input",
		axum::routing::get(move || {
			let body = body.clone();
			async move { body }
		}),
	);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
	let addr = listener.local_addr().expect("address");
	tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
	let url = format!("http://{addr}/input");
	let http = reqwest::Client::new();
	// The worker's own fetcher; this input server is on 127.0.0.1, which only a provider's
	// `allow_private_inputs` lets it reach.
	let fetcher = fetch::Fetcher::new(true).expect("fetcher");
	let data_dir = std::env::temp_dir().join(format!("stratus-overhead-{}", std::process::id()));
	let store = Store::open(&data_dir).expect("store");
	let key = stratus_client::keypair("//Bench").expect("key");
	let payload = [7u8; 120]; // a commit's signed payload: call + extensions, under 256 bytes

	let (mut baseline, mut fetch_t, mut digest_t, mut store_t, mut sign_t, mut total_t) =
		(vec![], vec![], vec![], vec![], vec![], vec![]);
	for run in 0..RUNS + 5 {
		let t = Instant::now();
		let plain = http.get(&url).send().await.expect("get").bytes().await.expect("body");
		let base = t.elapsed();
		assert_eq!(plain.len(), INPUT_BYTES);

		let t0 = Instant::now();
		let fetched = fetcher
			.fetch_input(
				url.as_bytes(),
				hash,
				INPUT_BYTES as u64,
				64 << 20,
				Duration::from_secs(30),
			)
			.await
			.expect("fetch");
		let t1 = Instant::now();
		// The output: here the input itself (1 MiB), so the digest covers a full megabyte.
		let digest = executor::digest(&fetched);
		let t2 = Instant::now();
		let job = run as u64;
		store.put(record(job)).expect("record");
		let stored = store
			.store_result(&store.get((job, 0)).expect("record"), &fetched, digest, 1, None)
			.expect("store");
		let commitment = stored.commitment(&[7; 32]).expect("commitment");
		let t3 = Instant::now();
		let mut signed = payload;
		signed[..32].copy_from_slice(&commitment);
		let signature = key.sign(&signed);
		let t4 = Instant::now();
		std::hint::black_box(signature);
		store.remove((job, 0)).expect("cleanup");
		if run < 5 {
			continue; // warm-up
		}
		baseline.push(base);
		fetch_t.push(t1 - t0);
		digest_t.push(t2 - t1);
		store_t.push(t3 - t2);
		sign_t.push(t4 - t3);
		total_t.push(t4 - t0);
	}
	let _ = std::fs::remove_dir_all(&data_dir);

	println!("Worker overhead per job outside chain waits: 1 MiB input over HTTP, 1 MiB output, {RUNS} runs");
	println!("{:<52} {:>12} {:>12}", "step", "median", "p95");
	let mut rows = [
		("baseline: plain HTTP GET of the same 1 MiB", &mut baseline),
		("1. fetch + size check + blake2-256 check", &mut fetch_t),
		("2. digest of the output (blake2-256)", &mut digest_t),
		("3. store output + record durably, commitment", &mut store_t),
		("4. sign the commit (sr25519)", &mut sign_t),
		("total (1-4)", &mut total_t),
	];
	let mut medians = Vec::new();
	for (name, samples) in rows.iter_mut() {
		let median = percentile(samples, 0.5);
		medians.push(median);
		println!("{name:<52} {:>12} {:>12}", ms(median), ms(percentile(samples, 0.95)));
	}
	let (base, total) = (medians[0], medians[5]);
	println!(
		"total / baseline GET: {:.2}x; target: total < 10 ms → {}",
		total.as_secs_f64() / base.as_secs_f64(),
		if total < Duration::from_millis(10) { "met" } else { "MISSED" }
	);
}

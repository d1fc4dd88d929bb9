//! `stratus job result`: the output downloaded from a replica's worker with a signed request,
//! decrypted, checked against the settled digest and written.

use super::*;

pub(crate) async fn result(
	session: &Session,
	cli: &Cli,
	job: u64,
	output: &Path,
	plain: bool,
) -> anyhow::Result<ExitCode> {
	let key = key(cli)?;
	let status = job_status(session, job).await?;
	let got = fetch(session, &key, job, &status, plain, Duration::ZERO).await?;
	write_output(output, &got.bytes)?;
	let digest = got.digest;
	if cli.json {
		print_json(&json!({
			"job": job, "digest": digest, "bytes": got.bytes.len(),
			"provider": got.provider, "output": output,
		}))?;
	} else {
		eprintln!(
			"job {job}: {} bytes from {}; blake2-256 matches the chain's canonical digest \
			 {digest}; written to {}",
			got.bytes.len(),
			got.endpoint,
			output.display()
		);
	}
	Ok(ExitCode::SUCCESS)
}

/// A settled job's output, as one provider served it and the chain's digest verified it.
pub(crate) struct Output {
	pub bytes: Vec<u8>,
	pub endpoint: String,
	pub provider: String,
	pub digest: String,
}

/// [`fetch`], encrypted in transit.
pub(crate) async fn fetch_verified(
	session: &Session,
	key: &Keypair,
	job: u64,
	status: &Job,
	patience: Duration,
) -> anyhow::Result<Output> {
	fetch(session, key, job, status, false, patience).await
}

/// Downloads the output of settled job `job` (`status`, read at a finalized block) from the
/// providers whose replicas revealed the canonical digest, until one serves bytes with that
/// digest; asks them all again every [`RETRY_EVERY`] for `patience` (a worker serves the output once it
/// has seen the settlement finalized, a moment after this client may have).
async fn fetch(
	session: &Session,
	key: &Keypair,
	job: u64,
	status: &Job,
	plain: bool,
	patience: Duration,
) -> anyhow::Result<Output> {
	let JobPhase::Settled { digest } = status.phase else {
		bail!(
			"job {job} is {}, not settled: its output is served once a quorum agreed on it \
			 (`stratus job watch {job}` follows it)",
			phase_words(&status.phase)
		);
	};
	let canonical = digest.0;
	let digest = hex32(&canonical);
	let at = session.at().await?;
	let genesis = session.conn.client.genesis_hash().0;
	let http = reqwest::Client::builder()
		.timeout(Duration::from_secs(60))
		.build()
		.context("starting the HTTP client")?;
	let mut endpoints = Vec::new();
	let mut tried = Vec::new();
	// The providers that revealed the canonical digest, read at once (the requester waits).
	let providers: Vec<_> = status
		.replicas
		.iter()
		.filter(|r| r.digest.map(|d| d.0) == Some(canonical))
		.map(|r| chain::account(&r.provider))
		.collect();
	let records = futures::future::try_join_all(
		providers.iter().map(|provider| chain::Chain::provider(&at, provider)),
	)
	.await?;
	for (provider, record) in providers.into_iter().zip(records) {
		let endpoint = record
			.and_then(|p| p.profile.0.endpoint)
			.and_then(|e| String::from_utf8(e.into_inner()).ok());
		match endpoint {
			Some(endpoint) => endpoints.push((provider, endpoint)),
			None => tried.push(format!(
				"{}: no result endpoint registered",
				stratus_client::ss58(&provider)
			)),
		}
	}
	if endpoints.is_empty() && tried.is_empty() {
		bail!("job {job}: no replica revealed the canonical digest {digest}");
	}
	let give_up = Instant::now().checked_add(patience);
	loop {
		let mut failed = Vec::new();
		for (provider, endpoint) in &endpoints {
			match download(&http, &genesis, endpoint, job, key, plain).await {
				Ok(bytes) if stratus_client::blake2_256(&bytes) == canonical => {
					return Ok(Output {
						bytes,
						endpoint: endpoint.clone(),
						provider: stratus_client::ss58(provider),
						digest,
					});
				},
				Ok(bytes) => failed.push(format!(
					"{endpoint}: served {} bytes whose digest 0x{} is not the canonical one",
					bytes.len(),
					hex::encode(stratus_client::blake2_256(&bytes))
				)),
				Err(e) => failed.push(format!("{endpoint}: {e:#}")),
			}
		}
		if endpoints.is_empty() || give_up.is_none_or(|at| Instant::now() >= at) {
			tried.extend(failed);
			bail!("job {job}: no provider served the verified output:\n  {}", tried.join("\n  "))
		}
		tokio::time::sleep(RETRY_EVERY).await;
	}
}

/// How often a settled job's providers are asked again: a worker serves the output a moment
/// after the settlement is final (it reads how its replicas ended first thing at each finalized
/// block), and ten requests a second stay well under its per-address limit (20 a second).
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// One signed download; the body decrypted when it was encrypted to us.
pub(crate) async fn download(
	http: &reqwest::Client,
	genesis: &[u8; 32],
	endpoint: &str,
	job: u64,
	key: &Keypair,
	plain: bool,
) -> anyhow::Result<Vec<u8>> {
	let url = format!("{}/jobs/{job}/output", endpoint.trim_end_matches('/'));
	let now_ms = u64::try_from(
		std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis(),
	)?;
	let secret: [u8; 32] = rand::random();
	let box_key = (!plain).then(|| seal::public_key(secret));
	let account = stratus_client::account_of(key).0;
	let headers =
		auth::signed_headers(genesis, endpoint, job, now_ms, box_key.as_ref(), &account, |m| {
			key.sign(m).0
		});
	let mut request = http.get(&url);
	for (name, value) in headers {
		request = request.header(name, value);
	}
	let response = request.send().await.with_context(|| format!("GET {url}"))?;
	let status = response.status();
	let encrypted = response.headers().get(seal::ENCRYPTION_HEADER).is_some();
	let body = response.bytes().await.with_context(|| format!("reading {url}"))?;
	if !status.is_success() {
		bail!("{status}: {}", String::from_utf8_lossy(&body).trim());
	}
	if encrypted {
		return seal::open(&body, secret)
			.ok_or_else(|| anyhow!("the encrypted output does not open with our key"));
	}
	Ok(body.to_vec())
}

pub(crate) fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
	if path == Path::new("-") {
		use std::io::Write;
		std::io::stdout().write_all(bytes)?;
		return Ok(());
	}
	std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

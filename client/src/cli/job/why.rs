//! `stratus job why`: which of a job's requirements excluded how many offers.

use super::*;

/// `market_whyNoMatch`'s answer.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NoMatchReport {
	job: u64,
	kind: String,
	unfilled: u8,
	time_left: bool,
	offers: u32,
	eligible: u32,
	excluded_by: Vec<(String, u32)>,
}

/// What a requirement that excludes offers means, in words.
pub(crate) fn requirement_words(requirement: &str) -> &'static str {
	match requirement {
		"maxPrice" => "ask more per unit than the job's max_price",
		"notExpired" => "have expired",
		"providerInGoodStanding" => {
			"belong to providers that are leaving or whose stake no longer covers their slots"
		},
		"minStake" => "belong to providers with less stake than requirements.min_stake",
		"region" => {
			"are in regions the job does not allow (requirements.regions / exclude_regions)"
		},
		"minCpuCores" => "have fewer CPU cores than requirements.min_cpu_cores",
		"minMemory" => "have less memory than requirements.min_memory_mib",
		"minVram" => "have less GPU memory than requirements.min_vram_mib",
		"minComputeCapability" => "have GPUs below requirements.min_compute_capability",
		"gpuModel" => "have GPU models not in requirements.gpu_models",
		"minReputation" => {
			"belong to providers whose reputation for this kind of job is below \
			 requirements.min_reputation"
		},
		"distinctProvider" => {
			"belong to providers already running a replica of this job (each replica needs a \
			 different provider)"
		},
		_ => "are excluded by a requirement this version of stratus does not know",
	}
}

pub(crate) async fn why(session: &Session, cli: &Cli, job: u64) -> anyhow::Result<ExitCode> {
	let report: Value = session.rpc("market_whyNoMatch", [json!(job)]).await?;
	if report.is_null() {
		return Err(no_such_job(job));
	}
	if cli.json {
		print_json(&report)?;
		return Ok(ExitCode::SUCCESS);
	}
	let report: NoMatchReport = serde_json::from_value(report)?;
	let status = job_status(session, job).await?;
	if !matches!(status.phase, Phase::Open) {
		println!("job {job} is {}: matching is over.", phase_words(&status.phase));
		return Ok(ExitCode::SUCCESS);
	}
	if report.unfilled == 0 {
		println!(
			"job {job} is fully matched: all {} replica(s) have providers.",
			status.replication
		);
		return Ok(ExitCode::SUCCESS);
	}
	println!("job {job} waits for {} replica(s).", report.unfilled);
	if report.offers == 0 {
		println!(
			"There are no open {} offers with a free slot: no provider sells this kind of compute \
			 right now, or every slot is taken. The job rests until one is offered.",
			report.kind.to_lowercase()
		);
	} else {
		println!(
			"Of the {} open {} offer(s) with a free slot, {} meet(s) every requirement.",
			report.offers,
			report.kind.to_lowercase(),
			report.eligible
		);
		for (requirement, count) in &report.excluded_by {
			println!("  {count} offer(s) {}", requirement_words(requirement));
		}
	}
	if !report.time_left {
		println!(
			"Too little time is left before the deadline for a newly matched replica to finish: \
			 the job will expire and its escrow be refunded."
		);
	} else {
		println!(
			"Change what excludes them in the manifest (or raise max_price) and post the job \
			 again — `stratus job cancel {job}` refunds this one; `stratus market` shows what is \
			 offered."
		);
	}
	Ok(ExitCode::SUCCESS)
}

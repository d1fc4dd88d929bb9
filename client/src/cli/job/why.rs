//! `stratus job why`: which of a job's requirements excluded how many offers.

use super::*;

/// What a requirement that excludes offers means, in words.
pub(crate) fn requirement_words(requirement: Requirement) -> &'static str {
	match requirement {
		Requirement::MaxPrice => "ask more per unit than the job's max_price",
		Requirement::NotExpired => "have expired",
		Requirement::ProviderInGoodStanding => {
			"belong to providers that are leaving or whose stake no longer covers their slots"
		},
		Requirement::MinStake => "belong to providers with less stake than requirements.min_stake",
		Requirement::Region => {
			"are in regions the job does not allow (requirements.regions_allowed / regions_denied)"
		},
		Requirement::MinCpuCores => "have fewer CPU cores than requirements.min_cpu_cores",
		Requirement::MinMemory => "have less memory than requirements.min_memory_mib",
		Requirement::MinVram => "have less GPU memory than requirements.min_vram_mib",
		Requirement::MinComputeCapability => "have GPUs below requirements.min_compute_capability",
		Requirement::GpuModel => "have GPU models not in requirements.gpu_models",
		Requirement::MinReputation => {
			"belong to providers whose reputation for this kind of job is below \
			 requirements.min_reputation"
		},
		Requirement::DistinctProvider => {
			"belong to providers already running a replica of this job (each replica needs a \
			 different provider)"
		},
	}
}

pub(crate) async fn why(session: &Session, cli: &Cli, job: u64) -> anyhow::Result<ExitCode> {
	let at = session.at().await?;
	let report = chain::Chain::why_no_match(&at, job).await?.ok_or_else(|| no_such_job(job))?;
	if cli.json {
		print_json(&report)?;
		return Ok(ExitCode::SUCCESS);
	}
	let status = chain::Chain::job(&at, job).await?.ok_or_else(|| no_such_job(job))?;
	if status.phase != JobPhase::Open {
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
			report.kind.name()
		);
	} else {
		println!(
			"Of the {} open {} offer(s) with a free slot, {} meet(s) every requirement.",
			report.offers,
			report.kind.name(),
			report.eligible
		);
		for (requirement, count) in &report.excluded_by {
			println!("  {count} offer(s) {}", requirement_words(*requirement));
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

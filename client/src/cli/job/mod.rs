//! `stratus job …`.

use std::{
	path::{Path, PathBuf},
	process::ExitCode,
	time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use serde_json::json;
use stratus_client::{
	amount::Amount,
	auth,
	chain::{self, timed, Job},
	manifest::{policy_name, Manifest, Plan, PlannedInput, ProgramRef, VerificationPolicy},
	program::{compile_units, COMPILE_UNITS_PER_BYTE},
	runtime::{
		self as rt,
		runtime_types::pallet_market::types::{InputSpec, JobSpec, RequirementsSpec},
	},
	seal,
	subxt::utils::H256,
	Keypair,
};
use stratus_primitives::{
	market::{JobPhase, Missed, ReplicaState, Requirement, Role, SpotCheck},
	JobKind,
};

use crate::{
	cli::session::{hex32, key, limits, print_json, Session},
	Cli,
};

mod result;
mod status;
mod submit;
mod why;

use self::{result::*, status::*, submit::*, why::*};
pub(crate) use crate::cli::program::*;

#[derive(Subcommand, Debug)]
pub enum JobCommand {
	/// Post a job from a manifest (see docs/requester-guide.md) and follow it to settlement. The
	/// manifest is checked first — fields, sizes, deadline, price against the market, balance —
	/// and nothing is sent while anything is wrong.
	#[command(
		after_help = "Examples:\n  stratus job submit job.toml\n  stratus job submit job.toml \
	                        --wait -o out.bin   return with the verified output\n  stratus job \
	                        submit job.toml --detach     print the job id and return"
	)]
	Submit {
		/// The job manifest (TOML).
		manifest: PathBuf,
		/// Return once the job's posting is finalized instead of following it.
		#[arg(long, conflicts_with = "wait")]
		detach: bool,
		/// Follow the job until its result is verified, download it, check it against the
		/// chain's digest and write it to `--output`; return then.
		#[arg(long, requires = "output")]
		wait: bool,
		/// Where `--wait` writes the verified output (`-` for standard output).
		#[arg(long, short = 'o')]
		output: Option<PathBuf>,
	},
	/// A job's phase, escrow and replicas.
	Status {
		/// The job id.
		job: u64,
	},
	/// Follow a job until it ends, printing each step.
	Watch {
		/// The job id.
		job: u64,
	},
	/// Your jobs (or another requester's, with --requester).
	List {
		/// List this account's jobs instead of the signing account's.
		#[arg(long)]
		requester: Option<String>,
	},
	/// Cancel a job that no replica has committed a result for: everything held is refunded.
	/// (Once a result is committed the job runs to its verdict.)
	Cancel {
		/// The job id.
		job: u64,
	},
	/// Why a job is not (fully) matched, requirement by requirement.
	Why {
		/// The job id.
		job: u64,
	},
	/// Download a settled job's output from a provider that revealed the canonical result, check
	/// it against the chain's digest and write it out.
	#[command(after_help = "Example:\n  stratus job result 7 -o out.bin")]
	Result {
		/// The job id.
		job: u64,
		/// Where to write the output (`-` for standard output).
		#[arg(long, short = 'o')]
		output: PathBuf,
		/// Ask for the output unencrypted (by default it is encrypted to a one-time key of
		/// yours in transit).
		#[arg(long)]
		plain: bool,
	},
}

pub async fn run(cli: &Cli, command: &JobCommand) -> anyhow::Result<ExitCode> {
	let open = || Session::open(cli);
	match command {
		JobCommand::Submit { manifest, detach, wait, output } => {
			// What can be checked without the chain is checked before connecting.
			let loaded = Manifest::load(manifest)?;
			let key = key(cli)?;
			let wait = output.as_deref().filter(|_| *wait);
			submit(&open().await?, cli, manifest, &loaded, &key, *detach, wait).await
		},
		JobCommand::Status { job } => {
			let status = job_status(&open().await?, *job).await?;
			if cli.json {
				print_json(&status)?;
			} else {
				print!("{}", describe(&status));
			}
			Ok(ExitCode::SUCCESS)
		},
		JobCommand::Watch { job } => {
			let followed = follow(&open().await?, cli, *job, None, Instant::now()).await?;
			if cli.json {
				print_json(&followed.status)?;
			} else if matches!(followed.status.phase, JobPhase::Settled { .. }) {
				println!("download the output: stratus job result {job} -o <file>");
			}
			Ok(followed.code)
		},
		JobCommand::List { requester } => list(&open().await?, cli, requester.as_deref()).await,
		JobCommand::Cancel { job } => cancel(&open().await?, cli, *job).await,
		JobCommand::Why { job } => why(&open().await?, cli, *job).await,
		JobCommand::Result { job, output, plain } => {
			result(&open().await?, cli, *job, output, *plain).await
		},
	}
}

async fn cancel(session: &Session, cli: &Cli, job: u64) -> anyhow::Result<ExitCode> {
	let key = key(cli)?;
	let events =
		session.send(&key, "cancelling the job", &rt::tx().market().cancel_job(job)).await?;
	let cancelled = events
		.find_first::<rt::market::events::JobCancelled>()
		.transpose()?
		.ok_or_else(|| anyhow!("the chain reported no JobCancelled event"))?;
	if cli.json {
		print_json(&json!({ "job": job, "refunded": cancelled.refunded.to_string() }))?;
	} else {
		println!("job {job} cancelled: {} refunded", Amount(cancelled.refunded));
	}
	Ok(ExitCode::SUCCESS)
}

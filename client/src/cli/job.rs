//! `stratus program register` and `stratus job …`.

use std::{
	path::{Path, PathBuf},
	process::ExitCode,
	time::Duration,
};

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use stratus_client::{
	amount::Amount,
	auth, chain,
	chain::AtBlock,
	manifest::{policy_name, Manifest, Plan, PlannedInput, ProgramRef, VerificationPolicy},
	program::{self, compile_units, ProgramKind, COMPILE_UNITS_PER_BYTE},
	runtime::{
		self as rt,
		runtime_types::{
			pallet_market::types::{InputSpec, JobSpec, RequirementsSpec},
			stratus_primitives::JobKind,
		},
	},
	seal,
	subxt::utils::H256,
	Keypair,
};

use crate::{
	cli::session::{address, hex32, key, limits, print_json, Session},
	Cli,
};

#[derive(Subcommand, Debug)]
pub enum JobCommand {
	/// Post a job from a manifest (see docs/requester-guide.md) and follow it to settlement. The
	/// manifest is checked first — fields, sizes, deadline, price against the market, balance —
	/// and nothing is sent while anything is wrong.
	#[command(
		after_help = "Examples:\n  stratus job submit job.toml\n  stratus job submit job.toml \
	                        --detach     print the job id and return"
	)]
	Submit {
		/// The job manifest (TOML).
		manifest: PathBuf,
		/// Return once the job is posted instead of following it.
		#[arg(long)]
		detach: bool,
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
		JobCommand::Submit { manifest, detach } => {
			// What can be checked without the chain is checked before connecting.
			let loaded = Manifest::load(manifest)?;
			let key = key(cli)?;
			submit(&open().await?, cli, manifest, &loaded, &key, *detach).await
		},
		JobCommand::Status { job } => {
			let status = status_json(&open().await?, *job).await?;
			if cli.json {
				print_json(&status)?;
			} else {
				let status: JobStatus = serde_json::from_value(status)?;
				print!("{}", describe(&status));
			}
			Ok(ExitCode::SUCCESS)
		},
		JobCommand::Watch { job } => {
			let (code, status) = follow(&open().await?, cli, *job).await?;
			if cli.json {
				print_json(&status)?;
			}
			Ok(code)
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

/// Checks `file` and registers it unless the chain has it; prints its hash.
pub async fn register_program(cli: &Cli, file: &Path) -> anyhow::Result<()> {
	let code = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
	// What every worker or the chain would refuse is refused here, before a fee is paid to learn
	// it: the workers' checks first (they need no connection), then the chain's size limit.
	let checked =
		program::check_program(&code).map_err(|e| anyhow!("{} is refused: {e}", file.display()))?;
	let kind = job_kind(checked, file);
	let key = key(cli)?;
	let session = Session::open(cli).await?;
	let at = session.at().await?;
	limits(&at)?
		.check_program_size(code.len())
		.map_err(|e| anyhow!("{} is refused: {e}", file.display()))?;
	let (hash, registered) = ensure_program(&session, &at, &key, &code, kind).await?;
	if cli.json {
		print_json(&json!({ "program": hex32(&hash), "newlyRegistered": registered }))?;
	} else if registered {
		println!("registered {}: program {}", file.display(), hex32(&hash));
	} else {
		println!("already registered: program {}", hex32(&hash));
	}
	Ok(())
}

/// The chain's kind of a checked program; says so when its CUDA source could not be compiled here.
fn job_kind(checked: ProgramKind, file: &Path) -> JobKind {
	match checked {
		ProgramKind::Wasm => JobKind::Wasm,
		ProgramKind::Cuda { source_unchecked } => {
			if source_unchecked {
				eprintln!(
					"note: NVRTC is not installed here, so the CUDA source of {} was not compiled \
					 before registering it (workers compile it for their GPUs)",
					file.display()
				);
			}
			JobKind::Cuda
		},
	}
}

/// Removes a program in its two steps (`market.remove_program`): the first call retires it, a
/// call from its `removable_at` block on deletes it and returns the deposit. What the chain would
/// refuse is refused here first, before a fee is paid to learn it.
pub async fn remove_program(cli: &Cli, program: &str) -> anyhow::Result<()> {
	let hash = stratus_client::manifest::parse_hash(program).ok_or_else(|| {
		anyhow!(
			"`{program}` is not a program hash: give 0x and 64 hex digits, as `stratus program \
			 register` prints"
		)
	})?;
	let key = key(cli)?;
	let me = stratus_client::account_of(&key);
	let session = Session::open(cli).await?;
	let at = session.at().await?;
	let info = chain::Chain::program_info(&at, hash)
		.await?
		.ok_or_else(|| anyhow!("program {} is not registered", hex32(&hash)))?;
	if info.owner != me {
		bail!(
			"program {} was registered by {}; only that account may remove it",
			hex32(&hash),
			stratus_client::ss58(&info.owner)
		);
	}
	let now = at.block_number();
	if let Some(removable_at) = info.removable_at.filter(|at| now < u64::from(*at)) {
		bail!(
			"program {} is retiring: jobs submitted before may run it until block {removable_at} \
			 (now {now}); run `stratus program remove` again from then on",
			hex32(&hash)
		);
	}
	let call = rt::tx().market().remove_program(H256(hash));
	let events = session.send(&key, "removing the program", &call).await?;
	if let Some(retiring) =
		events.find_first::<rt::market::events::ProgramRetiring>().transpose()?
	{
		if cli.json {
			print_json(&json!({ "program": hex32(&hash), "removableAt": retiring.removable_at }))?;
		} else {
			println!(
				"program {} is retiring: no new job may use it; run `stratus program remove` \
				 again from block {} to delete it and get its deposit of {} back",
				hex32(&hash),
				retiring.removable_at,
				Amount(info.deposit)
			);
		}
		return Ok(());
	}
	let removed = events
		.find_first::<rt::market::events::ProgramRemoved>()
		.transpose()?
		.ok_or_else(|| anyhow!("the chain reported neither ProgramRetiring nor ProgramRemoved"))?;
	if cli.json {
		print_json(&json!({ "program": hex32(&hash), "refunded": removed.refunded.to_string() }))?;
	} else {
		println!("program {} removed: {} returned", hex32(&hash), Amount(removed.refunded));
	}
	Ok(())
}

/// Refuses a program whose owner is removing it: the chain takes no new job with it.
fn ensure_not_retiring(hash: &[u8; 32], removable_at: Option<u32>) -> anyhow::Result<()> {
	match removable_at {
		Some(at) => bail!(
			"program {} is being removed by its owner, so no new job may use it (it is deleted \
			 from block {at} on, and may be registered again after that)",
			hex32(hash)
		),
		None => Ok(()),
	}
}

/// Registers `code` unless the chain has it at `at`. Returns its hash and whether it was
/// registered now.
async fn ensure_program(
	session: &Session,
	at: &AtBlock,
	key: &Keypair,
	code: &[u8],
	kind: JobKind,
) -> anyhow::Result<([u8; 32], bool)> {
	let hash = stratus_client::blake2_256(code);
	if let Some(info) = chain::Chain::program_info(at, hash).await? {
		ensure_not_retiring(&hash, info.removable_at)?;
		return Ok((hash, false));
	}
	session
		.send(
			key,
			"registering the program",
			&rt::tx().market().register_program(kind, code.to_vec()),
		)
		.await?;
	Ok((hash, true))
}

async fn submit(
	session: &Session,
	cli: &Cli,
	manifest_path: &Path,
	manifest: &Manifest,
	key: &Keypair,
	detach: bool,
) -> anyhow::Result<ExitCode> {
	let me = stratus_client::account_of(key);
	let at = session.at().await?;
	let limits = limits(&at)?;
	let plan = manifest.plan(&limits)?;

	// The program: registered already, or registered now (after every other check passed).
	let (kind, program_len) = match &plan.program {
		ProgramRef::Hash(hash) => match chain::Chain::program_info(&at, *hash).await? {
			Some(info) => {
				ensure_not_retiring(hash, info.removable_at)?;
				(info.kind, info.len as usize)
			},
			None => bail!(
				"{}: program {} is not registered; name the program file instead (it is \
				 registered on submission) or run `stratus program register <file>`",
				manifest_path.display(),
				hex32(hash)
			),
		},
		ProgramRef::File { kind, code, .. } => {
			(job_kind(*kind, Path::new(&manifest.program)), code.len())
		},
	};
	// Every worker charges a WASM job its program's compile first: units that do not cover it
	// buy a job that is out of units before its first instruction.
	let charge = compile_units(program_len);
	if matches!(kind, JobKind::Wasm) && plan.max_units <= charge {
		bail!(
			"{}: max_units {} does not cover compiling the program: every worker charges {} units \
			 for its {} bytes ({} a byte, docs/job-abi.md, \"Limits and units\") before it runs; \
			 raise max_units above {} by what the run needs",
			manifest_path.display(),
			plan.max_units,
			charge,
			program_len,
			COMPILE_UNITS_PER_BYTE,
			charge
		);
	}

	// The price against the market, and the escrow against the balance.
	let requirements = requirements_spec(&plan);
	let best: Option<u128> = chain::timed(
		at.runtime_apis()
			.call(rt::runtime_apis().market_api().best_price(kind.clone(), requirements.clone())),
	)
	.await?;
	let escrow = plan.escrow().unwrap_or(u128::MAX);
	match best {
		Some(best) if best > plan.max_price => bail!(
			"{}: max_price {} is below the best price an offer meeting the requirements asks ({} \
			 per unit); raise max_price to at least \"{}\" (`stratus market` shows the book)",
			manifest_path.display(),
			Amount(plan.max_price),
			Amount(best),
			Amount(best)
		),
		None if !cli.json => eprintln!(
			"note: no open offer meets this job's requirements now; it will rest until one does \
			 (`stratus job why <id>` explains, requirement by requirement)"
		),
		_ => {},
	}
	let free = chain::Chain::free_balance(&at, &me).await?;
	let deposit = limits.job_deposit;
	if free < escrow.saturating_add(deposit) {
		bail!(
			"{}: the escrow (max_price × max_units for each of the {} replicas policy {} can pay) \
			 = {} and the job's storage deposit of {} are more than the free balance of {} ({}); \
			 lower max_units or max_price, choose a \
			 cheaper policy, or fund the account",
			manifest_path.display(),
			plan.policy.most_paid(plan.referees),
			policy_name(&plan.policy),
			Amount(escrow),
			Amount(deposit),
			stratus_client::ss58(&me),
			Amount(free)
		);
	}

	let price = Price::of(&plan, best);
	if !cli.json {
		println!("{}", price.describe(&plan));
	}

	if let ProgramRef::File { code, .. } = &plan.program {
		let (hash, registered) = ensure_program(session, &at, key, code, kind.clone()).await?;
		if registered && !cli.json {
			println!("registered program {}", hex32(&hash));
		}
	}
	let now = session.best_block().await?;
	let spec = JobSpec {
		program: H256(plan.program.hash()),
		input: match &plan.input {
			PlannedInput::Inline(bytes) => InputSpec::Inline(bytes.clone()),
			PlannedInput::Remote { url, hash, size } => {
				InputSpec::Remote { url: url.as_bytes().to_vec(), hash: H256(*hash), size: *size }
			},
		},
		requirements,
		max_price: plan.max_price,
		max_units: plan.max_units,
		policy: match plan.policy {
			VerificationPolicy::Unverified => {
				rt::runtime_types::stratus_primitives::VerificationPolicy::Unverified
			},
			VerificationPolicy::Replicated(n) => {
				rt::runtime_types::stratus_primitives::VerificationPolicy::Replicated(n)
			},
			VerificationPolicy::Adaptive => {
				rt::runtime_types::stratus_primitives::VerificationPolicy::Adaptive
			},
		},
		commit_window: plan.commit_window_blocks,
		deadline: now.saturating_add(plan.deadline_blocks),
		max_output_bytes: plan.max_output_bytes,
	};
	let events = session.send(key, "posting the job", &rt::tx().market().submit_job(spec)).await?;
	let submitted = events
		.find_first::<rt::market::events::JobSubmitted>()
		.transpose()?
		.ok_or_else(|| anyhow!("the chain reported no JobSubmitted event"))?;
	let job = submitted.job;
	let mut posted = json!({
		"job": job,
		"policy": policy_name(&plan.policy),
		"escrow": submitted.escrow.to_string(),
		"estimatedCost": price.expected.map(|(_, most)| most.to_string()),
		"expectedCost": price.expected.map(|(least, most)| json!([least.to_string(), most.to_string()])),
		"worstCaseCost": price.worst.to_string(),
		"bestPrice": best.map(|b| b.to_string()),
	});
	if !cli.json {
		println!("job {job} posted: {} held in escrow (the worst case)", Amount(submitted.escrow));
	}
	if detach {
		if cli.json {
			print_json(&posted)?;
		} else {
			println!("follow it with `stratus job watch {job}`");
		}
		return Ok(ExitCode::SUCCESS);
	}
	let (code, status) = follow(session, cli, job).await?;
	if cli.json {
		// One document for scripts: what was posted, and how the job ended.
		if let Some(fields) = posted.as_object_mut() {
			fields.insert("status".into(), status);
		}
		print_json(&posted)?;
	}
	Ok(code)
}

fn requirements_spec(plan: &Plan) -> RequirementsSpec<u128> {
	let r = &plan.requirements;
	RequirementsSpec {
		min_vram_mib: r.min_vram_mib,
		min_compute_capability: plan.min_compute_capability,
		gpu_models: r.gpu_models.iter().map(|m| m.as_bytes().to_vec()).collect(),
		regions_allowed: r.regions.clone(),
		regions_denied: r.exclude_regions.clone(),
		min_cpu_cores: r.min_cpu_cores,
		min_memory_mib: r.min_memory_mib,
		min_stake: r.min_stake.0,
		min_reputation: rt::runtime_types::sp_arithmetic::per_things::Perbill(plan.min_reputation),
	}
}

/// A job as `market_jobStatus` reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
	pub job: u64,
	pub requester: String,
	pub program: String,
	pub kind: String,
	pub max_price: String,
	pub max_units: u64,
	/// `"unverified"`, `{"replicated": n}` or `"adaptive"`.
	#[serde(default)]
	pub policy: Value,
	pub replication: u8,
	/// `"pending"`, `{"due": {"at": n}}`, `"checked"` or `"spared"` for an adaptive job run
	/// alone.
	#[serde(default)]
	pub spot_check: Option<Value>,
	#[serde(default)]
	pub referees: bool,
	pub unfilled: u8,
	pub deadline: u32,
	pub escrow: String,
	pub phase: Phase,
	pub submitted_at: u32,
	pub ended_at: Option<u32>,
	pub replicas: Vec<ReplicaStatus>,
}

/// A job's phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
	Open,
	Revealing { until: u32 },
	Settled { digest: String },
	Disputed,
	Cancelled,
	Expired,
}

/// A replica's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaState {
	Assigned,
	Acknowledged,
	Committed,
	Revealed,
	Missed(String),
	Superseded,
	Referred,
	Done,
}

/// One replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaStatus {
	pub replica: u8,
	#[serde(default)]
	pub round: u8,
	/// `"Primary"`, `"Verifier"`, `"SpotCheck"` or `"Referee"`.
	#[serde(default)]
	pub role: Option<String>,
	pub provider: String,
	pub price: String,
	pub state: ReplicaState,
	pub units: Option<u64>,
	pub digest: Option<String>,
	pub paid: String,
}

fn no_such_job(job: u64) -> anyhow::Error {
	anyhow!("there is no job {job} on this chain (never posted, or reaped after it ended)")
}

async fn status_json(session: &Session, job: u64) -> anyhow::Result<Value> {
	let status: Value = session.rpc("market_jobStatus", [json!(job)]).await?;
	if status.is_null() {
		return Err(no_such_job(job));
	}
	Ok(status)
}

async fn job_status(session: &Session, job: u64) -> anyhow::Result<JobStatus> {
	Ok(serde_json::from_value(status_json(session, job).await?)?)
}

fn amount(text: &str) -> String {
	text.parse().map(|p| Amount(p).to_string()).unwrap_or_else(|_| text.to_owned())
}

fn phase_words(phase: &Phase) -> String {
	match phase {
		Phase::Open => "open".into(),
		Phase::Revealing { until } => format!("revealing (reveals due by block {until})"),
		Phase::Settled { digest } => format!("settled (canonical digest {digest})"),
		Phase::Disputed => {
			"disputed: the reveals disagreed without a quorum; escrow refunded".into()
		},
		Phase::Cancelled => "cancelled".into(),
		Phase::Expired => "expired: no result in time; escrow refunded".into(),
	}
}

fn state_words(state: &ReplicaState) -> String {
	match state {
		ReplicaState::Assigned => "matched, waiting for the provider's acknowledgement".into(),
		ReplicaState::Acknowledged => "acknowledged: running".into(),
		ReplicaState::Committed => "committed a result".into(),
		ReplicaState::Revealed => "revealed its result".into(),
		ReplicaState::Missed(what) if what == "Declined" => "declined by its provider".into(),
		ReplicaState::Missed(what) => format!("missed its {} deadline", what.to_lowercase()),
		ReplicaState::Superseded => {
			"revealed in a round other replicas left without a verdict; not judged again".into()
		},
		ReplicaState::Referred => {
			"revealed a result that disagreed without a majority; referees decide".into()
		},
		ReplicaState::Done => "done".into(),
	}
}

/// A policy as the chain reports it (`"adaptive"`, `{"replicated": 3}`), in a manifest's words.
fn policy_words(policy: &Value) -> String {
	if let Some(n) = policy.get("replicated").or_else(|| policy.get("Replicated")) {
		return format!("replicated({n})");
	}
	policy.as_str().map(str::to_lowercase).unwrap_or_else(|| "adaptive".to_owned())
}

/// How a job is being (or was) verified, in words.
fn verification_words(s: &JobStatus) -> String {
	let policy = policy_words(&s.policy);
	let key = s.spot_check.as_ref().map(|v| {
		v.as_str().map(str::to_lowercase).unwrap_or_else(|| {
			v.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default().to_lowercase()
		})
	});
	let spot = key.as_deref().map(|key| match key {
		"pending" => "its trusted provider runs it alone; the chain decides after its commit \
				whether to spot-check it"
			.to_owned(),
		"due" => "committed; the spot-check is decided in the next block".to_owned(),
		"checked" => "spot-checked: a second provider, drawn by stake, runs it too".to_owned(),
		"spared" => "run alone by a trusted provider; the random spot-check spared it".to_owned(),
		other => other.to_owned(),
	});
	let mut words = match (policy.as_str(), spot) {
		("unverified", _) => "unverified: one replica, nothing checks it".to_owned(),
		("adaptive", Some(spot)) => format!("adaptive — {spot}"),
		("adaptive", None) => format!("adaptive — {} replicas", s.replication),
		(other, _) => {
			let spot = match key.as_deref() {
				Some("pending" | "due") => {
					"; whether one more provider spot-checks them is decided after the first \
					 commitment"
				},
				Some("checked") => "; spot-checked: one more provider, drawn by stake, runs it too",
				_ => "",
			};
			let round = if key.as_deref() == Some("checked") {
				s.replication.saturating_sub(1)
			} else {
				s.replication
			};
			format!("{other} — {round} providers must agree{spot}")
		},
	};
	if s.referees {
		words.push_str("; results disagreed, referees drawn by stake decide");
	}
	words
}

/// What a job will cost, shown before it is posted: the expected cost at the best price (the
/// replicas it runs when nobody disagrees, at most `max_units` each) and the worst case, which
/// the escrow holds.
struct Price {
	/// `(fewest, most)` replicas' cost at the best price; `None` when no offer meets the job.
	expected: Option<(u128, u128)>,
	/// The escrow.
	worst: u128,
}

impl Price {
	fn of(plan: &Plan, best: Option<u128>) -> Self {
		let cost = |replicas: u8, price: u128| {
			price.saturating_mul(u128::from(plan.max_units)).saturating_mul(u128::from(replicas))
		};
		let (least, most) = plan.expected_replicas();
		Price {
			expected: best.map(|b| (cost(least, b), cost(most, b))),
			worst: plan.escrow().unwrap_or(u128::MAX),
		}
	}

	fn describe(&self, plan: &Plan) -> String {
		let referees = plan.referees;
		let how = match plan.policy {
			VerificationPolicy::Unverified => {
				"one replica and NO verification: nothing checks its result (you opted in)"
					.to_owned()
			},
			VerificationPolicy::Replicated(n) => format!(
				"{n} distinct providers must agree ({}); once they have committed, one more drawn \
				 by stake may spot-check them; a disagreement calls {referees} referees",
				if n < 3 { "all of them" } else { "a majority" }
			),
			VerificationPolicy::Adaptive => format!(
				"one provider runs it; once it has committed, a second drawn by stake checks \
				 it — always for a provider without a long record, at random for one with; a \
				 disagreement calls {referees} referees"
			),
		};
		let expected = match self.expected {
			Some((least, most)) if least == most => {
				format!("expected cost: at most {} at the best price", Amount(most))
			},
			Some((least, most)) => {
				let (n, m) = plan.expected_replicas();
				format!(
					"expected cost: at most {} ({n} replica{}) to {} ({m}) at the best price",
					Amount(least),
					if n == 1 { "" } else { "s" },
					Amount(most)
				)
			},
			None => "expected cost: unknown until an offer matches".to_owned(),
		};
		format!(
			"policy {}: {how}\n{expected}; worst case {} (max_price × max_units × {} replicas, \
			 held in escrow; what is not used is refunded)",
			policy_name(&plan.policy),
			Amount(self.worst),
			plan.policy.most_paid(referees)
		)
	}
}

/// A job in a few lines.
fn describe(s: &JobStatus) -> String {
	let mut out = format!(
		"job {}: {}\n  requester {}\n  program {} ({})\n  budget: {} per unit at most, {} units at \
		 most, {} replica(s); {} still in escrow\n  posted at block {}, deadline block {}{}\n",
		s.job,
		phase_words(&s.phase),
		address(&s.requester),
		s.program,
		s.kind,
		amount(&s.max_price),
		s.max_units,
		s.replication,
		amount(&s.escrow),
		s.submitted_at,
		s.deadline,
		s.ended_at.map(|b| format!(", ended at block {b}")).unwrap_or_default(),
	);
	if s.unfilled > 0 && s.phase == Phase::Open {
		out.push_str(&format!(
			"  {} replica(s) not matched yet (`stratus job why {}`)\n",
			s.unfilled, s.job
		));
	}
	out.push_str(&format!("  verification: {}\n", verification_words(s)));
	for r in &s.replicas {
		out.push_str(&format!(
			"  replica {}{}{}: {} — provider {}, {} per unit{}{}{}\n",
			r.replica,
			r.role.as_ref().map(|role| format!(" [{}]", role.to_lowercase())).unwrap_or_default(),
			if r.round > 0 { format!(" (round {})", r.round) } else { String::new() },
			state_words(&r.state),
			address(&r.provider),
			amount(&r.price),
			r.units.map(|u| format!(", {u} units")).unwrap_or_default(),
			r.digest.as_ref().map(|d| format!(", digest {d}")).unwrap_or_default(),
			if r.paid != "0" { format!(", paid {}", amount(&r.paid)) } else { String::new() },
		));
	}
	out
}

/// The steps a job has reached, in the words of its life: matched → acknowledged → committed →
/// revealed → verified → settled.
fn steps(s: &JobStatus) -> Vec<String> {
	let mut steps = Vec::new();
	for r in &s.replicas {
		let who = format!("replica {} ({})", r.replica, address(&r.provider));
		steps.push(format!("{who}: matched at {} per unit", amount(&r.price)));
		let reached = match &r.state {
			ReplicaState::Assigned => 0,
			ReplicaState::Acknowledged => 1,
			ReplicaState::Committed => 2,
			ReplicaState::Revealed
			| ReplicaState::Done
			| ReplicaState::Superseded
			| ReplicaState::Referred => 3,
			ReplicaState::Missed(what) if what == "Declined" => {
				steps.push(format!("{who}: declined by its provider — the replica is reissued"));
				continue;
			},
			ReplicaState::Missed(what) => {
				let before = match what.as_str() {
					"Ack" => 0,
					"Commit" => 1,
					_ => 2,
				};
				for (i, word) in ["acknowledged", "committed"].iter().enumerate() {
					if i < before {
						steps.push(format!("{who}: {word}"));
					}
				}
				steps.push(format!(
					"{who}: missed its {} deadline — the replica is reissued while time allows",
					what.to_lowercase()
				));
				continue;
			},
		};
		if reached >= 1 {
			steps.push(format!("{who}: acknowledged"));
		}
		if reached >= 2 {
			steps.push(format!("{who}: committed"));
		}
		if reached >= 3 {
			let digest = r.digest.clone().unwrap_or_default();
			let units = r.units.map(|u| format!(" ({u} units)")).unwrap_or_default();
			steps.push(format!("{who}: revealed {digest}{units}"));
		}
		if r.state == ReplicaState::Referred {
			steps.push(format!(
				"{who}: its result disagreed without a majority — referees drawn by stake decide"
			));
		}
		if r.state == ReplicaState::Superseded {
			steps.push(format!(
				"{who}: superseded — another replica missed its reveal, so a new round of fresh \
				 replicas is judged without this one"
			));
		}
	}
	match &s.phase {
		Phase::Settled { digest } => {
			let agreeing = s.replicas.iter().filter(|r| r.digest.as_ref() == Some(digest)).count();
			steps.push(format!("verified: {agreeing} replica(s) agree on {digest}"));
			let paid: u128 = s.replicas.iter().filter_map(|r| r.paid.parse::<u128>().ok()).sum();
			steps.push(format!(
				"settled: {} paid to providers, the rest of the escrow refunded",
				Amount(paid)
			));
		},
		Phase::Open | Phase::Revealing { .. } => {},
		other => steps.push(phase_words(other)),
	}
	steps
}

/// How many times in a row following a job may fail to read it (node gone, slow answers) before
/// giving up; each failure reconnects, moving on to the next endpoint.
const FOLLOW_RETRIES: u32 = 20;

/// Follows a job until it ends, printing each new step; reconnects (to the next endpoint) when the
/// node goes away. Returns the exit code and the job's final status (`market_jobStatus`).
async fn follow(session: &Session, cli: &Cli, job: u64) -> anyhow::Result<(ExitCode, Value)> {
	// Steps already printed: each step once, whichever replica it belongs to.
	let mut shown = std::collections::HashSet::new();
	let mut failures = 0u32;
	let mut reconnected: Option<Session> = None;
	loop {
		let current = reconnected.as_ref().unwrap_or(session);
		let raw: Value = match current.rpc("market_jobStatus", [json!(job)]).await {
			Ok(raw) => {
				failures = 0;
				raw
			},
			Err(e) if failures < FOLLOW_RETRIES => {
				failures = failures.saturating_add(1);
				eprintln!("warning: {e:#}; reconnecting");
				tokio::time::sleep(Duration::from_secs(3)).await;
				reconnected = Session::reconnect(cli, failures as usize).await.ok();
				continue;
			},
			Err(e) => return Err(e),
		};
		if raw.is_null() {
			return Err(no_such_job(job));
		}
		let status: JobStatus = serde_json::from_value(raw.clone())?;
		for step in steps(&status) {
			if !cli.json && !shown.contains(&step) {
				println!("job {job}: {step}");
			}
			shown.insert(step);
		}
		if !matches!(status.phase, Phase::Open | Phase::Revealing { .. }) {
			let settled = matches!(status.phase, Phase::Settled { .. });
			if settled && !cli.json {
				println!("download the output: stratus job result {job} -o <file>");
			}
			let code = if settled { ExitCode::SUCCESS } else { ExitCode::FAILURE };
			return Ok((code, raw));
		}
		tokio::time::sleep(Duration::from_millis(1500)).await;
	}
}

async fn list(session: &Session, cli: &Cli, requester: Option<&str>) -> anyhow::Result<ExitCode> {
	let who = match requester {
		Some(text) => stratus_client::parse_account(text)?,
		None => stratus_client::account_of(&key(cli)?),
	};
	let at = session.at().await?;
	let ids = chain::Chain::jobs_of(&at, &who).await?;
	let mut jobs = Vec::new();
	for id in ids {
		jobs.push(status_json(session, id).await?);
	}
	if cli.json {
		print_json(&jobs)?;
		return Ok(ExitCode::SUCCESS);
	}
	if jobs.is_empty() {
		println!("no jobs of {} on this chain", stratus_client::ss58(&who));
	}
	for job in jobs {
		let s: JobStatus = serde_json::from_value(job)?;
		let done = s.replicas.iter().filter(|r| r.state == ReplicaState::Done).count();
		println!(
			"{:>6}  {:<12} {} replica(s), {} done  program {}…  deadline block {}",
			s.job,
			match &s.phase {
				Phase::Settled { .. } => "settled".to_owned(),
				Phase::Revealing { .. } => "revealing".to_owned(),
				other => format!("{other:?}").to_lowercase(),
			},
			s.replication,
			done,
			s.program.get(..12).unwrap_or(&s.program),
			s.deadline,
		);
	}
	Ok(ExitCode::SUCCESS)
}

/// `market_whyNoMatch`'s answer.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct NoMatchReport {
	job: u64,
	kind: String,
	unfilled: u8,
	time_left: bool,
	offers: u32,
	eligible: u32,
	excluded_by: Vec<(String, u32)>,
}

/// What a requirement that excludes offers means, in words.
fn requirement_words(requirement: &str) -> &'static str {
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

async fn why(session: &Session, cli: &Cli, job: u64) -> anyhow::Result<ExitCode> {
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

async fn result(
	session: &Session,
	cli: &Cli,
	job: u64,
	output: &Path,
	plain: bool,
) -> anyhow::Result<ExitCode> {
	let key = key(cli)?;
	let status = job_status(session, job).await?;
	let Phase::Settled { digest } = &status.phase else {
		bail!(
			"job {job} is {}, not settled: its output is served once a quorum agreed on it \
			 (`stratus job watch {job}` follows it)",
			phase_words(&status.phase)
		);
	};
	let canonical = stratus_client::manifest::parse_hash(digest)
		.ok_or_else(|| anyhow!("the chain's digest {digest} is not 32 bytes"))?;
	let at = session.at().await?;
	let genesis = session.conn.client.genesis_hash().0;
	let http = reqwest::Client::builder()
		.timeout(Duration::from_secs(60))
		.build()
		.context("starting the HTTP client")?;
	let mut tried = Vec::new();
	for r in status.replicas.iter().filter(|r| r.digest.as_ref() == Some(digest)) {
		let provider = stratus_client::parse_account(&r.provider)?;
		let endpoint = chain::Chain::provider(&at, &provider)
			.await?
			.and_then(|p| p.profile.endpoint)
			.and_then(|e| String::from_utf8(e.0).ok());
		let Some(endpoint) = endpoint else {
			tried.push(format!("{}: no result endpoint registered", address(&r.provider)));
			continue;
		};
		match download(&http, &genesis, &endpoint, job, &key, plain).await {
			Ok(bytes) if stratus_client::blake2_256(&bytes) == canonical => {
				write_output(output, &bytes)?;
				if cli.json {
					print_json(&json!({
						"job": job, "digest": digest, "bytes": bytes.len(),
						"provider": address(&r.provider), "output": output,
					}))?;
				} else {
					eprintln!(
						"job {job}: {} bytes from {endpoint}; blake2-256 matches the chain's \
						 canonical digest {digest}; written to {}",
						bytes.len(),
						output.display()
					);
				}
				return Ok(ExitCode::SUCCESS);
			},
			Ok(bytes) => tried.push(format!(
				"{endpoint}: served {} bytes whose digest 0x{} is not the canonical one",
				bytes.len(),
				hex::encode(stratus_client::blake2_256(&bytes))
			)),
			Err(e) => tried.push(format!("{endpoint}: {e:#}")),
		}
	}
	if tried.is_empty() {
		bail!("job {job}: no replica revealed the canonical digest {digest}");
	}
	bail!("job {job}: no provider served the verified output:\n  {}", tried.join("\n  "))
}

/// One signed download; the body decrypted when it was encrypted to us.
async fn download(
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

fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
	if path == Path::new("-") {
		use std::io::Write;
		std::io::stdout().write_all(bytes)?;
		return Ok(());
	}
	std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

//! A job's status as the node's `market_jobStatus` gives it, in words: `stratus job status`,
//! `watch` and `list`, and the following of a job `submit` does.

use super::*;

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

pub(crate) fn no_such_job(job: u64) -> anyhow::Error {
	anyhow!("there is no job {job} on this chain (never posted, or reaped after it ended)")
}

pub(crate) async fn status_json(session: &Session, job: u64) -> anyhow::Result<Value> {
	let status: Value = session.rpc("market_jobStatus", [json!(job)]).await?;
	if status.is_null() {
		return Err(no_such_job(job));
	}
	Ok(status)
}

pub(crate) async fn job_status(session: &Session, job: u64) -> anyhow::Result<JobStatus> {
	Ok(serde_json::from_value(status_json(session, job).await?)?)
}

pub(crate) fn amount(text: &str) -> String {
	text.parse().map(|p| Amount(p).to_string()).unwrap_or_else(|_| text.to_owned())
}

pub(crate) fn phase_words(phase: &Phase) -> String {
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

pub(crate) fn state_words(state: &ReplicaState) -> String {
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
pub(crate) fn policy_words(policy: &Value) -> String {
	if let Some(n) = policy.get("replicated").or_else(|| policy.get("Replicated")) {
		return format!("replicated({n})");
	}
	policy.as_str().map(str::to_lowercase).unwrap_or_else(|| "adaptive".to_owned())
}

/// How a job is being (or was) verified, in words.
pub(crate) fn verification_words(s: &JobStatus) -> String {
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

/// A job in a few lines.
pub(crate) fn describe(s: &JobStatus) -> String {
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
pub(crate) fn steps(s: &JobStatus) -> Vec<String> {
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
pub(crate) const FOLLOW_RETRIES: u32 = 20;

/// Follows a job until it ends, printing each new step; reconnects (to the next endpoint) when the
/// node goes away. Returns the exit code and the job's final status (`market_jobStatus`).
pub(crate) async fn follow(
	session: &Session,
	cli: &Cli,
	job: u64,
) -> anyhow::Result<(ExitCode, Value)> {
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

pub(crate) async fn list(
	session: &Session,
	cli: &Cli,
	requester: Option<&str>,
) -> anyhow::Result<ExitCode> {
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

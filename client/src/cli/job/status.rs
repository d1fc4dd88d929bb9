//! A job's status as the market's `job_status` reads it, in words: `stratus job status`,
//! `watch` and `list`, and the following of a job `submit` does. `--json` prints the market's
//! view as the node's `market_jobStatus` serves it (the same type, the same serde).

use super::*;

pub(crate) fn no_such_job(job: u64) -> anyhow::Error {
	anyhow!("there is no job {job} on this chain (never posted, or reaped after it ended)")
}

/// A job's status at the finalized block, while the chain holds its record.
async fn read_job(session: &Session, job: u64) -> anyhow::Result<Option<Job>> {
	let at = session.at().await?;
	Ok(chain::Chain::job(&at, job).await?)
}

/// A job's status at the finalized block.
pub(crate) async fn job_status(session: &Session, job: u64) -> anyhow::Result<Job> {
	read_job(session, job).await?.ok_or_else(|| no_such_job(job))
}

pub(crate) fn phase_words(phase: &JobPhase<u32>) -> String {
	match phase {
		JobPhase::Open => "open".into(),
		JobPhase::Revealing { until } => format!("revealing (reveals due by block {until})"),
		JobPhase::Settled { digest } => format!("settled (canonical digest {})", hex32(&digest.0)),
		JobPhase::Disputed => {
			"disputed: the reveals disagreed without a quorum; escrow refunded".into()
		},
		JobPhase::Cancelled => "cancelled".into(),
		JobPhase::Expired => "expired: no result in time; escrow refunded".into(),
	}
}

/// The deadline a replica missed, in words.
fn missed_words(missed: Missed) -> &'static str {
	match missed {
		Missed::Ack => "ack",
		Missed::Commit => "commit",
		Missed::Reveal => "reveal",
		Missed::Declined => "acknowledgement (declined)",
	}
}

pub(crate) fn state_words(state: &ReplicaState) -> String {
	match state {
		ReplicaState::Assigned => "matched, waiting for the provider's acknowledgement".into(),
		ReplicaState::Acknowledged => "acknowledged: running".into(),
		ReplicaState::Committed => "committed a result".into(),
		ReplicaState::Revealed => "revealed its result".into(),
		ReplicaState::Missed(Missed::Declined) => "declined by its provider".into(),
		ReplicaState::Missed(what) => format!("missed its {} deadline", missed_words(*what)),
		ReplicaState::Superseded => {
			"revealed in a round other replicas left without a verdict; not judged again".into()
		},
		ReplicaState::Referred => {
			"revealed a result that disagreed without a majority; referees decide".into()
		},
		ReplicaState::Done => "done".into(),
	}
}

/// How a job is being (or was) verified, in words.
pub(crate) fn verification_words(s: &Job) -> String {
	let spot = s.spot_check.map(|spot| match spot {
		SpotCheck::Pending => {
			"its trusted provider runs it alone; the chain decides after its commit whether to \
			 spot-check it"
		},
		SpotCheck::Due { .. } | SpotCheck::Drawing { .. } => {
			"committed; the spot-check is drawn in the next block"
		},
		SpotCheck::Checked => "spot-checked: a second provider, drawn by stake, runs it too",
		SpotCheck::Spared => "run alone by a trusted provider; the random spot-check spared it",
	});
	let mut words = match (s.policy, spot) {
		(VerificationPolicy::Unverified, _) => "unverified: one replica, nothing checks it".into(),
		(VerificationPolicy::Adaptive, Some(spot)) => format!("adaptive — {spot}"),
		(VerificationPolicy::Adaptive, None) => format!("adaptive — {} replicas", s.replication),
		(policy, _) => {
			let spot = match s.spot_check {
				Some(SpotCheck::Pending | SpotCheck::Due { .. } | SpotCheck::Drawing { .. }) => {
					"; whether one more provider spot-checks them is decided after the first \
					 commitment"
				},
				Some(SpotCheck::Checked) => {
					"; spot-checked: one more provider, drawn by stake, runs it too"
				},
				_ => "",
			};
			let round = if s.spot_check == Some(SpotCheck::Checked) {
				s.replication.saturating_sub(1)
			} else {
				s.replication
			};
			format!("{} — {round} providers must agree{spot}", policy_name(&policy))
		},
	};
	if s.referees {
		words.push_str("; results disagreed, referees drawn by stake decide");
	}
	words
}

/// A replica's role in a word: `primary`, `verifier`, `spotcheck` or `referee`.
fn role_word(role: Role) -> &'static str {
	match role {
		Role::Primary => "primary",
		Role::Verifier => "verifier",
		Role::SpotCheck => "spotcheck",
		Role::Referee => "referee",
	}
}

/// A replica's provider in Stratus's SS58 format.
fn provider_of(r: &chain::Replica) -> String {
	stratus_client::ss58(&chain::account(&r.provider))
}

/// A job in a few lines.
pub(crate) fn describe(s: &Job) -> String {
	let mut out = format!(
		"job {}: {}\n  requester {}\n  program {} ({})\n  budget: {} per unit at most, {} units at \
		 most, {} replica(s); {} still in escrow\n  posted at block {}, deadline block {}{}\n",
		s.job,
		phase_words(&s.phase),
		stratus_client::ss58(&chain::account(&s.requester)),
		hex32(&s.program.0),
		s.kind.name(),
		Amount(s.max_price),
		s.max_units,
		s.replication,
		Amount(s.escrow),
		s.submitted_at,
		s.deadline,
		s.ended_at.map(|b| format!(", ended at block {b}")).unwrap_or_default(),
	);
	if s.unfilled > 0 && s.phase == JobPhase::Open {
		out.push_str(&format!(
			"  {} replica(s) not matched yet (`stratus job why {}`)\n",
			s.unfilled, s.job
		));
	}
	out.push_str(&format!("  verification: {}\n", verification_words(s)));
	for r in &s.replicas {
		out.push_str(&format!(
			"  replica {} [{}]{}: {} — provider {}, {} per unit{}{}{}\n",
			r.replica,
			role_word(r.role),
			if r.round > 0 { format!(" (round {})", r.round) } else { String::new() },
			state_words(&r.state),
			provider_of(r),
			Amount(r.price),
			r.units.map(|u| format!(", {u} units")).unwrap_or_default(),
			r.digest.map(|d| format!(", digest {}", hex32(&d.0))).unwrap_or_default(),
			if r.paid != 0 { format!(", paid {}", Amount(r.paid)) } else { String::new() },
		));
	}
	out
}

/// The steps a job has reached, in the words of its life: matched → acknowledged → committed →
/// revealed → verified → settled.
pub(crate) fn steps(s: &Job) -> Vec<String> {
	let mut steps = Vec::new();
	for r in &s.replicas {
		let who = format!("replica {} ({})", r.replica, provider_of(r));
		steps.push(format!("{who}: matched at {} per unit", Amount(r.price)));
		let reached = match &r.state {
			ReplicaState::Assigned => 0,
			ReplicaState::Acknowledged => 1,
			ReplicaState::Committed => 2,
			ReplicaState::Revealed
			| ReplicaState::Done
			| ReplicaState::Superseded
			| ReplicaState::Referred => 3,
			ReplicaState::Missed(Missed::Declined) => {
				steps.push(format!("{who}: declined by its provider — the replica is reissued"));
				continue;
			},
			ReplicaState::Missed(what) => {
				let before = match what {
					Missed::Ack => 0,
					Missed::Commit => 1,
					Missed::Reveal | Missed::Declined => 2,
				};
				for (i, word) in ["acknowledged", "committed"].iter().enumerate() {
					if i < before {
						steps.push(format!("{who}: {word}"));
					}
				}
				steps.push(format!(
					"{who}: missed its {} deadline — the replica is reissued while time allows",
					missed_words(*what)
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
			let digest = r.digest.map(|d| hex32(&d.0)).unwrap_or_default();
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
		JobPhase::Settled { digest } => {
			let agreeing = s.replicas.iter().filter(|r| r.digest.as_ref() == Some(digest)).count();
			steps.push(format!("verified: {agreeing} replica(s) agree on {}", hex32(&digest.0)));
			let paid: u128 = s.replicas.iter().map(|r| r.paid).fold(0, u128::saturating_add);
			steps.push(format!(
				"settled: {} paid to providers, the rest of the escrow refunded",
				Amount(paid)
			));
		},
		JobPhase::Open | JobPhase::Revealing { .. } => {},
		other => steps.push(phase_words(other)),
	}
	steps
}

/// How many times in a row following a job may fail to read it (node gone, slow answers) before
/// giving up; each failure reconnects, moving on to the next endpoint.
pub(crate) const FOLLOW_RETRIES: u32 = 20;

/// One step of a job as `follow` saw it: the block it first appeared in, and the seconds since
/// following began (since posting, for `submit`).
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Seen {
	pub step: String,
	pub block: u64,
	pub seconds: f64,
}

/// How a followed job ended: the exit code, its final status (read at a finalized block), the
/// steps in the order they appeared, and the finalized block that made the end final.
pub(crate) struct Followed {
	pub code: ExitCode,
	pub status: Job,
	pub timeline: Vec<Seen>,
	pub final_block: u64,
}

/// Follows a job block by block on the best chain until its end is finalized, printing each new
/// step with the block it appeared in and the time since `started`; reconnects (to the next
/// endpoint) when the node goes away.
///
/// With `posted`, the job was just posted by `posted.0` in a block at or below `posted.1`: it
/// must be that account's (a reorg can retract the block that posted it and hand its id to
/// another job; the retracted one returns to the pool and is posted again under another id),
/// and blocks below `posted.1` may not have it yet.
pub(crate) async fn follow(
	session: &Session,
	cli: &Cli,
	job: u64,
	posted: Option<(&stratus_client::AccountId, u64)>,
	started: Instant,
) -> anyhow::Result<Followed> {
	// Steps already printed: each step once, whichever replica it belongs to.
	let mut timeline = Vec::new();
	let mut failures = 0u32;
	let mut reconnected: Option<Session> = None;
	loop {
		let current = reconnected.as_ref().unwrap_or(session);
		match follow_on(current, cli, job, posted, started, &mut timeline).await {
			Ok(Some((status, final_block))) => {
				let settled = matches!(status.phase, JobPhase::Settled { .. });
				let code = if settled { ExitCode::SUCCESS } else { ExitCode::FAILURE };
				return Ok(Followed { code, status, timeline, final_block });
			},
			Ok(None) => return Err(no_such_job(job)),
			Err(e) if failures < FOLLOW_RETRIES && !e.is::<AnotherJob>() => {
				failures = failures.saturating_add(1);
				eprintln!("warning: {e:#}; reconnecting");
				tokio::time::sleep(Duration::from_secs(3)).await;
				reconnected = Session::reconnect(cli, failures as usize).await.ok();
			},
			Err(e) => return Err(e),
		}
	}
}

/// The followed id is another requester's job now (a reorg): no point in following it further.
#[derive(Debug, thiserror::Error)]
#[error(
	"job {0} on this chain is another requester's: a reorg retracted the block that posted yours, \
	 which goes back to the pool and is posted again under another id (`stratus job list` shows it)"
)]
struct AnotherJob(u64);

/// A new block is expected at least this often while following.
const FOLLOW_SILENCE: Duration = Duration::from_secs(60);

/// [`follow`] on one connection: `None` when the chain has no such job.
async fn follow_on(
	session: &Session,
	cli: &Cli,
	job: u64,
	posted: Option<(&stratus_client::AccountId, u64)>,
	started: Instant,
	timeline: &mut Vec<Seen>,
) -> anyhow::Result<Option<(Job, u64)>> {
	let client = &session.conn.client;
	let mut best = timed(client.stream_best_blocks()).await?;
	// The job's end, seen on the best chain; final once a finalized block has it too.
	let mut ended_at: Option<u64> = None;

	let mut finalized = None;
	// Set when the job ended on the best chain: the finalized head is read at once (GRANDPA
	// may have finalized the end's block already; its next finality event can be a round away).
	let mut check_finalized_head = false;
	loop {
		let (number, at) = if std::mem::take(&mut check_finalized_head) {
			// The stream first, so that no finality after the read below is missed.
			finalized = Some(timed(client.stream_blocks()).await?);
			let at = session.at().await?;
			(at.block_number(), at)
		} else {
			let block = match ended_at {
				None => tokio::time::timeout(FOLLOW_SILENCE, best.next()).await,
				Some(_) => {
					// Ended on the best chain: wait for finality (a reorg may still undo it).
					let stream = match finalized.as_mut() {
						Some(stream) => stream,
						None => finalized.insert(timed(client.stream_blocks()).await?),
					};
					tokio::time::timeout(FOLLOW_SILENCE, stream.next()).await
				},
			}
			.map_err(|_| anyhow!("no new block for {} s", FOLLOW_SILENCE.as_secs()))?
			.ok_or_else(|| anyhow!("the node ended the block subscription"))??;
			(block.number(), timed(block.at()).await?)
		};
		let Some(status) = chain::Chain::job(&at, job).await? else {
			let not_yet = match ended_at {
				// Finality has not reached the block that posted it yet.
				Some(end) => number < end,
				// A block from before the one that posted it (the subscription may begin
				// with older blocks): just posted, or on the node's best chain now.
				None if job < chain::Chain::next_job_id(&at).await? => false,
				None if posted.is_some_and(|(_, by)| number < by) => true,
				None => {
					let best = timed(session.conn.legacy().chain_get_block_hash(None)).await?;
					match best {
						Some(hash) => {
							let head = timed(client.at_block(
								stratus_client::subxt::backend::BlockRef::from_hash(hash),
							))
							.await?;
							job < chain::Chain::next_job_id(&head).await?
						},
						None => false,
					}
				},
			};
			if not_yet {
				continue;
			}
			return Ok(None);
		};
		if posted.is_some_and(|(me, _)| chain::account(&status.requester) != *me) {
			return Err(AnotherJob(job).into());
		}
		if let Some(end) = ended_at {
			if status.phase.is_final() && number >= end {
				let seconds = started.elapsed().as_secs_f64();
				let step = format!("final: {}", phase_words(&status.phase));
				if !cli.json {
					println!("job {job}: [#{} +{seconds:.1} s] {step}", number);
				}
				timeline.push(Seen { step, block: number, seconds });
				return Ok(Some((status, number)));
			}
			if status.phase.is_final() || number < end {
				// Final already, or finality has not reached the end's block yet.
				continue;
			}
			// Not ended on the finalized chain at the block it ended in on the best chain, or
			// after: that end was retracted. Follow the best chain again.
			ended_at = None;
			finalized = None;
			continue;
		}
		for step in steps(&status) {
			if timeline.iter().any(|seen| seen.step == step) {
				continue;
			}
			let seconds = started.elapsed().as_secs_f64();
			if !cli.json {
				println!("job {job}: [#{} +{seconds:.1} s] {step}", number);
			}
			timeline.push(Seen { step, block: number, seconds });
		}
		if status.phase.is_final() {
			ended_at = Some(number);
			check_finalized_head = true;
		}
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
		jobs.push(job_status(session, id).await?);
	}
	if cli.json {
		print_json(&jobs)?;
		return Ok(ExitCode::SUCCESS);
	}
	if jobs.is_empty() {
		println!("no jobs of {} on this chain", stratus_client::ss58(&who));
	}
	for s in jobs {
		let done = s.replicas.iter().filter(|r| r.state == ReplicaState::Done).count();
		println!(
			"{:>6}  {:<12} {} replica(s), {} done  program {}…  deadline block {}",
			s.job,
			match &s.phase {
				JobPhase::Settled { .. } => "settled".to_owned(),
				JobPhase::Revealing { .. } => "revealing".to_owned(),
				other => format!("{other:?}").to_lowercase(),
			},
			s.replication,
			done,
			hex32(&s.program.0).get(..12).unwrap_or_default(),
			s.deadline,
		);
	}
	Ok(ExitCode::SUCCESS)
}

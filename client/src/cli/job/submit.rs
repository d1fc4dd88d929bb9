//! `stratus job submit`: the manifest planned against the chain, the price against the market,
//! the program registered if need be, the job posted.

use super::*;

pub(crate) async fn submit(
	session: &Session,
	cli: &Cli,
	manifest_path: &Path,
	manifest: &Manifest,
	key: &Keypair,
	detach: bool,
	wait: Option<&Path>,
) -> anyhow::Result<ExitCode> {
	let started = Instant::now();
	let me = stratus_client::account_of(key);
	let at = session.at().await?;
	let limits = limits(&at)?;
	let plan = manifest.plan(&limits)?;

	// The program: registered already, or registered now (after every other check passed).
	let (kind, program_len) = match &plan.program {
		ProgramRef::Hash(hash) => match chain::Chain::program_info(&at, *hash).await? {
			Some(info) => {
				ensure_not_retiring(hash, info.removable_at)?;
				(*info.kind, info.len as usize)
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
			.call(rt::runtime_apis().market_api().best_price(kind.into(), requirements.clone())),
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
		let (hash, registered) = ensure_program(session, &at, key, code, kind).await?;
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
		policy: plan.policy.into(),
		commit_window: plan.commit_window_blocks,
		deadline: now.saturating_add(plan.deadline_blocks),
		max_output_bytes: plan.max_output_bytes,
	};
	// Followed: in a best block is enough to know the job's id (the CLI sees it matched in that
	// block, and waits for finality before it calls the job's end final). Detached: finalized,
	// so that the id it prints stays the job's whatever happens next.
	let call = rt::tx().market().submit_job(spec);
	let events = if detach {
		session.send(key, "posting the job", &call).await?
	} else {
		session.send_in_block(key, "posting the job", &call).await?
	};
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
		"postedSeconds": started.elapsed().as_secs_f64(),
	});
	if !cli.json {
		println!(
			"job {job} posted (+{:.1} s): {} held in escrow (the worst case)",
			started.elapsed().as_secs_f64(),
			Amount(submitted.escrow)
		);
	}
	if detach {
		if cli.json {
			print_json(&posted)?;
		} else {
			println!("follow it with `stratus job watch {job}`");
		}
		return Ok(ExitCode::SUCCESS);
	}
	// The node's best block now holds the job (or is above the block that does).
	let posted_by = u64::from(session.best_block().await?);
	let followed = follow(session, cli, job, Some((&me, posted_by)), started).await?;
	let settled = matches!(followed.status.phase, JobPhase::Settled { .. });
	let mut downloaded = None;
	match wait {
		Some(output) if settled => {
			// The worker serves the output once it has seen the settlement finalized, which
			// may be a moment after this client has: ask again for a while.
			let got =
				fetch_verified(session, key, job, &followed.status, DOWNLOAD_PATIENCE).await?;
			write_output(output, &got.bytes)?;
			let seconds = started.elapsed().as_secs_f64();
			if !cli.json {
				println!(
					"job {job}: [+{seconds:.1} s] downloaded {} bytes from {}; blake2-256 matches \
					 the chain's canonical digest; written to {}",
					got.bytes.len(),
					got.endpoint,
					output.display()
				);
			}
			downloaded = Some(json!({
				"output": output, "bytes": got.bytes.len(), "endpoint": got.endpoint,
				"provider": got.provider, "seconds": seconds,
			}));
		},
		_ if settled && !cli.json => {
			println!("download the output: stratus job result {job} -o <file>");
		},
		_ => {},
	}
	if cli.json {
		// One document for scripts: what was posted, how the job went and ended, and where its
		// output went.
		if let Some(fields) = posted.as_object_mut() {
			fields.insert("status".into(), serde_json::to_value(&followed.status)?);
			fields.insert("timeline".into(), serde_json::to_value(&followed.timeline)?);
			fields.insert("finalBlock".into(), followed.final_block.into());
			fields.insert("seconds".into(), started.elapsed().as_secs_f64().into());
			if let Some(downloaded) = downloaded {
				fields.insert("downloaded".into(), downloaded);
			}
		}
		print_json(&posted)?;
	}
	Ok(followed.code)
}

/// How long `submit --wait` keeps asking the providers for a settled job's output.
const DOWNLOAD_PATIENCE: Duration = Duration::from_secs(30);

pub(crate) fn requirements_spec(plan: &Plan) -> RequirementsSpec<u128> {
	let r = &plan.requirements;
	RequirementsSpec {
		min_vram_mib: r.min_vram_mib,
		min_compute_capability: plan.min_compute_capability,
		gpu_models: r.gpu_models.iter().map(|m| m.as_bytes().to_vec()).collect(),
		regions_allowed: r.regions_allowed.clone(),
		regions_denied: r.regions_denied.clone(),
		min_cpu_cores: r.min_cpu_cores,
		min_memory_mib: r.min_memory_mib,
		min_stake: r.min_stake.0,
		min_reputation: rt::runtime_types::sp_arithmetic::per_things::Perbill(plan.min_reputation),
	}
}

/// What a job will cost, shown before it is posted: the expected cost at the best price (the
/// replicas it runs when nobody disagrees, at most `max_units` each) and the worst case, which
/// the escrow holds.
pub(crate) struct Price {
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

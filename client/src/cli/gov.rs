//! `stratus gov`: referenda for token holders — the tracks, the referenda and their tallies,
//! proposals (a parameter change, a runtime upgrade, a slash's cancellation), votes with
//! conviction, delegation, removing votes and unlocking. `docs/governance.md` walks through it.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{anyhow, bail, Context};
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use stratus_client::{
	amount::Amount,
	gov,
	runtime::{
		self as rt,
		runtime_types::stratus_runtime::{configs::parameters::RuntimeParameters, OriginCaller},
	},
	Keypair,
};

use crate::{
	cli::session::{key, print_json, Session},
	Cli,
};

#[derive(Subcommand, Debug)]
pub enum GovCommand {
	/// The referendum tracks: what each decides, its decision deposit and periods (in blocks of
	/// 3 s).
	Tracks,
	/// The referenda, newest first: track, phase, tally.
	Referenda,
	/// The parameters a referendum may change, with the track that changes each.
	Params,
	/// Propose a change by referendum: note its call's preimage, submit it on its track and
	/// place its decision deposit.
	#[command(subcommand)]
	Propose(ProposeCommand),
	/// Place a referendum's decision deposit (it cannot be decided until someone does).
	Deposit {
		/// The referendum's index.
		index: u32,
	},
	/// Vote on a referendum with an amount of your balance and a conviction: 0 counts a tenth
	/// and locks nothing; 1–6 count 1–6 times and lock for 1, 2, 4, 8, 16 or 32 lock periods
	/// after the referendum ends (if it went your way).
	#[command(after_help = "Example:\n  stratus gov vote 3 aye \"100 STRAT\" --conviction 2")]
	Vote {
		/// The referendum's index.
		index: u32,
		/// aye or nay.
		side: Side,
		/// How much of your balance votes, like "100 STRAT".
		amount: String,
		/// 0 to 6.
		#[arg(long, default_value_t = 1)]
		conviction: u8,
	},
	/// Delegate your votes on a track to another account, with an amount and a conviction.
	#[command(
		after_help = "Example:\n  stratus gov delegate market_admin 5Grw…utQY \"500 STRAT\" --conviction 1"
	)]
	Delegate {
		/// The track, by name (`stratus gov tracks`) or id.
		track: String,
		/// The account that votes for you.
		to: String,
		/// How much of your balance it votes with, like "500 STRAT".
		amount: String,
		/// 0 to 6.
		#[arg(long, default_value_t = 1)]
		conviction: u8,
	},
	/// Stop delegating on a track (the delegated amount stays locked for its conviction's
	/// period).
	Undelegate {
		/// The track, by name or id.
		track: String,
	},
	/// Remove your vote from a referendum: an ongoing one no longer counts it; a decided one
	/// frees its lock once its conviction's period has passed.
	RemoveVote {
		/// The referendum's index.
		index: u32,
	},
	/// Unlock, on every track, what votes and delegations no longer lock.
	Unlock,
	/// Return a decided referendum's deposits: the decision deposit always, the submission
	/// deposit if it was approved or cancelled; a rejected or timed-out one's submission deposit
	/// is paid to the treasury instead (the runtime keeps no deposit for ever).
	Refund {
		/// The referendum's index.
		index: u32,
	},
	/// Apply a runtime upgrade that a Root referendum authorized (anyone may; it is free when the
	/// code is the one authorized).
	ApplyUpgrade {
		/// The runtime's WASM (the `.compact.compressed.wasm` the proposal hashed).
		file: PathBuf,
	},
}

#[derive(Subcommand, Debug)]
pub enum ProposeCommand {
	/// Change a parameter (`stratus gov params` lists them): percentages like 2.5%, amounts
	/// like "0.02 STRAT", windows in blocks; `default` returns it to the runtime's default.
	#[command(after_help = "Examples:\n  stratus gov propose param market.ProtocolFee 3%\n  \
	                        stratus gov propose param market.JobDeposit \"0.02 STRAT\"")]
	Param {
		/// `group.Name`, like market.ProtocolFee.
		name: String,
		/// The new value, or `default`.
		value: String,
		/// Submit without placing the decision deposit (someone else will).
		#[arg(long)]
		no_deposit: bool,
	},
	/// Upgrade the runtime (Root track): authorizes the code's hash; once enacted, anyone runs
	/// `stratus gov apply-upgrade` with the same file.
	Upgrade {
		/// The runtime's WASM.
		file: PathBuf,
		#[arg(long)]
		no_deposit: bool,
	},
	/// Cancel a pending slash (`slash_canceller` track) before its defer period ends.
	CancelSlash {
		/// The slash's id (the provider's `SlashDeferred` event names it).
		id: u64,
		#[arg(long)]
		no_deposit: bool,
	},
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Side {
	Aye,
	Nay,
}

pub async fn run(cli: &Cli, command: &GovCommand) -> anyhow::Result<ExitCode> {
	match command {
		GovCommand::Tracks => tracks(cli).await,
		GovCommand::Referenda => referenda(cli).await,
		GovCommand::Params => params(cli),
		GovCommand::Propose(ProposeCommand::Param { name, value, no_deposit }) => {
			let value = (!value.eq_ignore_ascii_case("default")).then_some(value.as_str());
			let (key_value, origin) =
				gov::set_parameter_call(name, value).map_err(|e| anyhow!(e))?;
			let what = format!("{name} = {}", value.unwrap_or("default"));
			propose(cli, Proposal::Parameter(key_value), origin, !no_deposit, &what).await
		},
		GovCommand::Propose(ProposeCommand::Upgrade { file, no_deposit }) => {
			let code = read_wasm(file)?;
			let code_hash = stratus_client::blake2_256(&code);
			let what = format!(
				"the runtime upgrade to {} (code hash 0x{})",
				file.display(),
				hex::encode(code_hash)
			);
			let proposal = Proposal::Upgrade(stratus_client::subxt::utils::H256(code_hash));
			propose(cli, proposal, gov::root(), !no_deposit, &what).await
		},
		GovCommand::Propose(ProposeCommand::CancelSlash { id, no_deposit }) => {
			let what = format!("cancelling slash {id}");
			propose(cli, Proposal::CancelSlash(*id), gov::slash_canceller(), !no_deposit, &what)
				.await
		},
		GovCommand::Deposit { index } => {
			let (key, session) = signer(cli).await?;
			let tx = rt::tx().referenda().place_decision_deposit(*index);
			session
				.send(&key, &format!("placing referendum {index}'s decision deposit"), &tx)
				.await?;
			done(cli, json!({ "referendum": index, "decisionDeposit": "placed" }), || {
				format!("placed referendum {index}'s decision deposit")
			})
		},
		GovCommand::Vote { index, side, amount, conviction } => {
			let balance = amount_of(amount)?;
			let aye = matches!(side, Side::Aye);
			let vote = gov::standard_vote(aye, *conviction, balance).map_err(|e| anyhow!(e))?;
			let (key, session) = signer(cli).await?;
			let tx = rt::tx().conviction_voting().vote(*index, vote);
			session.send(&key, &format!("voting on referendum {index}"), &tx).await?;
			let side = if aye { "aye" } else { "nay" };
			done(
				cli,
				json!({ "referendum": index, "side": side, "amount": balance.to_string(), "conviction": conviction }),
				|| {
					format!(
						"voted {side} on referendum {index} with {} at conviction {conviction}",
						Amount(balance)
					)
				},
			)
		},
		GovCommand::Delegate { track, to, amount, conviction } => {
			let balance = amount_of(amount)?;
			let to_account = stratus_client::parse_account(to)?;
			let level = gov::conviction(*conviction).map_err(|e| anyhow!(e))?;
			let (key, session) = signer(cli).await?;
			let class = track_id(&session, track).await?;
			let tx = rt::tx().conviction_voting().delegate(
				class,
				stratus_client::subxt::utils::MultiAddress::Id(to_account),
				level,
				balance,
			);
			session.send(&key, &format!("delegating on track {track}"), &tx).await?;
			done(
				cli,
				json!({ "track": class, "to": to, "amount": balance.to_string(), "conviction": conviction }),
				|| {
					format!(
						"delegated {} on track {track} to {to} at conviction {conviction}",
						Amount(balance)
					)
				},
			)
		},
		GovCommand::Undelegate { track } => {
			let (key, session) = signer(cli).await?;
			let class = track_id(&session, track).await?;
			let tx = rt::tx().conviction_voting().undelegate(class);
			session.send(&key, &format!("undelegating on track {track}"), &tx).await?;
			done(cli, json!({ "track": class, "undelegated": true }), || {
				format!("no longer delegating on track {track}")
			})
		},
		GovCommand::RemoveVote { index } => {
			let (key, session) = signer(cli).await?;
			let me = stratus_client::account_of(&key);
			let class = gov::vote_class(&session.at().await?, &me, *index)
				.await?
				.ok_or_else(|| anyhow!("you have no vote on referendum {index}"))?;
			let tx = rt::tx().conviction_voting().remove_vote(Some(class), *index);
			session.send(&key, &format!("removing the vote on referendum {index}"), &tx).await?;
			done(cli, json!({ "referendum": index, "voteRemoved": true }), || {
				format!("removed the vote on referendum {index}")
			})
		},
		GovCommand::Unlock => unlock(cli).await,
		GovCommand::Refund { index } => refund(cli, *index).await,
		GovCommand::ApplyUpgrade { file } => {
			let code = read_wasm(file)?;
			let (key, session) = signer(cli).await?;
			let tx = rt::tx().system().apply_authorized_upgrade(code);
			session.send(&key, "applying the authorized upgrade", &tx).await?;
			done(cli, json!({ "upgraded": true }), || {
				format!("applied the upgrade in {}: the next block runs it", file.display())
			})
		},
	}
}

async fn signer(cli: &Cli) -> anyhow::Result<(Keypair, Session)> {
	let key = key(cli)?;
	let session = Session::open(cli).await?;
	Ok((key, session))
}

fn done(
	cli: &Cli,
	value: serde_json::Value,
	text: impl FnOnce() -> String,
) -> anyhow::Result<ExitCode> {
	if cli.json {
		print_json(&value)?;
	} else {
		println!("{}", text());
	}
	Ok(ExitCode::SUCCESS)
}

/// An amount that must name its unit: a vote of "100" would be 100 planck.
fn amount_of(text: &str) -> anyhow::Result<u128> {
	gov::parse_amount(text).map_err(|e| anyhow!(e))
}

fn read_wasm(file: &PathBuf) -> anyhow::Result<Vec<u8>> {
	let code = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
	// A runtime is a WASM module, compressed by the wasm builder or not.
	const ZSTD_PREFIX: [u8; 8] = [82, 188, 83, 118, 70, 219, 142, 5];
	if !code.starts_with(b"\0asm") && !code.starts_with(&ZSTD_PREFIX) {
		bail!(
			"{} is not a runtime: expected the wasm builder's .compact.compressed.wasm (or a \
			 WASM module)",
			file.display()
		);
	}
	Ok(code)
}

/// A track by name or id, checked against the chain's tracks.
async fn track_id(session: &Session, track: &str) -> anyhow::Result<u16> {
	let at = session.at().await?;
	let tracks = gov::tracks(&at)?;
	tracks
		.iter()
		.find(|t| t.name.eq_ignore_ascii_case(track) || t.id.to_string() == track)
		.map(|t| t.id)
		.ok_or_else(|| {
			let names: Vec<_> = tracks.iter().map(|t| format!("{} ({})", t.name, t.id)).collect();
			anyhow!("no track `{track}`; the tracks are: {}", names.join(", "))
		})
}

/// What a referendum proposes.
enum Proposal {
	Parameter(RuntimeParameters),
	Upgrade(stratus_client::subxt::utils::H256),
	CancelSlash(u64),
}

async fn propose(
	cli: &Cli,
	proposal: Proposal,
	origin: OriginCaller,
	deposit: bool,
	what: &str,
) -> anyhow::Result<ExitCode> {
	let (key, session) = signer(cli).await?;
	let at = session.at().await?;
	// A parameter outside its bounds would pass the vote and be refused at enactment: ask the
	// runtime first.
	if let Proposal::Parameter(key_value) = &proposal {
		let refusal = gov::check_parameter(&at, key_value.clone())
			.await
			.context("asking the chain whether the value is inside its bounds")?;
		match refusal {
			None => {},
			Some(gov::ParameterRefusal::BelowMinimum) =>
				bail!("{what} is refused: the value is below the parameter's safe minimum (docs/governance.md lists the bounds)"),
			Some(gov::ParameterRefusal::AboveMaximum) =>
				bail!("{what} is refused: the value is above the parameter's safe maximum (docs/governance.md lists the bounds)"),
		}
	}
	let transactions = at.transactions();
	let call_data = match proposal {
		Proposal::Parameter(key_value) => {
			transactions.call_data(&rt::tx().governance().set_parameter(key_value))
		},
		Proposal::Upgrade(code_hash) => {
			transactions.call_data(&rt::tx().system().authorize_upgrade(code_hash))
		},
		Proposal::CancelSlash(id) => transactions.call_data(&rt::tx().slashing().cancel_slash(id)),
	}
	.map_err(|e| anyhow!("encoding the proposal: {e}"))?;
	let (hash, proposal) = gov::lookup(&call_data);
	if !gov::preimage_noted(&at, hash).await? {
		let tx = rt::tx().preimage().note_preimage(call_data);
		session.send(&key, "noting the proposal's preimage", &tx).await?;
	}
	let tx = rt::tx().referenda().submit(origin, proposal, gov::as_soon_as_allowed());
	let events = session.send(&key, "submitting the referendum", &tx).await?;
	let submitted = events
		.find_first::<rt::referenda::events::Submitted>()
		.ok_or_else(|| anyhow!("the chain did not report the referendum's submission"))?
		.map_err(|e| anyhow!("reading the submission's event: {e}"))?;
	let index = submitted.index;
	let track = gov::tracks(&session.at().await?)?
		.into_iter()
		.find(|t| t.id == submitted.track)
		.map_or_else(|| submitted.track.to_string(), |t| t.name);
	if deposit {
		let tx = rt::tx().referenda().place_decision_deposit(index);
		session.send(&key, "placing the decision deposit", &tx).await?;
	}
	if cli.json {
		print_json(&json!({
			"referendum": index,
			"track": track,
			"proposal": format!("0x{}", hex::encode(hash.0)),
			"decisionDeposit": deposit,
		}))?;
	} else {
		println!("referendum {index} on track {track}: {what}");
		if !deposit {
			println!("its decision deposit is not placed: `stratus gov deposit {index}`");
		}
		println!("vote with: stratus gov vote {index} aye \"<amount> STRAT\" --conviction 1");
	}
	Ok(ExitCode::SUCCESS)
}

async fn tracks(cli: &Cli) -> anyhow::Result<ExitCode> {
	let session = Session::open(cli).await?;
	let tracks = gov::tracks(&session.at().await?)?;
	if cli.json {
		print_json(&tracks)?;
		return Ok(ExitCode::SUCCESS);
	}
	println!(
		"{:>3} {:<16} {:>8} {:>16} {:>8} {:>9} {:>8} {:>8}",
		"id", "track", "deciding", "deposit", "prepare", "decision", "confirm", "enact"
	);
	for t in tracks {
		println!(
			"{:>3} {:<16} {:>8} {:>16} {:>8} {:>9} {:>8} {:>8}",
			t.id,
			t.name,
			t.max_deciding,
			Amount(t.decision_deposit).to_string(),
			t.prepare_period,
			t.decision_period,
			t.confirm_period,
			t.min_enactment_period
		);
	}
	println!("(periods in blocks of 3 s)");
	Ok(ExitCode::SUCCESS)
}

async fn referenda(cli: &Cli) -> anyhow::Result<ExitCode> {
	let session = Session::open(cli).await?;
	let at = session.at().await?;
	let list = gov::referenda(&at).await?;
	if cli.json {
		print_json(&list)?;
		return Ok(ExitCode::SUCCESS);
	}
	if list.is_empty() {
		println!("no referenda");
		return Ok(ExitCode::SUCCESS);
	}
	let names = gov::tracks(&at)?;
	for r in list {
		let track = r.track.map(|id| {
			names.iter().find(|t| t.id == id).map_or_else(|| id.to_string(), |t| t.name.clone())
		});
		match (track, r.phase) {
			(Some(track), Some(phase)) => println!(
				"#{} {track}: {phase}{}  ayes {}  nays {}  support {}  (submitted at #{}, proposal {})",
				r.index,
				if r.decision_deposit_placed == Some(false) { " (no decision deposit)" } else { "" },
				Amount(r.ayes.unwrap_or(0)),
				Amount(r.nays.unwrap_or(0)),
				Amount(r.support.unwrap_or(0)),
				r.since,
				r.proposal.unwrap_or_default()
			),
			_ => println!("#{} {} at #{}", r.index, r.state, r.since),
		}
	}
	Ok(ExitCode::SUCCESS)
}

fn params(cli: &Cli) -> anyhow::Result<ExitCode> {
	if cli.json {
		let list: Vec<_> = gov::PARAMETERS
			.iter()
			.map(|p| json!({ "name": p.name, "track": p.track, "kind": format!("{:?}", p.kind) }))
			.collect();
		print_json(&list)?;
		return Ok(ExitCode::SUCCESS);
	}
	for p in gov::PARAMETERS {
		let kind = match p.kind {
			gov::ValueKind::Percent => "a percentage, like 2.5%",
			gov::ValueKind::Amount => "an amount, like \"0.02 STRAT\"",
			gov::ValueKind::Blocks => "blocks of 3 s",
		};
		println!("{:<34} {:<14} {kind}", p.name, p.track);
	}
	println!("(bounds and defaults: docs/governance.md)");
	Ok(ExitCode::SUCCESS)
}

async fn refund(cli: &Cli, index: u32) -> anyhow::Result<ExitCode> {
	use rt::runtime_types::pallet_referenda::types::ReferendumInfo as Info;
	let (key, session) = signer(cli).await?;
	let at = session.at().await?;
	let info = gov::referendum(&at, index)
		.await?
		.ok_or_else(|| anyhow!("there is no referendum {index}"))?;
	let (submission, decision, settle) = match info {
		Info::Ongoing(_) => {
			bail!("referendum {index} is still ongoing: its deposits come back when it ends")
		},
		Info::Killed(_) => bail!("referendum {index} was killed: its deposits were slashed"),
		Info::Approved(_, s, d) | Info::Cancelled(_, s, d) => (s, d, false),
		Info::Rejected(_, s, d) | Info::TimedOut(_, s, d) => (s, d, true),
	};
	let mut done_what = Vec::new();
	if decision.is_some() {
		let tx = rt::tx().referenda().refund_decision_deposit(index);
		session.send(&key, "refunding the decision deposit", &tx).await?;
		done_what.push("decision deposit refunded");
	}
	match (submission, settle) {
		(Some(_), false) => {
			let tx = rt::tx().referenda().refund_submission_deposit(index);
			session.send(&key, "refunding the submission deposit", &tx).await?;
			done_what.push("submission deposit refunded");
		},
		(Some(_), true) => {
			let tx = rt::tx().governance().settle_submission_deposit(index);
			session.send(&key, "settling the submission deposit", &tx).await?;
			done_what.push("submission deposit paid to the treasury");
		},
		(None, _) => {},
	}
	if done_what.is_empty() {
		done_what.push("no deposit left to return");
	}
	done(cli, json!({ "referendum": index, "done": done_what }), || {
		format!("referendum {index}: {}", done_what.join(", "))
	})
}

async fn unlock(cli: &Cli) -> anyhow::Result<ExitCode> {
	let (key, session) = signer(cli).await?;
	let me = stratus_client::account_of(&key);
	let at = session.at().await?;
	let classes = gov::locked_classes(&at, &me).await?;
	if classes.is_empty() {
		return done(cli, json!({ "unlocked": [] }), || "nothing is locked by votes".to_owned());
	}
	let mut unlocked = Vec::new();
	for (class, _) in classes {
		let tx = rt::tx()
			.conviction_voting()
			.unlock(class, stratus_client::subxt::utils::MultiAddress::Id(me));
		session.send(&key, &format!("unlocking track {class}"), &tx).await?;
		unlocked.push(class);
	}
	let after = gov::locked_classes(&session.at().await?, &me).await?;
	done(cli, json!({ "unlocked": unlocked, "stillLocked": after }), || {
		if after.is_empty() {
			"unlocked everything votes locked".to_owned()
		} else {
			format!(
				"unlocked what has expired; still locked by votes or delegations that have not: {}",
				after
					.iter()
					.map(|(class, amount)| format!("track {class}: {}", Amount(*amount)))
					.collect::<Vec<_>>()
					.join(", ")
			)
		}
	})
}

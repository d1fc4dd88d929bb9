//! `stratus program register` and `stratus program remove`.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use serde_json::json;
use stratus_client::{
	amount::Amount,
	chain::{self, AtBlock},
	program::{self, ProgramKind},
	runtime as rt,
	subxt::utils::H256,
	Keypair,
};

use stratus_primitives::JobKind;

use crate::{
	cli::session::{hex32, key, limits, print_json, Session},
	Cli,
};

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
pub(crate) fn job_kind(checked: ProgramKind, file: &Path) -> JobKind {
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
pub(crate) fn ensure_not_retiring(
	hash: &[u8; 32],
	removable_at: Option<u32>,
) -> anyhow::Result<()> {
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
pub(crate) async fn ensure_program(
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
			&rt::tx().market().register_program(kind.into(), code.to_vec()),
		)
		.await?;
	Ok((hash, true))
}

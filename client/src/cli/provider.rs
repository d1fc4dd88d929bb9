//! `stratus provider register <file>`: the operator's half of a provider's registration (the
//! worker host made the file with `stratus-worker register`; see `stratus_client::provider`).

use std::{path::Path, process::ExitCode};

use stratus_client::{
	amount::Amount,
	chain::Chain,
	provider::Registration,
	runtime::{self as rt, runtime_types::sp_runtime::MultiSignature},
	ss58,
};

use crate::{
	cli::session::{key, print_json, Session},
	Cli,
};

/// Checks the registration in `file`, then registers the signing account as the provider it
/// describes (or, when it is registered already, updates its profile to the file's when they
/// differ and no offer holds slots, and bonds what the file's stake adds) and tops the worker key
/// up to the file's fee allowance. Refuses, before any fee is paid, a file made for
/// another chain or another operator, and a proof of consent that does not verify.
pub async fn register(cli: &Cli, file: &Path) -> anyhow::Result<ExitCode> {
	let text = std::fs::read_to_string(file)
		.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
	let request: Registration = serde_json::from_str(&text).map_err(|e| {
		anyhow::anyhow!(
			"{} is not a registration file from `stratus-worker register`: {e}",
			file.display()
		)
	})?;
	let checked = request.check()?;
	let key = key(cli)?;
	let signer = stratus_client::account_of(&key);
	if signer != checked.operator {
		anyhow::bail!(
			"{} names the operator {}, but the signing account is {}: pick that account with \
			 --account <name>, or make the file again on the worker host with `stratus-worker \
			 register --operator {}`",
			file.display(),
			request.operator,
			ss58(&signer),
			ss58(&signer)
		);
	}
	let session = Session::open(cli).await?;
	let genesis = session.conn.client.genesis_hash().0;
	if genesis != checked.genesis {
		anyhow::bail!(
			"{} was made for the chain with genesis {}, not the one at {} (genesis 0x{}); make it \
			 again on the worker host against this chain",
			file.display(),
			request.genesis,
			session.conn.endpoint,
			hex::encode(genesis)
		);
	}
	let chain = Chain { client: session.conn.client.clone() };
	let at = chain.finalized().await?;
	let mut report = Vec::new();
	match Chain::provider(&at, &checked.operator).await? {
		None => {
			let free = Chain::free_balance(&at, &checked.operator).await?;
			let needed = checked.stake.saturating_add(checked.fee_allowance);
			if free < needed {
				anyhow::bail!(
					"the operator account {} has {} free; registering needs {} (stake {} + fee \
					 allowance {}) plus fees: fund it first",
					request.operator,
					Amount(free),
					Amount(needed),
					request.stake,
					request.fee_allowance
				);
			}
			let proof = checked.proof.map(MultiSignature::Sr25519);
			let call = rt::tx().provider_staking().register(
				checked.worker,
				checked.profile.clone().into(),
				checked.stake,
				proof,
			);
			session.send(&key, "providerStaking.register", &call).await?;
			report.push(format!(
				"registered provider {} with worker key {} and {} stake",
				request.operator, request.worker, request.stake
			));
		},
		Some(provider) => {
			report.push(format!(
				"provider {} is already registered (stake {})",
				request.operator,
				Amount(provider.stake)
			));
			if provider.worker != checked.worker {
				report.push(format!(
					"note: its worker key on chain is {}, not the file's {} (change it with \
					 providerStaking.rotateWorkerKey)",
					ss58(&provider.worker),
					request.worker
				));
			}
			// The file's profile (result endpoint, region, machine) is what the worker serves now:
			// a profile left stale on chain sends requesters' downloads to the old endpoint.
			if provider.profile.0 != checked.profile {
				let endpoint = |p: &stratus_primitives::CapabilityProfile| {
					p.endpoint
						.as_ref()
						.map_or("none".to_owned(), |e| String::from_utf8_lossy(e).into_owned())
				};
				if provider.reserved_slots == 0 {
					let call =
						rt::tx().provider_staking().update_profile(checked.profile.clone().into());
					session.send(&key, "providerStaking.updateProfile", &call).await?;
					report.push(format!(
						"updated its profile to the file's (result endpoint {}, was {})",
						endpoint(&checked.profile),
						endpoint(&provider.profile.0)
					));
				} else {
					report.push(format!(
						"note: its profile on chain (result endpoint {}) is not the file's (result \
						 endpoint {}), and the chain changes a profile only while no offer holds \
						 slots: cancel its offers (market.cancelOffer) or let them expire, run this \
						 again, then `stratus-worker offer`",
						endpoint(&provider.profile.0),
						endpoint(&checked.profile)
					));
				}
			}
			if checked.stake > provider.stake {
				let amount = checked.stake.saturating_sub(provider.stake);
				let call = rt::tx().provider_staking().bond_extra(amount);
				session.send(&key, "providerStaking.bondExtra", &call).await?;
				report.push(format!("bonded {} more", Amount(amount)));
			}
		},
	}
	let at = chain.finalized().await?;
	let worker_free = Chain::free_balance(&at, &checked.worker).await?;
	if worker_free < checked.fee_allowance {
		let amount = checked.fee_allowance.saturating_sub(worker_free);
		let call = rt::tx().balances().transfer_keep_alive(checked.worker.into(), amount);
		session.send(&key, "balances.transferKeepAlive", &call).await?;
		report.push(format!("moved {} to the worker key for fees", Amount(amount)));
	}
	if cli.json {
		print_json(&serde_json::json!({
			"operator": request.operator, "worker": request.worker, "done": report,
		}))?;
	} else {
		report.iter().for_each(|line| println!("{line}"));
	}
	Ok(ExitCode::SUCCESS)
}

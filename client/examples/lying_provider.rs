//! A provider that lies, for the end-to-end tests of verification and slashing
//! (`zombienet/market.js`): a real account registered through `stratus-client` that takes jobs
//! and commits a wrong digest for each.
//!
//! It registers its account as a provider (operator and worker key at once) with one slot's
//! stake, offers one CPU slot at `--price`, and for every replica assigned to it acknowledges,
//! commits the digest of `lie/<job>` with `--units` units (bound, like every commitment, to the
//! chain, job, replica, provider and units), and reveals it when the reveal window opens. It does
//! the protocol exactly; only its results are false. After `--lies` reveals it prints one JSON
//! line per lie and exits.
//!
//! ```sh
//! lying_provider --ws ws://127.0.0.1:9944 --suri //Liar --price 500 --lies 1
//! ```

use std::{collections::BTreeMap, time::Duration};

use anyhow::{anyhow, Context};
use clap::Parser;
use stratus_client::{
	chain::{Chain, Replica},
	runtime as rt,
	tx::{submit, Wait},
	AccountId,
};
use stratus_primitives::{
	market::{JobPhase, ReplicaState},
	CapabilityProfile, JobKind, ResourceClass,
};

#[derive(Parser)]
struct Args {
	/// The node's WebSocket endpoint.
	#[arg(long)]
	ws: String,
	/// The liar's secret URI (it is its own operator and worker key).
	#[arg(long)]
	suri: String,
	/// Its offer's price per unit, in planck.
	#[arg(long, default_value_t = 500)]
	price: u128,
	/// Units it claims for every lie.
	#[arg(long, default_value_t = 1_000)]
	units: u64,
	/// How many lies to reveal before it exits.
	#[arg(long, default_value_t = 1)]
	lies: usize,
	/// Seconds to keep trying before it gives up.
	#[arg(long, default_value_t = 300)]
	timeout: u64,
}

/// What it committed for one replica.
struct Lie {
	digest: [u8; 32],
	salt: [u8; 32],
	revealed: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	let args = Args::parse();
	let key = stratus_client::keypair(&args.suri)?;
	let me: AccountId = stratus_client::account_of(&key);
	let conn = stratus_client::connect(std::slice::from_ref(&args.ws), 0, Duration::from_secs(30))
		.await
		.context("connecting")?;
	let chain = Chain { client: conn.client.clone() };
	let mut nonce = 0u64;

	let at = chain.client.at_current_block().await?;
	if Chain::provider(&at, &me).await?.is_none() {
		let profile = CapabilityProfile {
			kinds: vec![JobKind::Wasm].try_into().map_err(|_| anyhow!("one job kind"))?,
			gpus: Default::default(),
			cpu_cores: 64,
			memory_mib: 65_536,
			region: 276,
			endpoint: None,
		};
		let stake = 10 * stratus_primitives::PLANCK_PER_STRAT;
		submit(
			&conn,
			&key,
			&rt::tx().provider_staking().register(me, profile.into(), stake, None),
			&mut nonce,
			Wait::InBlock,
		)
		.await
		.map_err(|e| anyhow!("register: {e}"))?;
	}
	let expires = u32::try_from(at.block_number()).unwrap_or(u32::MAX).saturating_add(10_000);
	submit(
		&conn,
		&key,
		&rt::tx().market().post_offer(ResourceClass::Cpu.into(), args.price, 1, expires),
		&mut nonce,
		Wait::InBlock,
	)
	.await
	.map_err(|e| anyhow!("post_offer: {e}"))?;
	eprintln!(
		"lying provider {} offers 1 slot at {} planck",
		stratus_client::ss58(&me),
		args.price
	);

	let genesis = conn.client.genesis_hash().0;
	let mut lies: BTreeMap<(u64, u8), Lie> = BTreeMap::new();
	let deadline = tokio::time::Instant::now()
		.checked_add(Duration::from_secs(args.timeout))
		.ok_or_else(|| anyhow!("--timeout is too large"))?;
	while lies.values().filter(|l| l.revealed).count() < args.lies {
		if tokio::time::Instant::now() > deadline {
			return Err(anyhow!(
				"gave up after {} s with {} lies revealed",
				args.timeout,
				lies.len()
			));
		}
		tokio::time::sleep(Duration::from_millis(1500)).await;
		let at = chain.client.at_current_block().await?;
		let replicas: Vec<Replica> = Chain::provider_replicas(&at, &me).await?;
		for r in replicas {
			let key_ = (r.job, r.replica);
			// Each call has its own payload type: one submission path, spelled once.
			macro_rules! send {
				($call:expr) => {
					submit(&conn, &key, &$call, &mut nonce, Wait::InBlock).await.map(|_| ())
				};
			}
			let sent = match r.state {
				ReplicaState::Assigned => send!(rt::tx().market().acknowledge(r.job, r.replica)),
				ReplicaState::Acknowledged if !lies.contains_key(&key_) => {
					let digest = stratus_client::blake2_256(format!("lie/{}", r.job).as_bytes());
					let salt: [u8; 32] = rand::random();
					let commitment = stratus_primitives::commitment(
						&genesis,
						r.job,
						r.replica,
						&me.0,
						args.units,
						&sp_core::H256(digest),
						&salt,
					);
					lies.insert(key_, Lie { digest, salt, revealed: false });
					send!(rt::tx().verification().commit(r.job, r.replica, commitment.0.into()))
				},
				ReplicaState::Committed => {
					let Some((digest, salt)) = lies.get(&key_).map(|l| (l.digest, l.salt)) else {
						continue;
					};
					let Some(job) = Chain::job(&at, r.job).await? else { continue };
					if !matches!(job.phase, JobPhase::Revealing { .. }) {
						continue;
					}
					let revealed = send!(rt::tx().verification().reveal(
						r.job,
						r.replica,
						digest.into(),
						args.units,
						salt
					));
					if revealed.is_ok() {
						if let Some(lie) = lies.get_mut(&key_) {
							lie.revealed = true;
						}
						println!(
							"{{\"job\":{},\"replica\":{},\"digest\":\"0x{}\",\"units\":{}}}",
							r.job,
							r.replica,
							hex::encode(digest),
							args.units
						);
					}
					revealed
				},
				_ => continue,
			};
			if let Err(e) = sent {
				eprintln!("job {} replica {}: {e}", r.job, r.replica);
			}
		}
	}
	Ok(())
}

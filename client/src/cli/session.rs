//! What every chain-facing command needs: a connection, the signing key, the chain's limits, the
//! market's JSON-RPC methods.

use std::time::Duration;

use anyhow::Context;
use stratus_client::{
	chain::{self, timed, AtBlock},
	keystore::Keystore,
	manifest::Limits,
	runtime as rt,
	tx::{self, Events, Wait},
	Connection, Keypair,
};

use crate::Cli;

/// How long connecting to one endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to the chain.
pub struct Session {
	pub conn: Connection,
}

impl Session {
	/// Connects to the first endpoint that answers.
	pub async fn open(cli: &Cli) -> anyhow::Result<Self> {
		let conn = stratus_client::connect(&cli.endpoints, 0, CONNECT_TIMEOUT).await?;
		Ok(Self { conn })
	}

	/// Connects again, trying the endpoints from the `attempt`-th on (after a node went away).
	pub async fn reconnect(cli: &Cli, attempt: usize) -> anyhow::Result<Self> {
		let conn = stratus_client::connect(&cli.endpoints, attempt, CONNECT_TIMEOUT).await?;
		Ok(Self { conn })
	}

	/// The chain at its latest finalized block.
	pub async fn at(&self) -> anyhow::Result<AtBlock> {
		timed(self.conn.client.at_current_block())
			.await
			.with_context(|| format!("reading the chain at {}", self.conn.endpoint))
	}

	/// The number of the node's best block.
	pub async fn best_block(&self) -> anyhow::Result<u32> {
		let header = timed(self.conn.legacy().chain_get_header(None))
			.await
			.with_context(|| format!("reading the best block at {}", self.conn.endpoint))?
			.ok_or_else(|| anyhow::anyhow!("{} has no best block", self.conn.endpoint))?;
		u32::try_from(header.number).context("the best block number does not fit 32 bits")
	}

	/// Signs `call` with `key`, submits it and waits until it is in a best block (a reorg may
	/// still retract it: for a step that is followed on afterwards, like posting a job).
	pub async fn send_in_block<Call: stratus_client::subxt::transactions::Payload>(
		&self,
		key: &Keypair,
		what: &str,
		call: &Call,
	) -> anyhow::Result<Events> {
		self.submit(key, what, call, Wait::InBlock).await
	}

	/// Signs `call` with `key`, submits it and waits until it is finalized.
	pub async fn send<Call: stratus_client::subxt::transactions::Payload>(
		&self,
		key: &Keypair,
		what: &str,
		call: &Call,
	) -> anyhow::Result<Events> {
		self.submit(key, what, call, Wait::Finalized).await
	}

	async fn submit<Call: stratus_client::subxt::transactions::Payload>(
		&self,
		key: &Keypair,
		what: &str,
		call: &Call,
		wait: Wait,
	) -> anyhow::Result<Events> {
		let mut nonce = 0;
		tx::submit(&self.conn, key, call, &mut nonce, wait)
			.await
			.with_context(|| format!("{what} failed"))
	}
}

/// The market's limits and the block time, from the metadata at `at`.
pub fn limits(at: &AtBlock) -> anyhow::Result<Limits> {
	let constants = at.constants();
	let market = rt::constants().market();
	let read = |e: stratus_client::subxt::error::ConstantError| {
		anyhow::anyhow!("reading the chain's constants: {e}")
	};
	let block_time = chain::Chain::block_time(at)?;
	Ok(Limits {
		block_ms: u64::try_from(block_time.as_millis()).unwrap_or(u64::MAX),
		max_inline_input: constants.entry(market.max_inline_input()).map_err(read)?,
		max_output_bytes: constants.entry(market.max_output_bytes()).map_err(read)?,
		max_url_length: constants.entry(market.max_url_length()).map_err(read)?,
		max_replication: constants.entry(market.max_replication()).map_err(read)?,
		referees: constants.entry(market.referees()).map_err(read)?,
		job_deposit: constants.entry(market.job_deposit()).map_err(read)?,
		max_requirement_items: constants.entry(market.max_requirement_items()).map_err(read)?,
		ack_window: constants.entry(market.ack_window()).map_err(read)?,
		reveal_window: constants.entry(market.reveal_window()).map_err(read)?,
		max_job_duration: constants.entry(market.max_job_duration()).map_err(read)?,
		max_program_size: constants.entry(market.max_program_size()).map_err(read)?,
	})
}

/// The keystore the command line names.
pub fn keystore(cli: &Cli) -> anyhow::Result<Keystore> {
	let path = cli.keystore.clone().unwrap_or_else(Keystore::default_path);
	Ok(Keystore::open(&path)?)
}

/// The signing key the command line names.
pub fn key(cli: &Cli) -> anyhow::Result<Keypair> {
	Ok(keystore(cli)?.key(cli.account.as_deref())?)
}

/// Prints `value` as JSON.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
	println!("{}", serde_json::to_string_pretty(value)?);
	Ok(())
}

/// An amount as a decimal string, as the market's views write amounts
/// (`stratus_primitives::market::amount`), or `null`.
pub fn decimal_opt<S: serde::Serializer>(amount: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
	match amount {
		Some(amount) => s.collect_str(amount),
		None => s.serialize_none(),
	}
}

/// `0x…` of 32 bytes.
pub fn hex32(bytes: &[u8; 32]) -> String {
	format!("0x{}", hex::encode(bytes))
}

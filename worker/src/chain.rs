//! All of the worker's chain I/O: one [`Chain`] around one subxt client, every network await
//! under a timeout, and the market's types as the worker reads them.

use std::time::Duration;

use stratus_client::{
	runtime::{
		self as rt,
		runtime_types::{
			pallet_market::{
				runtime_api::{JobView, OfferView, ReplicaView},
				types::JobInput,
			},
			pallet_provider_staking::types::ProviderInfo,
		},
	},
	subxt::{client::OnlineClientAtBlock, storage::Address},
	AccountId, Client, StratusConfig,
};

/// How long one chain request may take before the worker gives up on it (and on the
/// connection, which is then re-established).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A replica as the market reports it.
pub type Replica = ReplicaView<AccountId, u128, u32>;
/// A job as the market reports it.
pub type Job = JobView<AccountId, u128, u32>;
/// An offer as the market reports it.
pub type Offer = OfferView<u128, u32>;
/// The chain at one block.
pub type AtBlock = OnlineClientAtBlock<StratusConfig>;
/// A registered provider.
pub type Provider = ProviderInfo;

/// What goes wrong talking to the chain. All recoverable: the worker reconnects and retries.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
	#[error("the node did not answer within {0:?}")]
	Timeout(Duration),
	#[error("chain request failed: {0}")]
	Request(String),
}

/// Runs `fut` under [`REQUEST_TIMEOUT`], mapping its error to a [`ChainError`].
pub async fn timed<T, E: std::fmt::Display>(
	fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ChainError> {
	match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
		Ok(Ok(value)) => Ok(value),
		Ok(Err(e)) => Err(ChainError::Request(e.to_string())),
		Err(_) => Err(ChainError::Timeout(REQUEST_TIMEOUT)),
	}
}

/// The chain as the worker reads it.
#[derive(Clone)]
pub struct Chain {
	pub client: Client,
}

impl Chain {
	/// The chain at the latest finalized block.
	pub async fn finalized(&self) -> Result<AtBlock, ChainError> {
		timed(self.client.at_current_block()).await
	}

	/// The live replicas assigned to `who` (operator account or worker key).
	pub async fn assignments(at: &AtBlock, who: &AccountId) -> Result<Vec<Replica>, ChainError> {
		let call = rt::runtime_apis().market_api().provider_assignments(*who);
		timed(at.runtime_apis().call(call)).await
	}

	/// The offers of `who` (operator account or worker key).
	pub async fn offers(at: &AtBlock, who: &AccountId) -> Result<Vec<Offer>, ChainError> {
		let call = rt::runtime_apis().market_api().provider_offers(*who);
		timed(at.runtime_apis().call(call)).await
	}

	/// A job's status, while its record exists.
	pub async fn job(at: &AtBlock, job: u64) -> Result<Option<Job>, ChainError> {
		let call = rt::runtime_apis().market_api().job_status(job);
		timed(at.runtime_apis().call(call)).await
	}

	/// A registered program's code.
	pub async fn program(at: &AtBlock, hash: [u8; 32]) -> Result<Option<Vec<u8>>, ChainError> {
		let code = fetch(at, rt::storage().market().program_code(), (hash.into(),)).await?;
		Ok(code.map(|code| code.0))
	}

	/// A job's input.
	pub async fn input(at: &AtBlock, job: u64) -> Result<Option<JobInput>, ChainError> {
		fetch(at, rt::storage().market().job_inputs(), (job,)).await
	}

	/// The provider registered under operator account `operator`.
	pub async fn provider(
		at: &AtBlock,
		operator: &AccountId,
	) -> Result<Option<Provider>, ChainError> {
		fetch(at, rt::storage().provider_staking().providers(), (*operator,)).await
	}

	/// The operator account a worker key acts for.
	pub async fn operator_of(
		at: &AtBlock,
		worker: &AccountId,
	) -> Result<Option<AccountId>, ChainError> {
		fetch(at, rt::storage().provider_staking().worker_keys(), (*worker,)).await
	}

	/// An account's free balance.
	pub async fn free_balance(at: &AtBlock, who: &AccountId) -> Result<u128, ChainError> {
		let account = fetch(at, rt::storage().system().account(), (*who,)).await?;
		Ok(account.map_or(0, |a| a.data.free))
	}
}

/// Reads and decodes one storage entry at `at` (`None` when it is absent).
async fn fetch<Addr: Address>(
	at: &AtBlock,
	addr: Addr,
	key: Addr::KeyParts,
) -> Result<Option<Addr::Value>, ChainError> {
	let value = timed(at.storage().try_fetch(addr, key)).await?;
	value.map(|v| v.decode()).transpose().map_err(request)
}

fn request(e: impl std::fmt::Display) -> ChainError {
	ChainError::Request(e.to_string())
}

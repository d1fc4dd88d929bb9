//! `slashing_*` and `reputation_*` RPC methods: the trust pallets' runtime APIs over JSON-RPC, for
//! wallets, dashboards and the CLI. Amounts are decimal strings (as in `market_*`); accounts are
//! SS58 strings; `at` picks a block (default: best).

use std::sync::Arc;

use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
	types::error::ErrorObjectOwned,
};
use serde_json::Value;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use stratus_runtime::{
	opaque::Block, pallet_reputation::ReputationApi, pallet_slashing::SlashingApi, AccountId,
	Balance, BlockNumber, Hash,
};

/// The error code of a failed runtime API call.
const RUNTIME_ERROR: i32 = 1;

#[rpc(server)]
pub trait TrustApi {
	/// A provider's pending slashes (deferred, its stake frozen), oldest first: `id`, `job`,
	/// `replica`, `offence`, `amount`, `reportedAt`, `applyAt`.
	#[method(name = "slashing_pendingSlashes")]
	fn pending_slashes(&self, provider: AccountId, at: Option<Hash>) -> RpcResult<Vec<Value>>;

	/// A provider's newest applied slashes, oldest first: `id`, `job`, `replica`, `offence`,
	/// `amount`, `appliedAt`.
	#[method(name = "slashing_appliedSlashes")]
	fn applied_slashes(&self, provider: AccountId, at: Option<Hash>) -> RpcResult<Vec<Value>>;

	/// A provider's reputation per job kind: `kind`, `score` (parts per billion), `consecutiveValid`,
	/// `bestStreak` (spec 112 on), `agreed`, `failed`.
	#[method(name = "reputation_of")]
	fn reputation(&self, provider: AccountId, at: Option<Hash>) -> RpcResult<Vec<Value>>;
}

/// Serves [`TrustApiServer`] from a client's runtime APIs.
pub struct Trust<C> {
	client: Arc<C>,
}

impl<C> Trust<C> {
	/// Serve the trust pallets of `client`'s chain.
	pub fn new(client: Arc<C>) -> Self {
		Self { client }
	}
}

fn error(e: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(RUNTIME_ERROR, "runtime API call failed", Some(e.to_string()))
}

/// Views as JSON (with their amounts), each `amount` as a decimal string (JavaScript numbers lose
/// planck).
fn with_amounts(
	views: impl Iterator<Item = (serde_json::Result<Value>, Balance)>,
) -> RpcResult<Vec<Value>> {
	views
		.map(|(json, amount)| {
			let mut json = json.map_err(error)?;
			if let Some(fields) = json.as_object_mut() {
				fields.insert("amount".to_owned(), Value::String(amount.to_string()));
			}
			Ok(json)
		})
		.collect()
}

#[async_trait]
impl<C> TrustApiServer for Trust<C>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: SlashingApi<Block, AccountId, Balance, BlockNumber> + ReputationApi<Block, AccountId>,
{
	fn pending_slashes(&self, provider: AccountId, at: Option<Hash>) -> RpcResult<Vec<Value>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let views = self.client.runtime_api().pending_slashes(at, provider).map_err(error)?;
		with_amounts(views.iter().map(|v| (serde_json::to_value(v), v.amount)))
	}

	fn applied_slashes(&self, provider: AccountId, at: Option<Hash>) -> RpcResult<Vec<Value>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let views = self.client.runtime_api().applied_slashes(at, provider).map_err(error)?;
		with_amounts(views.iter().map(|v| (serde_json::to_value(v), v.amount)))
	}

	fn reputation(&self, provider: AccountId, at: Option<Hash>) -> RpcResult<Vec<Value>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let views = self.client.runtime_api().reputation(at, provider).map_err(error)?;
		views.into_iter().map(|v| serde_json::to_value(&v).map_err(error)).collect()
	}
}

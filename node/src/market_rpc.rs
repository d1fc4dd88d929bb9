//! `market_*` RPC methods: the market's runtime API over JSON-RPC, for dApps and the CLI.
//! Amounts are decimal strings; accounts are SS58 strings; `at` picks a block (default: best).
//! Every method executes the runtime, so each runs on a blocking thread (`blocking`): a slow
//! call never stalls the server's async workers and the other connections they serve.

use std::sync::Arc;

use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
	types::error::ErrorObjectOwned,
};
use pallet_market::{
	runtime_api::{JobView, MarketApi as MarketRuntimeApi, NoMatchReport, OfferView, ReplicaView},
	RequirementsSpec,
};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use stratus_primitives::{JobId, JobKind};
use stratus_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Hash};

/// The error code of a failed runtime API call.
const RUNTIME_ERROR: i32 = 1;
/// The error code of requirements over their bounds (`market_bestPrice`).
const INVALID_REQUIREMENTS: i32 = 2;

#[rpc(server)]
pub trait MarketApi {
	/// The live replicas assigned to a provider (operator account or worker key).
	#[method(name = "market_providerReplicas", blocking)]
	fn provider_replicas(
		&self,
		provider: AccountId,
		at: Option<Hash>,
	) -> RpcResult<Vec<ReplicaView<AccountId, Balance, BlockNumber>>>;

	/// A provider's offers.
	#[method(name = "market_providerOffers", blocking)]
	fn provider_offers(
		&self,
		provider: AccountId,
		at: Option<Hash>,
	) -> RpcResult<Vec<OfferView<Balance, BlockNumber>>>;

	/// A job's full status; `null` for an unknown (or reaped) job.
	#[method(name = "market_jobStatus", blocking)]
	fn job_status(
		&self,
		job: JobId,
		at: Option<Hash>,
	) -> RpcResult<Option<JobView<AccountId, Balance, BlockNumber>>>;

	/// The lowest price per unit (decimal string) of an open offer of `kind` meeting
	/// `requirements`; `null` when none does. Requirements over their bounds (more regions or
	/// GPU models than a job may name) are an error (code 2) that names the list.
	#[method(name = "market_bestPrice", blocking)]
	fn best_price(
		&self,
		kind: JobKind,
		requirements: Option<RequirementsSpec<Balance>>,
		at: Option<Hash>,
	) -> RpcResult<Option<String>>;

	/// Why a job is not (fully) matched: how many offers each requirement excludes.
	#[method(name = "market_whyNoMatch", blocking)]
	fn why_no_match(&self, job: JobId, at: Option<Hash>) -> RpcResult<Option<NoMatchReport>>;
}

/// Serves [`MarketApiServer`] from a client's runtime API.
pub struct Market<C> {
	client: Arc<C>,
}

impl<C> Market<C> {
	/// Serve the market of `client`'s chain.
	pub fn new(client: Arc<C>) -> Self {
		Self { client }
	}
}

fn runtime_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(RUNTIME_ERROR, "runtime API call failed", Some(e.to_string()))
}

impl<C> Market<C>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: MarketRuntimeApi<Block, AccountId, Balance, BlockNumber>,
{
	fn call<R>(
		&self,
		at: Option<Hash>,
		f: impl FnOnce(&C::Api, Hash) -> Result<R, sp_api::ApiError>,
	) -> RpcResult<R> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		f(&self.client.runtime_api(), at).map_err(runtime_error)
	}
}

#[async_trait]
impl<C> MarketApiServer for Market<C>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: MarketRuntimeApi<Block, AccountId, Balance, BlockNumber>,
{
	fn provider_replicas(
		&self,
		provider: AccountId,
		at: Option<Hash>,
	) -> RpcResult<Vec<ReplicaView<AccountId, Balance, BlockNumber>>> {
		self.call(at, |api, at| api.provider_replicas(at, provider))
	}

	fn provider_offers(
		&self,
		provider: AccountId,
		at: Option<Hash>,
	) -> RpcResult<Vec<OfferView<Balance, BlockNumber>>> {
		self.call(at, |api, at| api.provider_offers(at, provider))
	}

	fn job_status(
		&self,
		job: JobId,
		at: Option<Hash>,
	) -> RpcResult<Option<JobView<AccountId, Balance, BlockNumber>>> {
		self.call(at, |api, at| api.job_status(at, job))
	}

	fn best_price(
		&self,
		kind: JobKind,
		requirements: Option<RequirementsSpec<Balance>>,
		at: Option<Hash>,
	) -> RpcResult<Option<String>> {
		let requirements = requirements.unwrap_or_default();
		// Requirements no job could carry are an error of their own, not "no offer".
		let checked = requirements.clone();
		if let Some(problem) = self.call(at, |api, at| api.check_requirements(at, checked))? {
			return Err(ErrorObjectOwned::owned(
				INVALID_REQUIREMENTS,
				format!("invalid requirements: {problem}"),
				Some(problem),
			));
		}
		let price = self.call(at, |api, at| api.best_price(at, kind, requirements))?;
		Ok(price.map(|p| p.to_string()))
	}

	fn why_no_match(&self, job: JobId, at: Option<Hash>) -> RpcResult<Option<NoMatchReport>> {
		self.call(at, |api, at| api.why_no_match(at, job))
	}
}

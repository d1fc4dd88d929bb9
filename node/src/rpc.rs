//! The node's own RPC methods, merged into the standard set that `sc-service` serves.

use std::sync::Arc;

use jsonrpsee::RpcModule;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use stratus_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Nonce};

/// What the RPC extensions need from the node.
pub struct FullDeps<C, P> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// The market's history, as the node indexes it (`crate::market_index`).
	pub history: crate::market_index::SharedHistory,
}

/// Builds the RPC extensions: `system_accountNextIndex` (and `system_dryRun`) and
/// `payment_queryInfo` / `payment_queryFeeDetails`, the market's `market_*` methods and the trust
/// pallets' `slashing_*` and `reputation_*` methods, and the market's history from the node's index
/// (`market_priceHistory`, `market_requesterJobs`, `market_providerHistory`).
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	C::Api: pallet_market::runtime_api::MarketApi<Block, AccountId, Balance, BlockNumber>,
	C::Api: stratus_runtime::pallet_slashing::SlashingApi<Block, AccountId, Balance, BlockNumber>,
	C::Api: stratus_runtime::pallet_reputation::ReputationApi<Block, AccountId>,
	P: TransactionPool + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, history } = deps;

	module.merge(SystemApiServer::<_, AccountId, Nonce>::into_rpc(System::new(
		client.clone(),
		pool,
	)))?;
	module.merge(TransactionPaymentApiServer::<
		_,
		pallet_transaction_payment::RuntimeDispatchInfo<Balance>,
	>::into_rpc(TransactionPayment::<_, Block>::new(client.clone())))?;
	module.merge(crate::market_rpc::MarketApiServer::into_rpc(crate::market_rpc::Market::new(
		client.clone(),
	)))?;
	module
		.merge(crate::trust_rpc::TrustApiServer::into_rpc(crate::trust_rpc::Trust::new(client)))?;
	module.merge(crate::market_index::MarketHistoryApiServer::into_rpc(
		crate::market_index::MarketHistory::new(history),
	))?;

	Ok(module)
}

//! The pallets whose weights `stratus-node benchmark pallet` measures.

frame_benchmarking::define_benchmarks!(
	[frame_benchmarking, BaselineBench::<Runtime>]
	[frame_system, SystemBench::<Runtime>]
	[frame_system_extensions, SystemExtensionsBench::<Runtime>]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_transaction_payment, TransactionPayment]
	[pallet_sudo, Sudo]
	[pallet_provider_staking, ProviderStaking]
	[pallet_market, Market]
	[pallet_verification, Verification]
	[pallet_slashing, Slashing]
	[pallet_governance, Governance]
	[pallet_scheduler, Scheduler]
	[pallet_preimage, Preimage]
	[pallet_referenda, Referenda]
	[pallet_conviction_voting, ConvictionVoting]
	[pallet_treasury, Treasury]
);

// `ChargeTransactionPayment` is benchmarked with the runtime's own fee settings.
impl pallet_transaction_payment::BenchmarkConfig for crate::Runtime {}

//! One `impl Config` per pallet, one file per pallet. Defaults come from each pallet's
//! `config_preludes` through `#[derive_impl]` where the pallet offers one; what is written here is
//! what Stratus chooses.

mod aura;
mod balances;
#[cfg(feature = "runtime-benchmarks")]
mod benchmark_helpers;
pub mod governance;
mod grandpa;
mod market;
pub mod parameters;
mod provider_staking;
mod reputation;
mod slashing;
mod sudo;
mod system;
mod timestamp;
mod transaction_payment;
mod verification;
#[cfg(feature = "runtime-benchmarks")]
pub use benchmark_helpers::BenchmarkHelpers;

pub use aura::MAX_AUTHORITIES;
pub use balances::ExistentialDeposit;
pub use governance::{tracks, MaxTreasurerSpend, MinDeferPeriod};
pub use market::{FeeAccount, MaxDeadlineWeight, MaxJobDuration, RevealWindow};
pub use parameters::dynamic_params::market::AckWindow;
pub use parameters::{
	dynamic_params, RuntimeParameters, RuntimeParametersKey, RuntimeParametersValue,
};
pub use provider_staking::UnbondingPeriod;
pub use slashing::{MaxDeferPeriod, DEV_DEFER_PERIOD};
pub use system::{
	extrinsic_base_weight, BlockHashCount, RuntimeBlockLength, RuntimeBlockWeights, SS58Prefix,
	Version,
};
pub use transaction_payment::TransactionByteFee;

//! The market's runtime API. The views it answers with live in `stratus_primitives::market`
//! (shared with the node's `market_*` RPC, which serves them as JSON, and the client, which
//! decodes them); the reads that build them are in `reads.rs`.

use crate::RequirementsSpec;
use alloc::vec::Vec;
use codec::Codec;
pub use stratus_primitives::market::{
	JobView, NoMatchReport, OfferView, ReplicaView, Requirement, RequirementsProblem,
};
use stratus_primitives::{JobId, JobKind};

sp_api::decl_runtime_apis! {
	/// Read the market: a provider's work, a job's status, prices, and why a job waits.
	///
	/// Version 2 (spec 114) adds `spot_check_forecast`.
	#[api_version(2)]
	pub trait MarketApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// The live replicas assigned to `provider` (operator account or worker key).
		fn provider_replicas(provider: AccountId) -> Vec<ReplicaView<AccountId, Balance, BlockNumber>>;
		/// The offers of `provider` (operator account or worker key).
		fn provider_offers(provider: AccountId) -> Vec<OfferView<Balance, BlockNumber>>;
		/// A job's full status, while its record exists.
		fn job_status(job: JobId) -> Option<JobView<AccountId, Balance, BlockNumber>>;
		/// The lowest price per unit among open offers of `kind` that meet `requirements`; `None`
		/// when none does, or when the requirements cannot be stored (ask `check_requirements`).
		fn best_price(kind: JobKind, requirements: RequirementsSpec<Balance>) -> Option<Balance>;
		/// Which list of `requirements` is over its bound, if any: a job with them is refused
		/// (`TooManyRequirements`) and `best_price` answers `None` for them.
		fn check_requirements(requirements: RequirementsSpec<Balance>) -> Option<RequirementsProblem>;
		/// Why `job` is not (fully) matched: how many offers each requirement excludes.
		fn why_no_match(job: JobId) -> Option<NoMatchReport>;
		/// Whether the spot-check draw that job `job` waits for will draw a second replica
		/// (`Some(true)`) or spare it (`Some(false)`), asked at the block whose hash is
		/// `block_hash` (the block this is called at); `None` when no draw waits or its outcome
		/// is not known yet. The block holding a replica's commitment fixes it: a worker spared
		/// there reveals into the next block, whose hook opens the reveal window.
		#[api_version(2)]
		fn spot_check_forecast(job: JobId, block_hash: sp_core::H256) -> Option<bool>;
	}
}

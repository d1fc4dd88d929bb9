//! Reading the chain: one [`Chain`] around one subxt client, every network await under a timeout,
//! and the market's types as the worker and the CLI read them.

use std::time::Duration;

use crate::{
	runtime::{
		self as rt,
		runtime_types::{
			pallet_market::types::{JobInput, Offer as StoredOffer, ProgramInfo},
			pallet_provider_staking::types::ProviderInfo,
			pallet_reputation::ReputationView,
			pallet_slashing::types::{AppliedSlash as StoredAppliedSlash, PendingSlashView},
		},
	},
	subxt::{self, client::OnlineClientAtBlock, storage::Address},
	AccountId, Client, StratusConfig,
};
use stratus_primitives::market::{JobView, NoMatchReport, OfferView, ReplicaView};

/// An account as the market's views hold it: `sp_core`'s, whose serde writes it in Stratus's
/// SS58 format once [`crate::connect`] has set that format (as the node's `market_*` RPC does).
pub type ViewAccount = sp_core::crypto::AccountId32;

/// A view's account as the client's other calls take it.
pub fn account(view: &ViewAccount) -> AccountId {
	AccountId::from(*<ViewAccount as AsRef<[u8; 32]>>::as_ref(view))
}

/// How long one chain request may take before it is given up (the worker then re-establishes
/// its connection; the CLI reports the endpoint).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A replica as the market reports it.
pub type Replica = ReplicaView<ViewAccount, u128, u32>;
/// A job as the market reports it.
pub type Job = JobView<ViewAccount, u128, u32>;
/// An offer as the market reports it.
pub type Offer = OfferView<u128, u32>;
/// The chain at one block.
pub type AtBlock = OnlineClientAtBlock<StratusConfig>;
/// An offer as the chain stores it.
pub type OfferRecord = StoredOffer;

/// How many of an offer's slots serve replicas now: the jobs its record lists.
pub fn slots_in_use(offer: &OfferRecord) -> u32 {
	u32::try_from(offer.jobs.0.len()).unwrap_or(u32::MAX)
}
/// A registered provider.
pub type Provider = ProviderInfo;
/// A slash reported and not yet applied or cancelled.
pub type PendingSlash = PendingSlashView<AccountId, u128, u32>;
/// A slash applied.
pub type AppliedSlash = StoredAppliedSlash<u128, u32>;
/// A provider's reputation for one job kind.
pub type Reputation = ReputationView;

/// A provider's standing in words: its reputation per job kind, and its slashes pending and
/// applied (what `stratus provider list` and `stratus-worker status` print).
pub fn standing_lines(
	reputation: &[Reputation],
	pending: &[PendingSlash],
	applied: &[AppliedSlash],
) -> Vec<String> {
	let mut lines = Vec::new();
	for r in reputation {
		lines.push(format!(
			"reputation for {:?} jobs: {:.1}% ({} agreed, {} failed, {} valid in a row, best run {})",
			*r.kind,
			f64::from(r.score.0) / 1e7,
			r.agreed,
			r.failed,
			r.consecutive_valid,
			r.best_streak
		));
	}
	if reputation.is_empty() {
		lines.push("reputation: no verified results yet (a newcomer scores 50%)".into());
	}
	for s in pending {
		lines.push(format!(
			"pending slash #{}: {:?} on job {} replica {}, {} frozen, applies at block {}",
			s.id,
			s.offence,
			s.job,
			s.replica,
			crate::amount::Amount(s.amount),
			s.apply_at
		));
	}
	for s in applied {
		lines.push(format!(
			"slashed #{}: {:?} on job {} replica {}, {} taken at block {}",
			s.id,
			s.offence,
			s.job,
			s.replica,
			crate::amount::Amount(s.amount),
			s.applied_at
		));
	}
	lines
}

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

/// The chain as Stratus's programs read it.
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
	pub async fn provider_replicas(
		at: &AtBlock,
		who: &AccountId,
	) -> Result<Vec<Replica>, ChainError> {
		let call = rt::runtime_apis().market_api().provider_replicas(*who);
		Ok(timed(at.runtime_apis().call(call)).await?.into_iter().map(|r| r.0).collect())
	}

	/// The offers of `who` (operator account or worker key).
	pub async fn offers(at: &AtBlock, who: &AccountId) -> Result<Vec<Offer>, ChainError> {
		let call = rt::runtime_apis().market_api().provider_offers(*who);
		Ok(timed(at.runtime_apis().call(call)).await?.into_iter().map(|o| o.0).collect())
	}

	/// The pending slashes of provider `operator`, oldest first.
	pub async fn pending_slashes(
		at: &AtBlock,
		operator: &AccountId,
	) -> Result<Vec<PendingSlash>, ChainError> {
		let call = rt::runtime_apis().slashing_api().pending_slashes(*operator);
		timed(at.runtime_apis().call(call)).await
	}

	/// The newest applied slashes of provider `operator`, oldest first.
	pub async fn applied_slashes(
		at: &AtBlock,
		operator: &AccountId,
	) -> Result<Vec<AppliedSlash>, ChainError> {
		let call = rt::runtime_apis().slashing_api().applied_slashes(*operator);
		timed(at.runtime_apis().call(call)).await
	}

	/// Provider `operator`'s reputation for each job kind it has a record for.
	pub async fn reputation(
		at: &AtBlock,
		operator: &AccountId,
	) -> Result<Vec<Reputation>, ChainError> {
		let call = rt::runtime_apis().reputation_api().reputation(*operator);
		timed(at.runtime_apis().call(call)).await
	}

	/// A job's status, while its record exists.
	pub async fn job(at: &AtBlock, job: u64) -> Result<Option<Job>, ChainError> {
		// Unvalidated: see [`jobs_address`]; the view holds the same `SpotCheck`.
		let call = rt::runtime_apis().market_api().job_status(job).unvalidated();
		Ok(timed(at.runtime_apis().call(call)).await?.map(|j| j.0))
	}

	/// Whether the spot-check draw job `job` waits for will draw a second replica (`Some(true)`)
	/// or spare it (`Some(false)`), read at block `at`, whose hash is `hash`; `None` when no draw
	/// waits or its outcome is not known yet. An error on a runtime before spec 114, which lacks
	/// the call.
	pub async fn spot_check_forecast(
		at: &AtBlock,
		job: u64,
		hash: subxt::utils::H256,
	) -> Result<Option<bool>, ChainError> {
		let call = rt::runtime_apis().market_api().spot_check_forecast(job, hash);
		timed(at.runtime_apis().call(call)).await
	}

	/// Why a job is not (fully) matched, while its record exists: how many offers each of its
	/// requirements excludes.
	pub async fn why_no_match(at: &AtBlock, job: u64) -> Result<Option<NoMatchReport>, ChainError> {
		let call = rt::runtime_apis().market_api().why_no_match(job);
		Ok(timed(at.runtime_apis().call(call)).await?.map(|r| r.0))
	}

	/// A registered program's code.
	pub async fn program(at: &AtBlock, hash: [u8; 32]) -> Result<Option<Vec<u8>>, ChainError> {
		let code = fetch(at, rt::storage().market().program_code(), (hash.into(),)).await?;
		Ok(code.map(|code| code.0))
	}

	/// A registered program's record (owner, kind, size, deposit, whether it is retiring).
	pub async fn program_info(
		at: &AtBlock,
		hash: [u8; 32],
	) -> Result<Option<ProgramInfo<AccountId, u128, u32>>, ChainError> {
		fetch(at, rt::storage().market().programs(), (hash.into(),)).await
	}

	/// The ids of the jobs `requester` posted that the chain still holds, oldest first.
	pub async fn jobs_of(at: &AtBlock, requester: &AccountId) -> Result<Vec<u64>, ChainError> {
		let mut ids = Vec::new();
		for (id, job) in entries(at, jobs_address()).await? {
			if job.requester == *requester {
				ids.push(id.0);
			}
		}
		ids.sort_unstable();
		Ok(ids)
	}

	/// Every offer the chain holds, by id.
	pub async fn all_offers(at: &AtBlock) -> Result<Vec<(u64, OfferRecord)>, ChainError> {
		let mut offers: Vec<(u64, OfferRecord)> = entries(at, rt::storage().market().offers())
			.await?
			.into_iter()
			.map(|(id, offer)| (id.0, offer))
			.collect();
		offers.sort_unstable_by_key(|(id, _)| *id);
		Ok(offers)
	}

	/// Every registered provider, by operator account.
	pub async fn all_providers(at: &AtBlock) -> Result<Vec<(AccountId, Provider)>, ChainError> {
		Ok(entries(at, rt::storage().provider_staking().providers())
			.await?
			.into_iter()
			.map(|(operator, provider)| (operator.0, provider))
			.collect())
	}

	/// A job's input: kept in the job's record when it is small, in `JobInputs` otherwise.
	pub async fn input(at: &AtBlock, job: u64) -> Result<Option<JobInput>, ChainError> {
		if let Some(input) = fetch(at, rt::storage().market().job_inputs(), (job,)).await? {
			return Ok(Some(input));
		}
		let record = fetch(at, jobs_address(), (job,)).await?;
		Ok(record.and_then(|job| job.small_input).map(JobInput::Inline))
	}

	/// The least memory and GPU memory (MiB) a job's requirements ask for, which are also its
	/// limits ([`stratus_primitives::job_memory_mib`]; a CUDA job's device memory); `None` when
	/// there is no such job.
	pub async fn job_memory_requirements(
		at: &AtBlock,
		job: u64,
	) -> Result<Option<(u32, u32)>, ChainError> {
		let record = fetch(at, jobs_address(), (job,)).await?;
		Ok(record.map(|job| (job.requirements.min_memory_mib, job.requirements.min_vram_mib)))
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

	/// The chain's block time: two of `pallet_timestamp`'s `MinimumPeriod` (Aura's slot, as the
	/// runtime sets it), read from the metadata at `at` — the one source the CLI and the worker
	/// convert blocks to time with.
	pub fn block_time(at: &AtBlock) -> Result<Duration, ChainError> {
		let period = at
			.constants()
			.entry(rt::constants().timestamp().minimum_period())
			.map_err(|e| ChainError::Request(format!("reading the chain's block time: {e}")))?;
		Ok(Duration::from_millis(period.saturating_mul(2)))
	}

	/// Whether the runtime at `at` takes a commit of a replica not acknowledged yet as its
	/// acknowledgement (`Market::CommitAcknowledges`, from spec 113 on; an older runtime lacks
	/// the constant and refuses such a commit).
	pub fn commit_acknowledges(at: &AtBlock) -> bool {
		at.constants().entry(rt::constants().market().commit_acknowledges()).unwrap_or(false)
	}

	/// The market's acknowledgement window, blocks.
	pub fn ack_window(at: &AtBlock) -> Result<u32, ChainError> {
		at.constants()
			.entry(rt::constants().market().ack_window())
			.map_err(|e| ChainError::Request(format!("reading the acknowledgement window: {e}")))
	}

	/// The id the next job will get: every job id under it exists or existed at `at`.
	pub async fn next_job_id(at: &AtBlock) -> Result<u64, ChainError> {
		Ok(fetch(at, rt::storage().market().next_job_id(), ()).await?.unwrap_or(0))
	}

	/// An account's free balance.
	pub async fn free_balance(at: &AtBlock, who: &AccountId) -> Result<u128, ChainError> {
		let account = fetch(at, rt::storage().system().account(), (*who,)).await?;
		Ok(account.map_or(0, |a| a.data.free))
	}
}

/// Reads and decodes every entry of a storage map at `at`, with its key.
pub(crate) async fn entries<Addr: Address>(
	at: &AtBlock,
	addr: Addr,
) -> Result<Vec<(Addr::KeyParts, Addr::Value)>, ChainError>
where
	Addr::KeyParts: subxt::ext::scale_decode::DecodeAsType,
	(): subxt::storage::PrefixOf<Addr::KeyParts>,
{
	let mut iter = timed(at.storage().iter(addr, ())).await?;
	let mut out = Vec::new();
	loop {
		let next = tokio::time::timeout(REQUEST_TIMEOUT, iter.next())
			.await
			.map_err(|_| ChainError::Timeout(REQUEST_TIMEOUT))?;
		let Some(entry) = next else { break };
		let entry = entry.map_err(request)?;
		let key = entry.key().map_err(request)?.decode().map_err(request)?;
		let value = entry.value().decode().map_err(request)?;
		out.push((key, value));
	}
	Ok(out)
}

/// Reads and decodes one storage entry at `at` (`None` when it is absent).
pub(crate) async fn fetch<Addr: Address>(
	at: &AtBlock,
	addr: Addr,
	key: Addr::KeyParts,
) -> Result<Option<Addr::Value>, ChainError> {
	let value = timed(at.storage().try_fetch(addr, key)).await?;
	value.map(|v| v.decode()).transpose().map_err(request)
}

/// The market's `Jobs` map, read without checking its type against the chain's metadata. The job
/// record's type last changed at spec 114 by gaining a variant at the end of `SpotCheck`
/// (`Drawing`), so it decodes every record an older runtime writes; a checked read would refuse a
/// chain still on an older runtime, and a worker upgraded before its chain would see none of its
/// jobs (found by the upgrade soak, which runs this worker against spec 111 first). Any other
/// change to the record's type must be checked against this before it ships.
fn jobs_address() -> impl Address<KeyParts = (u64,), Value = rt::market::storage::jobs::Output> {
	rt::storage().market().jobs().unvalidated()
}

fn request(e: impl std::fmt::Display) -> ChainError {
	ChainError::Request(e.to_string())
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::runtime::runtime_types::sp_arithmetic::per_things::Perbill;
	use stratus_primitives::JobKind;

	#[test]
	fn a_standing_names_the_job_kind_as_people_read_it() {
		let reputation = Reputation {
			kind: JobKind::Wasm.into(),
			score: Perbill(667_000_000),
			consecutive_valid: 1,
			best_streak: 2,
			agreed: 1,
			failed: 0,
		};
		let lines = standing_lines(&[reputation], &[], &[]);
		assert_eq!(
			lines,
			["reputation for Wasm jobs: 66.7% (1 agreed, 0 failed, 1 valid in a row, best run 2)"]
		);
	}
}

//! The market as the verification pallet sees it.

use crate::{Config, Error, JobPhase, Pallet, ReplicaState, SpotCheck};
use frame_support::pallet_prelude::*;
use sp_core::H256;
use sp_runtime::traits::{One, Saturating};
use stratus_primitives::{JobId, ReplicaIndex, ReplicaResults};

impl<T: Config> ReplicaResults<T::AccountId> for Pallet<T> {
	fn replica_provider(
		id: JobId,
		index: ReplicaIndex,
		signer: &T::AccountId,
	) -> Result<T::AccountId, DispatchError> {
		let job = Self::running_job(id)?;
		let position = Self::replica_of(&job, index, signer)?;
		let replica = job.replicas.get(position).ok_or(Error::<T>::UnknownReplica)?;
		Ok(replica.provider.clone())
	}

	fn on_commit(
		id: JobId,
		index: ReplicaIndex,
		signer: &T::AccountId,
	) -> Result<Weight, DispatchError> {
		let mut job = Self::running_job(id)?;
		let position = Self::replica_of(&job, index, signer)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(job.phase == JobPhase::Open, Error::<T>::NotAwaitingCommit);
		// A commit of a replica still waiting for its acknowledgement acknowledges it: the
		// result is there, so the work was taken on. One transaction instead of two, and a
		// block less from the job's match to its commitment (docs/market.md, "What each step
		// waits for").
		let assigned =
			job.replicas.get(position).is_some_and(|r| r.state == ReplicaState::Assigned);
		let mut extra = Weight::zero();
		if assigned {
			let drew =
				Self::take_on(id, &mut job, position).map_err(|_| Error::<T>::NotAwaitingCommit)?;
			extra = Self::acknowledge_weight(drew);
		}
		let replica = job.replicas.get_mut(position).ok_or(Error::<T>::UnknownReplica)?;
		ensure!(
			replica.state == ReplicaState::Acknowledged
				&& replica.commit_by.is_some_and(|by| now <= by),
			Error::<T>::NotAwaitingCommit
		);
		replica.state = ReplicaState::Committed;
		// A replica running alone learns whether it is spot-checked only from a block that did
		// not exist when it committed: the randomness its own block fixes, which the next one's
		// hook draws from, at the rate its provider has now.
		if job.spot_check == Some(SpotCheck::Pending) {
			let rate = Self::spot_check_rate(&job);
			job.spot_check = Some(SpotCheck::Drawing { at: now.saturating_add(One::one()), rate });
		}
		Self::advance(id, &mut job);
		Self::store_job(id, job);
		Ok(extra)
	}

	fn commit_extra_weight() -> Weight {
		// The acknowledgement's own step (its benchmark: an upper bound, it reads the job the
		// commit reads anyway), the verifier it may draw, and the provider's reputation read for
		// the spot-check's rate.
		Self::acknowledge_weight(true).saturating_add(T::DbWeight::get().reads(1))
	}

	fn on_reveal(
		id: JobId,
		index: ReplicaIndex,
		signer: &T::AccountId,
		digest: H256,
		units: u64,
	) -> DispatchResult {
		let mut job = Self::running_job(id)?;
		let position = Self::replica_of(&job, index, signer)?;
		let now = frame_system::Pallet::<T>::block_number();
		let revealing = matches!(job.phase, JobPhase::Revealing { until } if now <= until);
		let replica = job.replicas.get_mut(position).ok_or(Error::<T>::UnknownReplica)?;
		ensure!(
			revealing && replica.state == ReplicaState::Committed,
			Error::<T>::NotAwaitingReveal
		);
		replica.state = ReplicaState::Revealed;
		replica.digest = Some(digest);
		replica.units = Some(units);
		Self::advance(id, &mut job);
		Self::store_job(id, job);
		Ok(())
	}

	fn reveal_extra_weight() -> Weight {
		// Calling referees: the round's slots given back, then a draw.
		Self::draw_weight(true).saturating_add(
			T::DbWeight::get().reads_writes(1, 1).saturating_mul(T::MaxReplication::get().into()),
		)
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl<T: Config> Pallet<T> {
	/// Puts a job in the state where `replica` can commit (`revealing = false`) or reveal
	/// (`revealing = true`) and the reveal completes the job with `replication` replicas; returns
	/// the account that signs for the replica and its provider. What the verification pallet's
	/// benchmark helper calls.
	pub fn prepare_for_benchmarks(
		replication: u8,
		revealing: bool,
	) -> (JobId, ReplicaIndex, T::AccountId, T::AccountId) {
		crate::benchmarking::prepare_results::<T>(replication, revealing)
	}
}

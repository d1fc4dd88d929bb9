//! # Verification pallet
//!
//! Commit-reveal of replica results and the quorum that fixes a job's canonical digest.
//!
//! ## Model
//!
//! A job runs as one or more *replicas*, each on a distinct provider (see `pallet-market`). When a
//! provider's worker has a result it **commits** a hash that binds the chain, the job, the replica,
//! the replica's provider, the compute units used and the output's digest, with a random 32-byte
//! salt ([`stratus_primitives::commitment`]). A commitment equal to another replica's in the same
//! job is refused. Once every replica has committed (or the job's commit window has closed) the
//! market opens the *reveal window* and each replica **reveals** its digest, units and salt; the
//! pallet recomputes the commitment with the replica's own provider, so a reveal copied from
//! another replica (or a commitment copied from one) never opens.
//!
//! When the reveals agree — on the digest and, for WASM jobs, on the units — the agreed result
//! becomes the job's canonical one and the market pays the quorum the agreed units: all of the
//! replicas for one or two, a strict majority from three on ([`quorum`]). CUDA units (GPU
//! milliseconds) are not deterministic: CUDA replicas agree on the digest and are paid the lower
//! median of the quorum's units. Disagreement without a majority marks the job disputed.
//!
//! Both calls are signed by the provider's operator account or by its worker key; the market
//! checks which provider the signer acts for and whether the replica may take the step.
//!
//! ## Timeline of one replica
//!
//! ```text
//! assigned ── acknowledge ── commit(H(… provider ‖ units ‖ digest ‖ salt)) ── [reveal window] ── reveal(digest, units, salt)
//! assigned ─────────────────── commit (implies the acknowledgement) ── …
//! ```

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impls;
#[cfg(any(feature = "std", feature = "try-runtime"))]
mod invariants;
#[cfg(test)]
mod mock;
pub mod quorum;
#[cfg(test)]
mod tests;
pub mod weights;
pub use weights::WeightInfo;

/// What the verification pallet's benchmarks need from the runtime, kept off the production
/// traits (the runtime asks its market).
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// A job in the state where `replica` can commit (`revealing = false`) or reveal
	/// (`revealing = true`), the reveal completing the job with `replication` replicas: the job,
	/// the replica, the account that signs for it and its provider.
	fn open_replica(
		replication: u8,
		revealing: bool,
	) -> (stratus_primitives::JobId, stratus_primitives::ReplicaIndex, AccountId, AccountId);
}

// The pallet macros expand to `expect`s with written proofs; the pallet's own code is held to the
// workspace lints in the other modules.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
	use sp_runtime::traits::Zero;
	use stratus_primitives::{JobId, ReplicaIndex, ReplicaResults};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The market, told about every accepted commit and reveal.
		type Jobs: ReplicaResults<Self::AccountId>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
		/// What the benchmarks need from the runtime: a replica ready to commit or reveal.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId>;
	}

	/// A replica's commitment ([`stratus_primitives::commitment`]), kept until its job ends or
	/// a new round of its replicas starts.
	///
	/// Twox64Concat: job ids and replica indices are assigned by the chain, not chosen by users.
	#[pallet::storage]
	pub type Commitments<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, ReplicaIndex, H256, OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A replica committed its result.
		ReplicaCommitted {
			/// The job.
			job: JobId,
			/// The replica that committed.
			replica: ReplicaIndex,
			/// The commitment ([`stratus_primitives::commitment`]).
			commitment: H256,
		},
		/// A replica revealed the digest behind its commitment.
		ReplicaRevealed {
			/// The job.
			job: JobId,
			/// The replica that revealed.
			replica: ReplicaIndex,
			/// The digest of the replica's output.
			digest: H256,
			/// The compute units the replica used.
			units: u64,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The replica has already committed a result; a replica commits once. Reveal it when
		/// the reveal window opens.
		AlreadyCommitted,
		/// There is no commitment for this replica, so there is nothing to reveal. Commit first;
		/// a replica that never committed cannot reveal.
		NoCommitment,
		/// The digest, units and salt do not open the replica's commitment with the replica's own
		/// provider: one of them is not the one committed, or the commitment was made for another
		/// replica or provider. Reveal exactly what was committed.
		RevealMismatch,
		/// Another replica of the job has already committed exactly this commitment. Each
		/// replica commits its own ([`stratus_primitives::commitment`] binds its index and
		/// provider); copying another's is refused.
		DuplicateCommitment,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight(<T as Config>::WeightInfo))]
	impl<T: Config> Pallet<T> {
		/// Commit the result of `replica` of `job`: `commitment` is
		/// [`stratus_primitives::commitment`] of the chain's genesis hash, the job, the replica,
		/// its provider, the units used, the output's digest and a salt. Signed by the replica's
		/// provider or its worker key, before the replica's commit deadline. A commit of a
		/// replica not acknowledged yet (before its acknowledgement deadline) acknowledges it: a
		/// worker that has the result at once sends one transaction instead of two. A valid
		/// commit costs no fee (each replica commits once); a refused one pays.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::commit().saturating_add(T::Jobs::commit_extra_weight()))]
		pub fn commit(
			origin: OriginFor<T>,
			job: JobId,
			replica: ReplicaIndex,
			commitment: H256,
		) -> DispatchResultWithPostInfo {
			let signer = ensure_signed(origin)?;
			let extra = Self::do_commit(signer, job, replica, commitment)?;
			Ok(frame_support::dispatch::PostDispatchInfo {
				actual_weight: Some(T::WeightInfo::commit().saturating_add(extra)),
				pays_fee: Pays::No,
			})
		}

		/// Reveal the `digest`, `units` and `salt` behind the commitment of `replica` of `job`,
		/// during the job's reveal window. The reveal that completes the job settles it. A valid
		/// reveal costs no fee (each replica reveals once); a refused one pays.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::reveal().saturating_add(T::Jobs::reveal_extra_weight()))]
		pub fn reveal(
			origin: OriginFor<T>,
			job: JobId,
			replica: ReplicaIndex,
			digest: H256,
			units: u64,
			salt: [u8; 32],
		) -> DispatchResultWithPostInfo {
			let signer = ensure_signed(origin)?;
			Self::do_reveal(signer, job, replica, digest, units, salt)?;
			Ok(Pays::No.into())
		}
	}

	impl<T: Config> Pallet<T> {
		pub(crate) fn do_commit(
			signer: T::AccountId,
			job: JobId,
			replica: ReplicaIndex,
			commitment: H256,
		) -> Result<Weight, DispatchError> {
			// The market first: an ended job, an unknown replica or a stranger get the market's
			// own error, whatever is stored here.
			T::Jobs::replica_provider(job, replica, &signer)?;
			ensure!(!Commitments::<T>::contains_key(job, replica), Error::<T>::AlreadyCommitted);
			// At most `MaxReplicasPerJob` commitments per job.
			ensure!(
				!Commitments::<T>::iter_prefix_values(job).any(|c| c == commitment),
				Error::<T>::DuplicateCommitment
			);
			let extra = T::Jobs::on_commit(job, replica, &signer)?;
			Commitments::<T>::insert(job, replica, commitment);
			Self::deposit_event(Event::ReplicaCommitted { job, replica, commitment });
			Ok(extra)
		}

		pub(crate) fn do_reveal(
			signer: T::AccountId,
			job: JobId,
			replica: ReplicaIndex,
			digest: H256,
			units: u64,
			salt: [u8; 32],
		) -> DispatchResult {
			let provider = T::Jobs::replica_provider(job, replica, &signer)?;
			let committed = Commitments::<T>::get(job, replica).ok_or(Error::<T>::NoCommitment)?;
			let genesis = Self::genesis_hash();
			let opened = stratus_primitives::commitment(
				&genesis, job, replica, &provider, units, &digest, &salt,
			);
			ensure!(opened == committed, Error::<T>::RevealMismatch);
			// The event goes first: the reveal that completes a job settles it inside `on_reveal`,
			// and wallets read the reveal before the settlement.
			Self::deposit_event(Event::ReplicaRevealed { job, replica, digest, units });
			T::Jobs::on_reveal(job, replica, &signer, digest, units)
		}

		/// The chain's genesis hash, which every commitment binds (`frame_system` keeps block
		/// 0's hash for ever).
		pub fn genesis_hash() -> [u8; 32] {
			let hash = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
			stratus_primitives::leading_bytes(hash.as_ref())
		}
	}
}

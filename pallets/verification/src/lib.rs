//! # Verification pallet
//!
//! Commit-reveal of replica results and the quorum that fixes a job's canonical digest.
//!
//! ## Model
//!
//! A job runs as one or more *replicas*, each on a distinct provider (see `pallet-market`). When a
//! provider's worker has a result it **commits** `blake2_256(digest ‖ salt)` — the digest of its
//! output and a random 32-byte salt — together with the compute units it used. The commitment hides
//! the digest, so no replica can copy another's answer. Once every replica has committed (or the
//! job's commit window has closed) the market opens the *reveal window* and each replica
//! **reveals** its digest and salt; a reveal that does not hash to its commitment is rejected.
//!
//! When the reveals agree — all of them for one or two replicas, a strict majority from three on —
//! the agreed digest becomes the job's canonical result and the market pays the quorum.
//! Disagreement without a majority marks the job disputed. Escalation (extra replicas, referees),
//! adaptive replication and slashing plug in behind the [`Verifier`] trait this pallet implements.
//!
//! Both calls are signed by the provider's operator account or by its worker key; the market
//! checks which provider the signer acts for and whether the replica may take the step.
//!
//! ## Timeline of one replica
//!
//! ```text
//! assigned ── acknowledge ── commit(hash(digest ‖ salt), units) ── [reveal window] ── reveal(digest, salt)
//! ```

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impls;
#[cfg(test)]
mod mock;
pub mod quorum;
#[cfg(test)]
mod tests;
pub mod weights;
pub use weights::WeightInfo;

// The pallet macros expand to `expect`s with written proofs; the pallet's own code is held to the
// workspace lints in the other modules.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
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
	}

	/// A replica's commitment, `blake2_256(digest ‖ salt)`, kept until its job ends.
	///
	/// Twox64Concat: job ids and replica indices are assigned by the chain, not chosen by users.
	#[pallet::storage]
	pub type Commitments<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, ReplicaIndex, H256, OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A replica committed its result.
		ResultCommitted {
			/// The job.
			job: JobId,
			/// The replica that committed.
			replica: ReplicaIndex,
			/// `blake2_256(digest ‖ salt)`.
			commitment: H256,
			/// Compute units the replica reports having used.
			units: u64,
		},
		/// A replica revealed the digest behind its commitment.
		ResultRevealed {
			/// The job.
			job: JobId,
			/// The replica that revealed.
			replica: ReplicaIndex,
			/// The digest of the replica's output.
			digest: H256,
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
		/// `blake2_256(digest ‖ salt)` is not the replica's commitment: the digest or the salt is
		/// not the one committed. Reveal exactly the digest and salt that were committed.
		RevealMismatch,
	}

	#[pallet::call(weight(<T as Config>::WeightInfo))]
	impl<T: Config> Pallet<T> {
		/// Commit the result of `replica` of `job`: `commitment = blake2_256(digest ‖ salt)`,
		/// and the compute `units` used. Signed by the replica's provider or its worker key, after
		/// the replica was assigned and before its commit deadline.
		#[pallet::call_index(0)]
		pub fn commit(
			origin: OriginFor<T>,
			job: JobId,
			replica: ReplicaIndex,
			commitment: H256,
			units: u64,
		) -> DispatchResult {
			let signer = ensure_signed(origin)?;
			Self::do_commit(signer, job, replica, commitment, units)
		}

		/// Reveal the `digest` and `salt` behind the commitment of `replica` of `job`, during
		/// the job's reveal window. The reveal that completes the job settles it.
		#[pallet::call_index(1)]
		pub fn reveal(
			origin: OriginFor<T>,
			job: JobId,
			replica: ReplicaIndex,
			digest: H256,
			salt: [u8; 32],
		) -> DispatchResult {
			let signer = ensure_signed(origin)?;
			Self::do_reveal(signer, job, replica, digest, salt)
		}
	}

	impl<T: Config> Pallet<T> {
		pub(crate) fn do_commit(
			signer: T::AccountId,
			job: JobId,
			replica: ReplicaIndex,
			commitment: H256,
			units: u64,
		) -> DispatchResult {
			ensure!(!Commitments::<T>::contains_key(job, replica), Error::<T>::AlreadyCommitted);
			T::Jobs::on_commit(job, replica, &signer, units)?;
			Commitments::<T>::insert(job, replica, commitment);
			Self::deposit_event(Event::ResultCommitted { job, replica, commitment, units });
			Ok(())
		}

		pub(crate) fn do_reveal(
			signer: T::AccountId,
			job: JobId,
			replica: ReplicaIndex,
			digest: H256,
			salt: [u8; 32],
		) -> DispatchResult {
			let committed = Commitments::<T>::get(job, replica).ok_or(Error::<T>::NoCommitment)?;
			ensure!(quorum::commitment(&digest, &salt) == committed, Error::<T>::RevealMismatch);
			// The event goes first: the reveal that completes a job settles it inside `on_reveal`,
			// and wallets read the reveal before the settlement.
			Self::deposit_event(Event::ResultRevealed { job, replica, digest });
			T::Jobs::on_reveal(job, replica, &signer, digest)
		}
	}
}

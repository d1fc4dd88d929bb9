//! # Reputation pallet
//!
//! A score per provider and job kind, kept from what the market verifies: every result that
//! agrees with a verified quorum raises it, every result outvoted by one, every missed deadline
//! and every dispute lowers it, and time discounts both, so a record must be kept up to stay high.
//! The formula is in [`math`] (a discounted Beta score, as Acurast uses, and BOINC's count of
//! consecutive valid results), in plain functions with property tests.
//!
//! The market reads it through [`ReputationProvider`]: jobs may require a minimum score
//! (matching passes over providers below it, and `market_whyNoMatch` counts them), and the
//! `adaptive` verification policy trusts a provider alone only above a threshold, with a
//! spot-check rate that falls with its run of valid results.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(any(feature = "std", feature = "try-runtime", test))]
mod invariants;
pub mod math;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use frame_support::traits::Get;
use frame_system::pallet_prelude::BlockNumberFor;
use math::{Outcome, Record, Rules};
use sp_runtime::Perbill;
use stratus_primitives::{JobKind, ReputationProvider, ResultOutcome};

// The pallet macros expand to `expect`s with written proofs; the pallet's own code is held to the
// workspace lints in the other modules.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;

	/// The in-code storage version: 1 since records keep `best_streak`
	/// ([`migrations::v1`](crate::migrations::v1)).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// Blocks per discount step.
		#[pallet::constant]
		type DecayPeriod: Get<u32>;
		/// The share of a record's counts kept per discount step.
		#[pallet::constant]
		type DecayKeep: Get<Perbill>;
		/// How many failures one outvoted result counts as.
		#[pallet::constant]
		type WrongWeight: Get<u32>;
		/// The score from which a provider runs an `adaptive` job alone (spot-checked at random);
		/// below it the job gets a second replica.
		#[pallet::constant]
		type TrustThreshold: Get<Perbill>;
		/// Valid results in a row that halve a trusted provider's spot-check rate
		/// ([`math::spot_check_rate`]).
		#[pallet::constant]
		type SpotCheckScale: Get<u32>;
		/// The lowest spot-check rate, however long the record.
		#[pallet::constant]
		type SpotCheckFloor: Get<Perbill>;
	}

	/// Each provider's record per job kind.
	///
	/// Blake2_128Concat: accounts are chosen by users; Twox64Concat: two job kinds.
	#[pallet::storage]
	pub type Reputations<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Twox64Concat,
		JobKind,
		Record<BlockNumberFor<T>>,
		OptionQuery,
	>;

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A provider's reputation changed.
		ReputationUpdated {
			/// The provider.
			provider: T::AccountId,
			/// For jobs of this kind.
			kind: JobKind,
			/// The new score.
			score: Perbill,
			/// Its results in a row that agreed with their quorum.
			consecutive_valid: u32,
		},
	}
}

impl<T: Config> Pallet<T> {
	/// The formula's parameters.
	pub fn rules() -> Rules {
		Rules {
			period: T::DecayPeriod::get(),
			keep: T::DecayKeep::get(),
			wrong_weight: T::WrongWeight::get(),
		}
	}

	/// `provider`'s record for `kind` (a newcomer's is empty).
	pub fn record(provider: &T::AccountId, kind: JobKind) -> Record<BlockNumberFor<T>> {
		Reputations::<T>::get(provider, kind).unwrap_or_else(|| Record {
			updated_at: frame_system::Pallet::<T>::block_number(),
			..Default::default()
		})
	}

	/// `provider`'s reputation for each job kind it has a record for (runtime API).
	pub fn reputation_of(provider: T::AccountId) -> alloc::vec::Vec<ReputationView> {
		let now = frame_system::Pallet::<T>::block_number();
		let rules = Self::rules();
		[JobKind::Wasm, JobKind::Cuda]
			.into_iter()
			.filter_map(|kind| {
				let record = Reputations::<T>::get(&provider, kind)?;
				Some(ReputationView {
					kind,
					score: record.score_at(now, &rules),
					consecutive_valid: record.consecutive_valid,
					best_streak: record.best_streak,
					agreed: record.agreed / math::ONE,
					failed: record.failed / math::ONE,
				})
			})
			.collect()
	}
}

impl<T: Config> ReputationProvider<T::AccountId> for Pallet<T> {
	fn score(provider: &T::AccountId, kind: JobKind) -> Perbill {
		let now = frame_system::Pallet::<T>::block_number();
		Self::record(provider, kind).score_at(now, &Self::rules())
	}

	fn consecutive_valid(provider: &T::AccountId, kind: JobKind) -> u32 {
		Reputations::<T>::get(provider, kind).map_or(0, |r| r.consecutive_valid)
	}

	fn spot_check_rate(provider: &T::AccountId, kind: JobKind) -> Option<Perbill> {
		let now = frame_system::Pallet::<T>::block_number();
		let record = Self::record(provider, kind);
		(record.score_at(now, &Self::rules()) >= T::TrustThreshold::get()).then(|| {
			math::spot_check_rate(
				record.consecutive_valid,
				T::SpotCheckScale::get(),
				T::SpotCheckFloor::get(),
			)
		})
	}

	fn record_result(provider: &T::AccountId, kind: JobKind, outcome: ResultOutcome) {
		let now = frame_system::Pallet::<T>::block_number();
		let rules = Self::rules();
		let outcome = match outcome {
			ResultOutcome::Agreed => Outcome::Agreed,
			ResultOutcome::Outvoted => Outcome::Outvoted,
			ResultOutcome::Missed => Outcome::Missed,
			ResultOutcome::Disputed => Outcome::Disputed,
		};
		let record = Self::record(provider, kind).updated(outcome, now, &rules);
		Reputations::<T>::insert(provider, kind, record);
		Self::deposit_event(Event::ReputationUpdated {
			provider: provider.clone(),
			kind,
			score: record.score_at(now, &rules),
			consecutive_valid: record.consecutive_valid,
		});
	}
}

/// A provider's reputation for one job kind, as the runtime API reports it.
#[derive(Clone, codec::Encode, codec::Decode, scale_info::TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct ReputationView {
	/// The job kind.
	pub kind: JobKind,
	/// The score now, in `(0, 1)`; a newcomer has ½.
	pub score: Perbill,
	/// Results in a row that agreed with their quorum.
	pub consecutive_valid: u32,
	/// The longest such run it has had (since storage version 1; a record from before starts
	/// at the run it had then).
	pub best_streak: u32,
	/// Results that agreed, discounted, in whole events.
	pub agreed: u64,
	/// Failures, discounted and weighted, in whole events.
	pub failed: u64,
}

sp_api::decl_runtime_apis! {
	/// Providers' reputation, for wallets, the CLI and the worker.
	pub trait ReputationApi<AccountId>
	where
		AccountId: codec::Codec,
	{
		/// `provider`'s reputation for each job kind it has a record for.
		fn reputation(provider: AccountId) -> alloc::vec::Vec<ReputationView>;
	}
}

//! # Slashing pallet
//!
//! What a provider loses when it breaks its word in the market, and who gets it.
//!
//! ## Model
//!
//! The market (`pallet-market`) reports an **offence** through [`OnOffence`] whenever a replica
//! misses its acknowledgement, its commit (after acknowledging) or its reveal (after committing),
//! and whenever a replica's revealed result — digest or units — is outside a verified quorum.
//! Each offence slashes a governance-set fraction ([`SlashParams`]) of the stake that backs one
//! slot (`MinStakePerSlot` of `pallet-provider-staking`).
//!
//! A slash is **deferred**: it is reported at once (`SlashDeferred`), the amount is *frozen* in the
//! provider's stake (it can neither unbond nor be withdrawn, [`StakeManager::freeze`]), and it is
//! applied `defer_period` blocks later unless [`Config::CancelOrigin`] cancels it first
//! (`cancel_slash`; Root today, a governance track later). Applied, the frozen stake is paid out:
//! `requester_share` to the job's requester, `honest_share` split equally among the job's honest
//! providers (the quorum that outvoted a wrong result; the replicas that revealed in a round a
//! missing reveal left without a verdict), and the rest to [`Config::FeeAccount`]. A share whose
//! recipient cannot receive it (an account below the existential deposit) goes to the fee account
//! too. Nothing is minted or burned: a slash moves stake.
//!
//! The chain keeps `UnbondingPeriod ≥ MaxJobDuration + defer_period` (the runtime's integrity
//! test, and [`Config::MaxDeferPeriod`] bounds `defer_period`), so stake behind a job is still held
//! when its slash is applied.
//!
//! ## Timeline of a slash
//!
//! ```text
//! offence ── SlashDeferred (stake frozen) ──[defer_period]── SlashApplied (stake paid out)
//!                     └── cancel_slash (CancelOrigin) ── SlashCancelled (stake thawed)
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
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

/// What the slashing pallet's benchmarks need from the runtime, kept off the production traits
/// (the runtime asks its staking pallet).
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// Make `who` a provider staked for `slots` slots.
	fn stake(who: &AccountId, slots: u32);
}

pub use types::*;
pub use weights::WeightInfo;

use frame_support::traits::fungible;

/// A balance of the staked currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

// The pallet macros expand to `expect`s with written proofs; the pallet's own code is held to the
// workspace lints in the other modules.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use stratus_primitives::{JobId, OffenceKind, ReplicaIndex, StakeManager};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The staked currency (for its balance type).
		type Currency: fungible::Inspect<Self::AccountId>;
		/// The providers' stake: frozen when a slash is reported, taken when it is applied.
		type Stake: StakeManager<Self::AccountId, BalanceOf<Self>>;
		/// May cancel a pending slash.
		type CancelOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// May change the slashing parameters.
		type ParamsOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// The parameters in force until `ParamsOrigin` sets others.
		type DefaultParams: Get<SlashParams<BlockNumberFor<Self>>>;
		/// Receives what a slash does not pay to the requester and the honest providers.
		type FeeAccount: Get<Self::AccountId>;
		/// The shortest `defer_period` the parameters may set (at least one block): long enough
		/// for the cancel origin (a governance track) to decide on a wrong slash before it applies.
		#[pallet::constant]
		type MinDeferPeriod: Get<BlockNumberFor<Self>>;
		/// The longest `defer_period` the parameters may set: `UnbondingPeriod − MaxJobDuration`,
		/// so that slashed stake is still held when its slash is applied.
		#[pallet::constant]
		type MaxDeferPeriod: Get<BlockNumberFor<Self>>;
		/// Most honest providers one slash compensates (the market's `MaxReplicasPerJob`).
		#[pallet::constant]
		type MaxHonest: Get<u32>;
		/// How many applied slashes are kept per provider for reading (the newest).
		#[pallet::constant]
		type MaxSlashHistory: Get<u32>;
		/// Weight the block-start hook may spend applying due slashes; the rest waits a block.
		#[pallet::constant]
		type MaxApplyWeight: Get<Weight>;
		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
		/// What the benchmarks need from the runtime: providers with stake to slash.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId>;
	}

	/// The parameters set by `ParamsOrigin` (`DefaultParams` until then).
	#[pallet::storage]
	pub type Params<T: Config> = StorageValue<_, SlashParams<BlockNumberFor<T>>, OptionQuery>;

	/// The next slash id.
	#[pallet::storage]
	pub type NextSlashId<T: Config> = StorageValue<_, SlashId, ValueQuery>;

	/// Slashes reported and not yet applied or cancelled.
	///
	/// Twox64Concat: ids are assigned by the chain in sequence.
	#[pallet::storage]
	pub type PendingSlashes<T: Config> =
		StorageMap<_, Twox64Concat, SlashId, PendingSlash<T>, OptionQuery>;

	/// Pending slashes by the block from which they apply.
	///
	/// Twox64Concat: block numbers and ids are assigned by the chain.
	#[pallet::storage]
	pub type SlashQueue<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		Twox64Concat,
		SlashId,
		(),
		OptionQuery,
	>;

	/// Pending slashes by provider, for reading them without a scan.
	///
	/// Blake2_128Concat: accounts are chosen by users; Twox64Concat: ids by the chain.
	#[pallet::storage]
	pub type ProviderPending<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, SlashId, (), OptionQuery>;

	/// Each provider's newest applied slashes (at most `MaxSlashHistory`).
	///
	/// Blake2_128Concat: accounts are chosen by users.
	#[pallet::storage]
	pub type AppliedSlashes<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<AppliedSlash<BalanceOf<T>, BlockNumberFor<T>>, T::MaxSlashHistory>,
		ValueQuery,
	>;

	/// The first block of `SlashQueue` not yet applied in full.
	#[pallet::storage]
	pub type QueueCursor<T: Config> = StorageValue<_, BlockNumberFor<T>, OptionQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Parameters other than `DefaultParams` from genesis (the development presets shorten
		/// the defer period).
		pub params: Option<SlashParams<BlockNumberFor<T>>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Some(params) = &self.params {
				assert!(
					Pallet::<T>::check_defer_period(params.defer_period).is_ok()
						&& Pallet::<T>::params_are_valid(params),
					"the genesis slashing parameters must be valid"
				);
				Params::<T>::put(params.clone());
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// The market reported an offence.
		OffenceReported {
			/// The provider.
			provider: T::AccountId,
			/// The job.
			job: JobId,
			/// The replica.
			replica: ReplicaIndex,
			/// What it did.
			offence: OffenceKind,
		},
		/// A slash was reported: `amount` of the provider's stake is frozen until `apply_at`,
		/// when it is taken unless the cancel origin cancels it first.
		SlashDeferred {
			/// The slash.
			id: SlashId,
			/// The provider.
			provider: T::AccountId,
			/// The job.
			job: JobId,
			/// The replica.
			replica: ReplicaIndex,
			/// What it did.
			offence: OffenceKind,
			/// The stake frozen.
			amount: BalanceOf<T>,
			/// The block from which it is applied.
			apply_at: BlockNumberFor<T>,
		},
		/// A slash was applied: the frozen stake was paid out.
		SlashApplied {
			/// The slash.
			id: SlashId,
			/// The provider.
			provider: T::AccountId,
			/// Taken in total.
			amount: BalanceOf<T>,
			/// Of that, paid to the job's requester.
			to_requester: BalanceOf<T>,
			/// Of that, paid to the job's honest providers together.
			to_honest: BalanceOf<T>,
			/// Of that, paid to the fee account.
			to_fee: BalanceOf<T>,
		},
		/// A pending slash was cancelled and its stake thawed.
		SlashCancelled {
			/// The slash.
			id: SlashId,
			/// The provider.
			provider: T::AccountId,
			/// The stake thawed.
			amount: BalanceOf<T>,
		},
		/// The slashing parameters changed.
		ParamsSet {
			/// The new parameters.
			params: SlashParams<BlockNumberFor<T>>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No pending slash has this id: it was applied or cancelled already, or never existed.
		UnknownSlash,
		/// `defer_period` is longer than `MaxDeferPeriod`: slashed stake could be withdrawn before
		/// the slash applies.
		BadDeferPeriod,
		/// `requester_share + honest_share` is more than the whole slash.
		SharesOverWhole,
		/// `defer_period` is shorter than `MinDeferPeriod` (or zero): a wrong slash would apply
		/// before its cancellation could be decided.
		DeferPeriodTooShort,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::apply_due(now)
		}

		fn integrity_test() {
			assert!(
				Self::params_are_valid(&T::DefaultParams::get()),
				"the default slashing parameters must be valid"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight(<T as Config>::WeightInfo))]
	impl<T: Config> Pallet<T> {
		/// Cancel a pending slash: its frozen stake is thawed and nothing is taken. Only the
		/// cancel origin (Root now; a governance track later).
		#[pallet::call_index(0)]
		pub fn cancel_slash(origin: OriginFor<T>, id: SlashId) -> DispatchResult {
			T::CancelOrigin::ensure_origin(origin)?;
			Self::do_cancel(id)
		}

		/// Set the slashing parameters: the fraction of a slot's stake each offence slashes, the
		/// defer period, and the shares of the requester and the honest providers. Only the
		/// params origin (Root now; a governance track later). Applies to slashes reported from
		/// now on.
		#[pallet::call_index(1)]
		pub fn set_params(
			origin: OriginFor<T>,
			params: SlashParams<BlockNumberFor<T>>,
		) -> DispatchResult {
			T::ParamsOrigin::ensure_origin(origin)?;
			Self::check_defer_period(params.defer_period)?;
			ensure!(Self::params_are_valid(&params), Error::<T>::SharesOverWhole);
			Params::<T>::put(params.clone());
			Self::deposit_event(Event::ParamsSet { params });
			Ok(())
		}
	}
}

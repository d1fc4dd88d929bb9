//! # Provider staking
//!
//! The registry of Stratus compute providers. A provider puts stake behind the capacity it sells:
//! the market (`pallet-market`) may only hold as many offer slots against a provider as its stake
//! covers, and the slashing pallet (`pallet-slashing`, through [`StakeManager`]) takes from that
//! stake when a provider misses its deadlines or is outvoted.
//!
//! ## Terms
//!
//! - **Operator account**: the account that registers, owns the stake and signs the staking calls
//!   of this pallet. A provider is known everywhere by its operator account.
//! - **Worker key**: the hot key the provider's worker daemon signs market and verification
//!   extrinsics with (commits, reveals). It may act for the provider but never touches the stake.
//!   An operator may use its own account as its worker key. A worker key belongs to one provider
//!   at a time, and it can't be another provider's operator account, so a signer always resolves
//!   to at most one provider ([`ProviderRegistry::provider_of`]).
//! - **Profile**: the [`CapabilityProfile`] of the provider's machine (job kinds, GPU classes,
//!   CPU, memory, region, result endpoint). The market matches jobs against it. It can only change
//!   while no slots are reserved, because open offers and running work were priced against it.
//! - **Stake**: the provider's *active* stake, held from its free balance under
//!   [`HoldReason::ProviderStake`]. It stays in the operator's account but can't be spent.
//! - **Slots**: units of capacity the market holds against a provider (one per offered slot and
//!   per running replica). Each reserved slot needs [`Config::MinStakePerSlot`] of active
//!   stake; registering needs at least one slot's worth.
//!
//! ## Timeline
//!
//! ```text
//!  register ──► Active ──bond_extra / unbond / rotate_worker_key / update_profile──► Active
//!                 │                      │
//!                 │                      └─ unbond(x): x moves to an unbonding chunk that
//!                 │                         unlocks UnbondingPeriod blocks later (still held)
//!                 │
//!                 └─ deregister (no slots reserved) ──► Leaving: all stake unbonding, worker key
//!                                                       freed, invisible to the market
//!                                                         │
//!          withdraw_unbonded (after unlock) ◄─────────────┘ releases matured chunks; the record
//!                                                          is removed once nothing is left
//! ```
//!
//! Unbonding stake stays on hold until it matures, so a slash for misbehaviour found during the
//! unbonding period can still reach it. An active provider keeps at least one slot's worth of
//! stake bonded; to take everything out it deregisters.
//!
//! ## Calls
//!
//! - [`Pallet::register`], [`Pallet::bond_extra`], [`Pallet::unbond`],
//!   [`Pallet::withdraw_unbonded`], [`Pallet::rotate_worker_key`], [`Pallet::update_profile`],
//!   [`Pallet::deregister`]: all signed by the operator account.
//!
//! Other pallets reach this one only through [`ProviderRegistry`], implemented in `impls.rs`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

mod dispatchable_impls;
mod impls;
#[cfg(any(feature = "std", feature = "try-runtime"))]
mod invariants;
mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;

/// Makes worker keys for the benchmarks: a fresh key of the runtime's signature scheme (from the
/// benchmark's keystore) and its signature.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, Proof> {
	/// A new worker key (account) and its signature of `payload`.
	fn worker_key(payload: &[u8]) -> (AccountId, Proof);
}

/// For mocks with `u64` accounts and `TestSignature`s: account 1,000 signs.
#[cfg(all(feature = "runtime-benchmarks", feature = "std"))]
impl BenchmarkHelper<u64, sp_runtime::testing::TestSignature> for () {
	fn worker_key(payload: &[u8]) -> (u64, sp_runtime::testing::TestSignature) {
		(1_000, sp_runtime::testing::TestSignature(1_000, payload.into()))
	}
}
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use stratus_primitives::{CapabilityProfile, ProviderRegistry, StakeManager, Standing};

/// The log target of this pallet.
pub const LOG_TARGET: &str = "runtime::provider-staking";

// FRAME's pallet macros expand to `expect`s that carry their own proofs. This module only
// declares; the logic lives in `dispatchable_impls.rs` and `impls.rs`, where the lint applies.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, Mutate, MutateHold},
	};
	use frame_system::pallet_prelude::*;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency the stake is held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// Active stake each reserved slot needs. Registering needs at least this much (one slot's
		/// worth), and an active provider never unbonds below it.
		#[pallet::constant]
		type MinStakePerSlot: Get<BalanceOf<Self>>;

		/// Blocks between unbonding stake and being able to withdraw it.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;

		/// Most unbonding chunks a provider can have at once; unbonding twice in the same block
		/// adds to one chunk.
		#[pallet::constant]
		type MaxUnbondingChunks: Get<u32>;

		/// Weight information for the calls of this pallet.
		type WeightInfo: WeightInfo;
		/// A worker key's signature of [`stratus_primitives::worker_key_payload`]: its consent to
		/// sign for the operator (`MultiSignature` in the runtime).
		type WorkerProof: Parameter
			+ sp_runtime::traits::Verify<
				Signer: sp_runtime::traits::IdentifyAccount<AccountId = Self::AccountId>,
			>;
		/// Makes worker keys that consent, for the benchmarks of `register` and
		/// `rotate_worker_key`.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId, Self::WorkerProof>;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Stake a provider bonded behind its offers, active or unbonding.
		#[codec(index = 0)]
		ProviderStake,
	}

	/// Registered providers by operator account, Active or Leaving.
	// Blake2_128Concat: the key is a user-chosen account, so it must be hashed against crafted
	// keys, and the concatenation lets clients iterate providers by account.
	#[pallet::storage]
	pub type Providers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ProviderInfo<T>, OptionQuery>;

	/// The operator account each Active provider's worker key acts for.
	// Blake2_128Concat: worker keys are user-chosen accounts; hashed for safety, concatenated so
	// that clients can list worker keys.
	#[pallet::storage]
	pub type WorkerKeys<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, T::AccountId, OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A provider registered and its stake was put on hold.
		ProviderRegistered {
			/// The operator account, by which the provider is known.
			provider: T::AccountId,
			/// The worker key that may sign for the provider.
			worker: T::AccountId,
			/// The stake held from the operator's balance.
			stake: BalanceOf<T>,
		},
		/// A provider bonded more stake; it is now on hold.
		StakeBonded {
			/// The operator account.
			provider: T::AccountId,
			/// How much was added to the active stake.
			amount: BalanceOf<T>,
		},
		/// A provider started unbonding stake. It stays on hold until `unlock_at`, then
		/// `withdraw_unbonded` releases it.
		StakeUnbonding {
			/// The operator account.
			provider: T::AccountId,
			/// How much left the active stake.
			amount: BalanceOf<T>,
			/// The block from which the amount can be withdrawn.
			unlock_at: BlockNumberFor<T>,
		},
		/// Matured unbonding stake was released back to the operator's free balance.
		StakeWithdrawn {
			/// The operator account.
			provider: T::AccountId,
			/// How much was released.
			amount: BalanceOf<T>,
		},
		/// An applied slash took stake from a provider (`pallet-slashing` says why and where it
		/// went).
		StakeSlashed {
			/// The operator account.
			provider: T::AccountId,
			/// How much was taken.
			amount: BalanceOf<T>,
		},
		/// A provider's worker key changed; the old key can no longer sign for it.
		WorkerKeyRotated {
			/// The operator account.
			provider: T::AccountId,
			/// The worker key that was replaced.
			old: T::AccountId,
			/// The worker key now in use.
			new: T::AccountId,
		},
		/// A provider replaced its capability profile.
		ProfileUpdated {
			/// The operator account.
			provider: T::AccountId,
		},
		/// A provider left the market: it gets no new work and all its stake is unbonding.
		ProviderDeregistering {
			/// The operator account.
			provider: T::AccountId,
			/// The block from which all its stake can be withdrawn.
			unlock_at: BlockNumberFor<T>,
		},
		/// A provider that deregistered withdrew its last stake; its record is gone and the
		/// account may register again.
		ProviderRemoved {
			/// The operator account.
			provider: T::AccountId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// This account is already registered as a provider (possibly still leaving). Use
		/// `bond_extra` or `update_profile` to change it, or wait until a deregistered provider
		/// has withdrawn all its stake.
		AlreadyRegistered,
		/// The account is not an active provider. Register first; a provider that deregistered
		/// can only withdraw its unbonding stake.
		NotProvider,
		/// The worker key is already used by another provider, or it is another provider's
		/// operator account (or the signer is another provider's worker key). Pick a fresh key.
		WorkerKeyInUse,
		/// The worker key has not consented: `proof` is missing or is not the worker key's
		/// signature of `stratus_primitives::worker_key_payload(operator, genesis hash)`. Sign
		/// it with the worker key (`stratus-worker register` does), or use the operator account
		/// itself as the worker key.
		BadWorkerProof,
		/// The capability profile is malformed: it must list at least one job kind, list a GPU
		/// when it offers CUDA, give every GPU class a model name, a count and memory, and use
		/// an endpoint starting with `http://` or `https://`.
		InvalidProfile,
		/// The stake is below `MinStakePerSlot`, the stake one slot needs. Register with more.
		StakeTooLow,
		/// The free balance can't cover the stake (keeping the existential deposit). Lower the
		/// amount or top up the account.
		InsufficientBalance,
		/// The amount is zero. Give a positive amount.
		ZeroAmount,
		/// The amount is more than the active stake. Unbond at most the active stake.
		InsufficientStake,
		/// Unbonding this much would leave less active stake than the reserved slots need (and
		/// at least one slot's worth). Unbond less, close offers first, or deregister.
		StakeInUse,
		/// Pending slashes freeze this stake: it can neither unbond nor be withdrawn until they
		/// are applied or cancelled (`Slashing::pending_slashes` lists them).
		StakeFrozen,
		/// The provider already has the most unbonding chunks allowed. Withdraw matured chunks,
		/// or wait for one to mature and withdraw it, then try again.
		TooManyUnbondingChunks,
		/// No unbonding chunk has matured yet. Wait until the `unlock_at` block of a chunk.
		NothingToWithdraw,
		/// The profile can't change while slots are reserved: open offers and work in flight were
		/// matched against it. Close offers and let running work finish first.
		ProviderBusy,
		/// The provider can't leave while slots are reserved. Close its offers and let running
		/// work finish first.
		WorkInFlight,
		/// The provider's active stake doesn't cover that many reserved slots. Bond more stake or
		/// offer fewer slots.
		StakeTooLowForSlots,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight(<T as Config>::WeightInfo))]
	impl<T: Config> Pallet<T> {
		/// Register the signing account as a provider with `worker` as its worker key, the
		/// machine's `profile`, and `stake` held from its free balance.
		///
		/// `stake` must be at least `MinStakePerSlot`. `worker` may be the signing account;
		/// any other worker key must consent: `proof` is its signature of
		/// [`stratus_primitives::worker_key_payload`] of the signer and the genesis hash.
		#[pallet::call_index(0)]
		pub fn register(
			origin: OriginFor<T>,
			worker: T::AccountId,
			profile: CapabilityProfile,
			#[pallet::compact] stake: BalanceOf<T>,
			proof: Option<T::WorkerProof>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_worker_consents(&who, &worker, proof.as_ref())?;
			Self::do_register(who, worker, profile, stake)
		}

		/// Put `amount` more of the signer's free balance on hold as active stake.
		#[pallet::call_index(1)]
		pub fn bond_extra(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_bond_extra(who, amount)
		}

		/// Start unbonding `amount` of active stake; it can be withdrawn `UnbondingPeriod` blocks
		/// from now. The stake left must cover the reserved slots and at least one slot.
		#[pallet::call_index(2)]
		pub fn unbond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_unbond(who, amount)
		}

		/// Release every unbonding chunk that has matured. A deregistered provider's record is
		/// removed once all its stake is withdrawn.
		#[pallet::call_index(3)]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_unbonded(who)
		}

		/// Replace the provider's worker key with `new_worker`, which consents with `proof` as
		/// at `register` (none needed for the operator account itself).
		#[pallet::call_index(4)]
		pub fn rotate_worker_key(
			origin: OriginFor<T>,
			new_worker: T::AccountId,
			proof: Option<T::WorkerProof>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_worker_consents(&who, &new_worker, proof.as_ref())?;
			Self::do_rotate_worker_key(who, new_worker)
		}

		/// Replace the provider's capability profile; only while no slots are reserved.
		#[pallet::call_index(5)]
		pub fn update_profile(origin: OriginFor<T>, profile: CapabilityProfile) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_update_profile(who, profile)
		}

		/// Leave the market: all active stake starts unbonding and the worker key is freed. Only
		/// while no slots are reserved.
		#[pallet::call_index(6)]
		pub fn deregister(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_deregister(who)
		}
	}
}

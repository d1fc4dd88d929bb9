//! # Governance pallet
//!
//! What Stratus adds to OpenGov (`pallet-referenda`, `pallet-conviction-voting`):
//!
//! - **The custom origins of the referendum tracks.** A referendum on the `market_admin` track
//!   dispatches its call as [`Origin::MarketAdmin`], on `slash_canceller` as
//!   [`Origin::SlashCanceller`], and so on; each pallet accepts exactly the origins the runtime
//!   wires to it (`docs/governance.md` has the table). Root stays the Root track's.
//! - **The network's timing profile.** [`NetworkProfile::Live`] (`testnet` and any public
//!   network) or [`NetworkProfile::Fast`] (the development presets, whose referenda take minutes),
//!   fixed at genesis and changed by no call: one runtime serves both, so no second build is
//!   needed for fast tests, and a live chain can never be switched to minute-long votes.
//! - **Parameter changes checked against their safe bounds.** The tunables live in
//!   `pallet-parameters`' storage, whose own call the runtime disables; [`Pallet::set_parameter`]
//!   is the only way to change them. It takes the origin the key's track dispatches with
//!   ([`Config::ParameterOrigin`]) and refuses any value outside the runtime's documented bounds
//!   ([`Config::ParameterBounds`]) with an error naming what is wrong, changing nothing. Root is
//!   held to the same bounds: a sudo key or a Root referendum cannot set a 100% fee either.

#![cfg_attr(not(feature = "std"), no_std)]

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod weights;
pub use weights::WeightInfo;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::marker::PhantomData;
use frame_support::traits::{dynamic_params::AggregatedKeyValue, Get};
use scale_info::TypeInfo;

/// The timings a network runs with, fixed at genesis.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
	serde::Serialize,
	serde::Deserialize,
)]
pub enum NetworkProfile {
	/// Days-long referenda and day-long slash deferrals: every public network.
	#[default]
	Live,
	/// Minute-long referenda and windows: the `development` and `local_testnet` presets, so
	/// that a vote can be watched (and tested) from start to enactment.
	Fast,
}

/// Why a parameter value is refused.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum Refusal {
	/// The value is below the parameter's safe minimum.
	BelowMinimum,
	/// The value is above the parameter's safe maximum.
	AboveMaximum,
}

/// The safe bounds of every parameter, kept by the runtime (`docs/governance.md` lists them).
pub trait ParameterBounds<KeyValue> {
	/// `Ok` when `value` may be stored.
	fn check(value: &KeyValue) -> Result<(), Refusal>;
}

/// The submission deposits the referenda pallet keeps for ever (a rejected or timed-out
/// referendum's: `pallet-referenda` refunds only an approved or cancelled one's), which the
/// runtime settles so that no deposit stays held for ever.
pub trait KeptDeposits<AccountId, Balance> {
	/// Pays the kept submission deposit of referendum `index` to the treasury; returns who had
	/// placed it and how much it was. `Err` when there is none to settle.
	fn settle(index: u32) -> Result<(AccountId, Balance), sp_runtime::DispatchError>;
	/// Benchmarks: a rejected referendum whose submission deposit is held; returns its index.
	#[cfg(feature = "runtime-benchmarks")]
	fn rejected_with_deposit() -> u32;
}

/// A value chosen by the network's profile: `Live` on public networks, `Fast` on the development
/// presets.
pub struct ByProfile<T, Live, Fast>(PhantomData<(T, Live, Fast)>);

impl<T: Config, V, Live: Get<V>, Fast: Get<V>> Get<V> for ByProfile<T, Live, Fast> {
	fn get() -> V {
		match Profile::<T>::get() {
			NetworkProfile::Live => Live::get(),
			NetworkProfile::Fast => Fast::get(),
		}
	}
}

/// The key of a runtime parameter.
pub type KeyOf<T> =
	<<T as pallet_parameters::Config>::RuntimeParameters as AggregatedKeyValue>::Key;
/// The value of a runtime parameter.
pub type ValueOf<T> =
	<<T as pallet_parameters::Config>::RuntimeParameters as AggregatedKeyValue>::Value;

// FRAME's pallet macros expand to `expect`s on metadata they build themselves.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{pallet_prelude::*, traits::EnsureOriginWithArg};
	use frame_system::pallet_prelude::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config + pallet_parameters::Config {
		/// Who may set a parameter, by its key: the origin of the key's track, or Root.
		type ParameterOrigin: EnsureOriginWithArg<Self::RuntimeOrigin, KeyOf<Self>>;
		/// The safe bounds of every parameter.
		type ParameterBounds: ParameterBounds<Self::RuntimeParameters>;
		/// The balance of referendum deposits.
		type DepositBalance: Parameter + MaxEncodedLen;
		/// Settles the submission deposits the referenda pallet keeps.
		type KeptDeposits: KeptDeposits<Self::AccountId, Self::DepositBalance>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// The origins of the referendum tracks other than Root. Each is what a referendum on its
	/// track dispatches with once it passes.
	#[pallet::origin]
	#[derive(
		PartialEq, Eq, Clone, MaxEncodedLen, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug,
	)]
	pub enum Origin {
		/// The `market_admin` track: the market's and reputation's parameters.
		MarketAdmin,
		/// The `slash_canceller` track: cancels a pending slash inside its defer period.
		SlashCanceller,
		/// The `treasurer` track: spends from the treasury, up to its limit per spend.
		Treasurer,
		/// The `staking_admin` track: the provider stake and slashing parameters.
		StakingAdmin,
	}

	/// The network's timing profile, set at genesis and by no call.
	#[pallet::storage]
	pub type Profile<T: Config> = StorageValue<_, NetworkProfile, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The network's timing profile (`Live` unless a development preset says `Fast`).
		pub profile: NetworkProfile,
		#[serde(skip)]
		pub _config: PhantomData<T>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			Profile::<T>::put(self.profile);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A parameter was set (`new_value` is `None` when it was reset to its default).
		ParameterSet {
			/// Which parameter.
			key: KeyOf<T>,
			/// What it was (`None`: its default).
			old_value: Option<ValueOf<T>>,
			/// What it is now (`None`: its default).
			new_value: Option<ValueOf<T>>,
		},
		/// A rejected or timed-out referendum's submission deposit was paid to the treasury.
		SubmissionDepositSettled {
			/// The referendum.
			index: u32,
			/// Who had placed it.
			who: T::AccountId,
			/// How much.
			amount: T::DepositBalance,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The value is below the parameter's safe minimum (`docs/governance.md` lists the
		/// bounds); nothing was changed.
		BelowMinimum,
		/// The value is above the parameter's safe maximum (`docs/governance.md` lists the
		/// bounds); nothing was changed.
		AboveMaximum,
		/// The referendum has no submission deposit the referenda pallet keeps: it is still
		/// ongoing, it was approved or cancelled (`Referenda::refund_submission_deposit` returns
		/// that one), or its deposit was settled already.
		NoKeptDeposit,
	}

	impl<T> From<Refusal> for Error<T> {
		fn from(refusal: Refusal) -> Self {
			match refusal {
				Refusal::BelowMinimum => Error::BelowMinimum,
				Refusal::AboveMaximum => Error::AboveMaximum,
			}
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// Whether `key_value` may be set: `None` when its value lies inside the parameter's
		/// safe bounds (or resets it to its default), else why not. Tools ask before proposing,
		/// so that a referendum is not voted through only to be refused at enactment.
		pub fn check_parameter(key_value: T::RuntimeParameters) -> Option<Refusal> {
			let (_, value) = key_value.clone().into_parts();
			value.and_then(|_| T::ParameterBounds::check(&key_value).err())
		}

		/// The network's timing profile.
		pub fn profile() -> NetworkProfile {
			Profile::<T>::get()
		}
	}

	#[pallet::call(weight(<T as Config>::WeightInfo))]
	impl<T: Config> Pallet<T> {
		/// Set a parameter to a value inside its safe bounds, or reset it to its default with a
		/// value of `None`. Only the origin of the key's track (or Root). Takes effect from the
		/// next use: a job already matched keeps the windows it was given.
		#[pallet::call_index(0)]
		pub fn set_parameter(
			origin: OriginFor<T>,
			key_value: T::RuntimeParameters,
		) -> DispatchResult {
			let (key, new_value) = key_value.clone().into_parts();
			T::ParameterOrigin::ensure_origin(origin, &key)?;
			if new_value.is_some() {
				T::ParameterBounds::check(&key_value).map_err(Error::<T>::from)?;
			}
			let old_value = pallet_parameters::Parameters::<T>::mutate(&key, |stored| {
				core::mem::replace(stored, new_value.clone())
			});
			Self::deposit_event(Event::ParameterSet { key, old_value, new_value });
			Ok(())
		}

		/// Pay a rejected or timed-out referendum's submission deposit, which `pallet-referenda`
		/// never returns, to the treasury: the cost of a proposal nobody backed, rather than a
		/// balance held for ever. Anyone may call it.
		#[pallet::call_index(1)]
		pub fn settle_submission_deposit(origin: OriginFor<T>, index: u32) -> DispatchResult {
			ensure_signed(origin)?;
			let (who, amount) = T::KeptDeposits::settle(index)?;
			Self::deposit_event(Event::SubmissionDepositSettled { index, who, amount });
			Ok(())
		}
	}
}

/// `EnsureOrigin`s for the custom origins, one per track.
pub mod ensure {
	use super::*;
	use frame_support::traits::{EnsureOrigin, TypedGet};

	macro_rules! ensure_track {
		($(#[$doc:meta])* $name:ident, $variant:ident) => {
			$(#[$doc])*
			pub struct $name;
			impl<O: Into<Result<Origin, O>> + From<Origin>> EnsureOrigin<O> for $name {
				type Success = ();
				fn try_origin(o: O) -> Result<Self::Success, O> {
					o.into().and_then(|o| match o {
						Origin::$variant => Ok(()),
						other => Err(O::from(other)),
					})
				}
				#[cfg(feature = "runtime-benchmarks")]
				fn try_successful_origin() -> Result<O, ()> {
					Ok(O::from(Origin::$variant))
				}
			}
		};
	}

	ensure_track!(
		/// A passed `market_admin` referendum.
		MarketAdmin,
		MarketAdmin
	);
	ensure_track!(
		/// A passed `slash_canceller` referendum.
		SlashCanceller,
		SlashCanceller
	);
	ensure_track!(
		/// A passed `staking_admin` referendum.
		StakingAdmin,
		StakingAdmin
	);

	/// A passed `treasurer` referendum, which may spend up to `Max` at once.
	pub struct Treasurer<Max>(PhantomData<Max>);
	impl<O: Into<Result<Origin, O>> + From<Origin>, Max: TypedGet> EnsureOrigin<O> for Treasurer<Max> {
		type Success = Max::Type;
		fn try_origin(o: O) -> Result<Self::Success, O> {
			o.into().and_then(|o| match o {
				Origin::Treasurer => Ok(Max::get()),
				other => Err(O::from(other)),
			})
		}
		#[cfg(feature = "runtime-benchmarks")]
		fn try_successful_origin() -> Result<O, ()> {
			Ok(O::from(Origin::Treasurer))
		}
	}
}

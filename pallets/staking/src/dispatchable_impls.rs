//! The logic behind each call. Every function checks everything before its first write, so a
//! rejected call changes nothing even outside FRAME's transactional dispatch.

use crate::*;
use frame_support::{
	ensure,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::Precision,
		Get,
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	traits::{CheckedAdd, CheckedMul, CheckedSub, Saturating, Zero},
	ArithmeticError, DispatchError, DispatchResult,
};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_register(
		who: T::AccountId,
		worker: T::AccountId,
		profile: CapabilityProfile,
		stake: BalanceOf<T>,
	) -> DispatchResult {
		ensure!(!Providers::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
		// The signer must not already sign for someone else, or it would stand for two providers.
		ensure!(!WorkerKeys::<T>::contains_key(&who), Error::<T>::WorkerKeyInUse);
		Self::ensure_worker_free(&who, &worker)?;
		ensure!(profile_is_valid(&profile), Error::<T>::InvalidProfile);
		ensure!(stake >= T::MinStakePerSlot::get(), Error::<T>::StakeTooLow);
		Self::ensure_can_hold(&who, stake)?;

		T::Currency::hold(&Self::hold_reason(), &who, stake)?;
		let info = ProviderInfo::<T> {
			worker: worker.clone(),
			profile,
			stake,
			unbonding: Default::default(),
			reserved_slots: 0,
			status: ProviderStatus::Active,
			registered_at: frame_system::Pallet::<T>::block_number(),
			frozen: Zero::zero(),
			slashed: Zero::zero(),
		};
		Providers::<T>::insert(&who, info);
		WorkerKeys::<T>::insert(&worker, &who);
		Self::deposit_event(Event::ProviderRegistered { provider: who, worker, stake });
		Ok(())
	}

	pub(crate) fn do_bond_extra(who: T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		let mut info = Self::active_provider(&who)?;
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		info.stake = info.stake.checked_add(&amount).ok_or(ArithmeticError::Overflow)?;
		Self::ensure_can_hold(&who, amount)?;

		T::Currency::hold(&Self::hold_reason(), &who, amount)?;
		Providers::<T>::insert(&who, info);
		Self::deposit_event(Event::StakeBonded { provider: who, amount });
		Ok(())
	}

	pub(crate) fn do_unbond(who: T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		let mut info = Self::active_provider(&who)?;
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		let remaining = info.stake.checked_sub(&amount).ok_or(Error::<T>::InsufficientStake)?;
		// An active provider keeps its reserved slots covered, and at least one slot's worth.
		let required =
			Self::stake_for_slots(info.reserved_slots.max(1)).ok_or(Error::<T>::StakeInUse)?;
		ensure!(remaining >= required, Error::<T>::StakeInUse);
		// Stake under a pending slash stays bonded.
		ensure!(remaining >= info.frozen, Error::<T>::StakeFrozen);
		let unlock_at = Self::unlock_block();
		Self::add_unbonding(&mut info, amount, unlock_at)?;
		info.stake = remaining;

		Providers::<T>::insert(&who, info);
		Self::deposit_event(Event::StakeUnbonding { provider: who, amount, unlock_at });
		Ok(())
	}

	pub(crate) fn do_withdraw_unbonded(who: T::AccountId) -> DispatchResult {
		let mut info = Providers::<T>::get(&who).ok_or(Error::<T>::NotProvider)?;
		let now = frame_system::Pallet::<T>::block_number();
		let chunks_before = info.unbonding.len();
		let mut amount = BalanceOf::<T>::zero();
		info.unbonding.retain(|chunk| {
			let matured = chunk.unlock_at <= now;
			if matured {
				amount = amount.saturating_add(chunk.amount);
			}
			!matured
		});
		ensure!(info.unbonding.len() < chunks_before, Error::<T>::NothingToWithdraw);
		// What pending slashes freeze stays held, as a matured chunk, until they are settled.
		let kept = info.frozen.saturating_sub(info.held()).min(amount);
		ensure!(kept < amount, Error::<T>::StakeFrozen);
		if !kept.is_zero() {
			Self::add_unbonding(&mut info, kept, now)?;
		}
		let amount = amount.saturating_sub(kept);

		T::Currency::release(&Self::hold_reason(), &who, amount, Precision::Exact)?;
		Self::deposit_event(Event::StakeWithdrawn { provider: who.clone(), amount });
		Self::store_or_remove(who, info);
		Ok(())
	}

	pub(crate) fn do_rotate_worker_key(
		who: T::AccountId,
		new_worker: T::AccountId,
	) -> DispatchResult {
		let mut info = Self::active_provider(&who)?;
		Self::ensure_worker_free(&who, &new_worker)?;

		let old = core::mem::replace(&mut info.worker, new_worker.clone());
		// Remove before inserting, so that rotating to the same key keeps it.
		WorkerKeys::<T>::remove(&old);
		WorkerKeys::<T>::insert(&new_worker, &who);
		Providers::<T>::insert(&who, info);
		Self::deposit_event(Event::WorkerKeyRotated { provider: who, old, new: new_worker });
		Ok(())
	}

	pub(crate) fn do_update_profile(
		who: T::AccountId,
		profile: CapabilityProfile,
	) -> DispatchResult {
		let mut info = Self::active_provider(&who)?;
		ensure!(info.reserved_slots == 0, Error::<T>::ProviderBusy);
		ensure!(profile_is_valid(&profile), Error::<T>::InvalidProfile);

		info.profile = profile;
		Providers::<T>::insert(&who, info);
		Self::deposit_event(Event::ProfileUpdated { provider: who });
		Ok(())
	}

	pub(crate) fn do_deregister(who: T::AccountId) -> DispatchResult {
		let mut info = Self::active_provider(&who)?;
		ensure!(info.reserved_slots == 0, Error::<T>::WorkInFlight);
		let stake = core::mem::replace(&mut info.stake, Zero::zero());
		if !stake.is_zero() {
			Self::add_unbonding(&mut info, stake, Self::unlock_block())?;
		}
		info.status = ProviderStatus::Leaving;
		// All stake is free to go once the last chunk matures.
		let unlock_at = info
			.unbonding
			.iter()
			.map(|chunk| chunk.unlock_at)
			.max()
			.unwrap_or_else(frame_system::Pallet::<T>::block_number);

		WorkerKeys::<T>::remove(&info.worker);
		Self::deposit_event(Event::ProviderDeregistering { provider: who.clone(), unlock_at });
		Self::store_or_remove(who, info);
		Ok(())
	}

	/// The hold reason the stake is held under.
	pub(crate) fn hold_reason() -> T::RuntimeHoldReason {
		HoldReason::ProviderStake.into()
	}

	/// The stake `slots` slots need, or `None` if it overflows the balance type.
	pub(crate) fn stake_for_slots(slots: u32) -> Option<BalanceOf<T>> {
		T::MinStakePerSlot::get().checked_mul(&BalanceOf::<T>::from(slots))
	}

	/// The record of `who` if it is an active provider.
	fn active_provider(who: &T::AccountId) -> Result<ProviderInfo<T>, DispatchError> {
		Providers::<T>::get(who)
			.filter(ProviderInfo::is_active)
			.ok_or_else(|| Error::<T>::NotProvider.into())
	}

	/// `worker` may become `operator`'s worker key: it is nobody else's worker key and nobody
	/// else's operator account, so it resolves to `operator` alone.
	/// A worker key other than the operator itself must have signed
	/// [`stratus_primitives::worker_key_payload`] of the operator and this chain's genesis hash.
	pub(crate) fn ensure_worker_consents(
		operator: &T::AccountId,
		worker: &T::AccountId,
		proof: Option<&T::WorkerProof>,
	) -> DispatchResult {
		use sp_runtime::traits::Verify;
		if worker == operator {
			return Ok(());
		}
		let payload = stratus_primitives::worker_key_payload(operator, &Self::genesis_hash());
		ensure!(
			proof.is_some_and(|proof| proof.verify(&payload[..], worker)),
			Error::<T>::BadWorkerProof
		);
		Ok(())
	}

	/// The chain's genesis hash (`frame_system` keeps block 0's hash for ever).
	pub fn genesis_hash() -> [u8; 32] {
		let hash = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
		stratus_primitives::leading_bytes(hash.as_ref())
	}

	fn ensure_worker_free(operator: &T::AccountId, worker: &T::AccountId) -> DispatchResult {
		if let Some(owner) = WorkerKeys::<T>::get(worker) {
			ensure!(owner == *operator, Error::<T>::WorkerKeyInUse);
		}
		ensure!(
			worker == operator || !Providers::<T>::contains_key(worker),
			Error::<T>::WorkerKeyInUse
		);
		Ok(())
	}

	/// `amount` more of `who`'s free balance can be held, keeping the account alive.
	fn ensure_can_hold(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		ensure!(
			T::Currency::can_hold(&Self::hold_reason(), who, amount),
			Error::<T>::InsufficientBalance
		);
		Ok(())
	}

	/// The block from which stake unbonded now can be withdrawn.
	fn unlock_block() -> BlockNumberFor<T> {
		frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get())
	}

	/// Add `amount` to the chunk unlocking at `unlock_at`, opening one if there is none.
	fn add_unbonding(
		info: &mut ProviderInfo<T>,
		amount: BalanceOf<T>,
		unlock_at: BlockNumberFor<T>,
	) -> DispatchResult {
		if let Some(chunk) = info.unbonding.iter_mut().find(|chunk| chunk.unlock_at == unlock_at) {
			chunk.amount = chunk.amount.checked_add(&amount).ok_or(ArithmeticError::Overflow)?;
		} else {
			info.unbonding
				.try_push(UnbondingChunk { amount, unlock_at })
				.map_err(|_| Error::<T>::TooManyUnbondingChunks)?;
		}
		Ok(())
	}

	/// Store `info`, or remove the record of a leaving provider with nothing left on hold.
	pub(crate) fn store_or_remove(who: T::AccountId, info: ProviderInfo<T>) {
		if !info.is_active() && info.held().is_zero() {
			Providers::<T>::remove(&who);
			Self::deposit_event(Event::ProviderRemoved { provider: who });
		} else {
			Providers::<T>::insert(&who, info);
		}
	}
}

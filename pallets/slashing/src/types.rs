//! The slashing pallet's records.

use crate::{BalanceOf, Config};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use sp_runtime::Perbill;
use stratus_primitives::{JobId, OffenceKind, ReplicaIndex};

/// A slash's identifier, assigned in reporting order.
pub type SlashId = u64;

/// What each offence costs and where the stake goes, set by governance (and in genesis, so
/// serde in every build).
#[derive(
	Clone,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	PartialEq,
	Eq,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct SlashParams<BlockNumber> {
	/// Of one slot's stake, for a missed acknowledgement.
	pub missed_ack: Perbill,
	/// Of one slot's stake, for a missed commit after acknowledging.
	pub missed_commit: Perbill,
	/// Of one slot's stake, for a missed reveal after committing.
	pub missed_reveal: Perbill,
	/// Of one slot's stake, for a result outside a verified quorum.
	pub wrong_result: Perbill,
	/// Blocks between a slash's report and its application, during which the cancel origin may
	/// cancel it.
	pub defer_period: BlockNumber,
	/// Of each slash, paid to the job's requester.
	pub requester_share: Perbill,
	/// Of each slash, shared equally by the job's honest providers (none: to the fee account).
	pub honest_share: Perbill,
}

impl<B> SlashParams<B> {
	/// The fraction of a slot's stake `offence` slashes.
	pub fn fraction(&self, offence: OffenceKind) -> Perbill {
		match offence {
			OffenceKind::MissedAck => self.missed_ack,
			OffenceKind::MissedCommit => self.missed_commit,
			OffenceKind::MissedReveal => self.missed_reveal,
			OffenceKind::WrongResult => self.wrong_result,
		}
	}
}

/// A slash reported and not yet applied or cancelled.
#[derive(
	CloneNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct PendingSlash<T: Config> {
	/// The provider (operator account).
	pub provider: T::AccountId,
	/// The job.
	pub job: JobId,
	/// The replica.
	pub replica: ReplicaIndex,
	/// What it did.
	pub offence: OffenceKind,
	/// The stake frozen, taken when the slash applies.
	pub amount: BalanceOf<T>,
	/// When it was reported.
	pub reported_at: BlockNumberFor<T>,
	/// The block from which it applies.
	pub apply_at: BlockNumberFor<T>,
	/// The job's requester, paid `requester_share`.
	pub requester: T::AccountId,
	/// The job's honest providers, sharing `honest_share`.
	pub honest: BoundedVec<T::AccountId, T::MaxHonest>,
	/// `requester_share` when it was reported.
	pub requester_share: Perbill,
	/// `honest_share` when it was reported.
	pub honest_share: Perbill,
}

/// An applied slash, as kept for reading.
#[derive(Clone, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct AppliedSlash<Balance, BlockNumber> {
	/// The slash.
	pub id: SlashId,
	/// The job.
	pub job: JobId,
	/// The replica.
	pub replica: ReplicaIndex,
	/// What it did.
	pub offence: OffenceKind,
	/// The stake taken.
	pub amount: Balance,
	/// When it was applied.
	pub applied_at: BlockNumber,
}

/// A pending slash, as the runtime API reports it.
#[derive(Clone, Encode, Decode, TypeInfo, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct PendingSlashView<AccountId, Balance, BlockNumber> {
	/// The slash.
	pub id: SlashId,
	/// The provider.
	pub provider: AccountId,
	/// The job.
	pub job: JobId,
	/// The replica.
	pub replica: ReplicaIndex,
	/// What it did.
	pub offence: OffenceKind,
	/// The stake frozen.
	pub amount: Balance,
	/// When it was reported.
	pub reported_at: BlockNumber,
	/// The block from which it applies (unless cancelled first).
	pub apply_at: BlockNumber,
}

sp_api::decl_runtime_apis! {
	/// Slashes, for wallets, the CLI and the worker.
	pub trait SlashingApi<AccountId, Balance, BlockNumber>
	where
		AccountId: codec::Codec,
		Balance: codec::Codec,
		BlockNumber: codec::Codec,
	{
		/// The pending slashes of `provider` (operator account), oldest first.
		fn pending_slashes(provider: AccountId) -> alloc::vec::Vec<PendingSlashView<AccountId, Balance, BlockNumber>>;
		/// The newest applied slashes of `provider`, oldest first.
		fn applied_slashes(provider: AccountId) -> alloc::vec::Vec<AppliedSlash<Balance, BlockNumber>>;
	}
}

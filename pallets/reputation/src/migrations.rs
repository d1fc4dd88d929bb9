//! Storage migrations of the reputation pallet, one module per storage version.
//!
//! Each is a [`VersionedMigration`]: it runs only while the on-chain storage version is the one it
//! migrates from, sets the next one, and is a no-op (one read) after that, so a runtime may keep
//! it listed in its `Migrations` for an upgrade or two. Its checks are plain functions
//! ([`v1::pre_check`], [`v1::post_check`]) that the `try-runtime` hooks call and the tests call
//! directly.
//!
//! [`VersionedMigration`]: frame_support::migrations::VersionedMigration

/// Version 0 → 1: a [`Record`](crate::math::Record) gains `best_streak`, the longest run of valid
/// results the provider has had. A version-0 record kept only the current run, so the migration
/// starts every provider's best run at its current one (the longest the chain can prove); it
/// grows from there.
pub mod v1 {
	use crate::{math::Record, Config, Pallet, Reputations};
	use alloc::vec::Vec;
	use codec::{Decode, Encode};
	use frame_support::{
		migrations::VersionedMigration,
		pallet_prelude::*,
		traits::{GetStorageVersion, UncheckedOnRuntimeUpgrade},
	};
	use frame_system::pallet_prelude::BlockNumberFor;
	use stratus_primitives::JobKind;

	/// The version-0 layout of [`Reputations`]' values.
	pub mod v0 {
		use super::*;

		/// A version-0 record: [`Record`] without `best_streak`.
		#[derive(Clone, Copy, Encode, Decode, MaxEncodedLen, TypeInfo, PartialEq, Eq, Debug)]
		pub struct Record<BlockNumber> {
			/// As [`crate::math::Record::agreed`].
			pub agreed: u64,
			/// As [`crate::math::Record::failed`].
			pub failed: u64,
			/// As [`crate::math::Record::consecutive_valid`].
			pub consecutive_valid: u32,
			/// As [`crate::math::Record::updated_at`].
			pub updated_at: BlockNumber,
		}

		/// [`Reputations`] as version 0 stored it (for tests and the checks).
		#[frame_support::storage_alias]
		pub type Reputations<T: Config> = StorageDoubleMap<
			Pallet<T>,
			Blake2_128Concat,
			<T as frame_system::Config>::AccountId,
			Twox64Concat,
			JobKind,
			Record<BlockNumberFor<T>>,
			OptionQuery,
		>;
	}

	/// The migration, unversioned: use [`MigrateV0ToV1`].
	pub struct InnerMigrateV0ToV1<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut records = 0u64;
			Reputations::<T>::translate::<v0::Record<BlockNumberFor<T>>, _>(|_, _, old| {
				records = records.saturating_add(1);
				Some(Record {
					agreed: old.agreed,
					failed: old.failed,
					consecutive_valid: old.consecutive_valid,
					updated_at: old.updated_at,
					best_streak: old.consecutive_valid,
				})
			});
			// A record that does not decode as version 0 is dropped by `translate`; the post
			// check counts them, so `try-runtime` refuses an upgrade that would lose one.
			T::DbWeight::get().reads_writes(records, records)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
			Ok(pre_check::<T>())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			post_check::<T>(state)
		}
	}

	/// Version 0 → 1 of the reputation pallet's storage, run once (it checks the on-chain
	/// version and sets the next).
	pub type MigrateV0ToV1<T> = VersionedMigration<
		0,
		1,
		InnerMigrateV0ToV1<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;

	/// Every version-0 record and its current run, as the post check compares them.
	type Snapshot<A> = Vec<(A, JobKind, u32, u64, u64)>;

	/// Before the migration: every record, decoded as version 0 (a record that does not decode
	/// fails the check: the migration would drop it).
	pub fn pre_check<T: Config>() -> Vec<u8> {
		let mut records: Snapshot<T::AccountId> = Vec::new();
		for key in v0::Reputations::<T>::iter_keys() {
			let (who, kind) = key;
			// `iter_keys` does not decode values; `get` does, and `None` is a broken record.
			let Some(old) = v0::Reputations::<T>::get(&who, kind) else {
				records.push((who, kind, u32::MAX, u64::MAX, u64::MAX));
				continue;
			};
			records.push((who, kind, old.consecutive_valid, old.agreed, old.failed));
		}
		records.encode()
	}

	/// After the migration: the same records, each with its counts and run kept and its best run
	/// equal to its run.
	pub fn post_check<T: Config>(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		let before = Snapshot::<T::AccountId>::decode(&mut &state[..])
			.map_err(|_| "reputation v1: the pre-upgrade snapshot does not decode")?;
		ensure!(
			before.iter().all(|(_, _, run, _, _)| *run != u32::MAX),
			"reputation v1: a record did not decode as version 0 and would be lost"
		);
		let after = Reputations::<T>::iter().count();
		ensure!(after == before.len(), "reputation v1: the number of records changed");
		for (who, kind, run, agreed, failed) in before {
			let record = Reputations::<T>::get(&who, kind)
				.ok_or("reputation v1: a record is missing or does not decode after the upgrade")?;
			ensure!(
				record.consecutive_valid == run
					&& record.best_streak == run
					&& record.agreed == agreed
					&& record.failed == failed,
				"reputation v1: a record changed in the migration"
			);
		}
		ensure!(
			Pallet::<T>::on_chain_storage_version() == StorageVersion::new(1),
			"reputation v1: the on-chain storage version is not 1"
		);
		Ok(())
	}
}

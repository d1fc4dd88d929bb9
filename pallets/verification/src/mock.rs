#![allow(clippy::arithmetic_side_effects)]

//! A test runtime whose market is a recorder: it accepts commits and reveals from account 1 for
//! the replicas it was told about and remembers what it was told.

use crate as pallet_verification;
use core::cell::RefCell;
use frame_support::{derive_impl, pallet_prelude::DispatchResult};
use sp_core::H256;
use sp_runtime::{BuildStorage, DispatchError};
use stratus_primitives::{JobId, ReplicaIndex, ReplicaResults};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Verification: pallet_verification,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

/// The provider account the recorder accepts.
pub const PROVIDER: u64 = 1;

thread_local! {
	/// Replicas that may commit or reveal.
	pub static OPEN: RefCell<Vec<(JobId, ReplicaIndex)>> = const { RefCell::new(Vec::new()) };
	/// What the market was told: `(job, replica)` committed, `(job, replica, digest, units)`
	/// revealed.
	pub static COMMITS: RefCell<Vec<(JobId, ReplicaIndex)>> = const { RefCell::new(Vec::new()) };
	pub static REVEALS: RefCell<Vec<(JobId, ReplicaIndex, H256, u64)>> = const { RefCell::new(Vec::new()) };
}

pub struct RecordingMarket;

impl RecordingMarket {
	fn check(job: JobId, replica: ReplicaIndex, signer: &u64) -> DispatchResult {
		if *signer != PROVIDER {
			return Err(DispatchError::Other("not the replica's provider"));
		}
		if !OPEN.with(|o| o.borrow().contains(&(job, replica))) {
			return Err(DispatchError::Other("no such replica"));
		}
		Ok(())
	}
}

impl ReplicaResults<u64> for RecordingMarket {
	fn reveal_extra_weight() -> frame_support::weights::Weight {
		frame_support::weights::Weight::zero()
	}

	fn replica_provider(
		job: JobId,
		replica: ReplicaIndex,
		signer: &u64,
	) -> Result<u64, DispatchError> {
		Self::check(job, replica, signer)?;
		Ok(PROVIDER)
	}

	fn on_commit(
		job: JobId,
		replica: ReplicaIndex,
		signer: &u64,
	) -> Result<frame_support::weights::Weight, DispatchError> {
		Self::check(job, replica, signer)?;
		COMMITS.with(|c| c.borrow_mut().push((job, replica)));
		Ok(frame_support::weights::Weight::zero())
	}

	fn commit_extra_weight() -> frame_support::weights::Weight {
		frame_support::weights::Weight::zero()
	}

	fn on_reveal(
		job: JobId,
		replica: ReplicaIndex,
		signer: &u64,
		digest: H256,
		units: u64,
	) -> DispatchResult {
		Self::check(job, replica, signer)?;
		REVEALS.with(|r| r.borrow_mut().push((job, replica, digest, units)));
		Ok(())
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_verification::BenchmarkHelper<u64> for RecordingMarket {
	fn open_replica(_: u8, _: bool) -> (JobId, ReplicaIndex, u64, u64) {
		OPEN.with(|o| o.borrow_mut().push((9, 0)));
		(9, 0, PROVIDER, PROVIDER)
	}
}

impl pallet_verification::Config for Test {
	type Jobs = RecordingMarket;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = RecordingMarket;
}

/// Tests' externalities: replicas 0 and 1 of job 1 open to commit and reveal.
pub struct ExtBuilder;

impl ExtBuilder {
	/// Run `test`, then check the pallet's invariants.
	pub fn build_and_execute(test: impl FnOnce()) {
		new_test_ext().execute_with(|| {
			test();
			Verification::do_try_state().expect("verification invariants hold");
		})
	}
}

/// Externalities with replicas 0 and 1 of job 1 open to commit and reveal.
pub fn new_test_ext() -> sp_io::TestExternalities {
	OPEN.with(|o| *o.borrow_mut() = vec![(1, 0), (1, 1)]);
	COMMITS.with(|c| c.borrow_mut().clear());
	REVEALS.with(|r| r.borrow_mut().clear());
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

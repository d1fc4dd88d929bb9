//! # Market pallet
//!
//! The Stratus order book: programs, offers (asks), jobs (bids), matching, replicas
//! assigned to providers, escrow, and settlement.
//!
//! ## Terms
//!
//! - **Program**: a WASM module or CUDA program registered once, addressed by its blake2-256 hash,
//!   immutable, stored with a deposit that is returned when it is removed (only while no unfinished
//!   job runs it).
//! - **Offer** (ask): a provider sells `slots` concurrent slots of one resource class (CPU for WASM
//!   jobs, one of its GPU classes for CUDA jobs) at a price per compute unit until a block. Every
//!   slot is covered by the provider's stake (`pallet-provider-staking`).
//! - **Job** (bid): a program, an input, requirements, a budget (`max_price` per unit, `max_units`
//!   per replica), a verification policy (`Unverified`, `Replicated(n)` or `Adaptive`), a commit
//!   window and a deadline. The policy's worst case, `max_price × max_units` for every replica it
//!   can pay (referees included), is held from the requester as **escrow** at once, with a storage
//!   deposit returned when the record is reaped.
//! - **Replica**: one assignment of the job to one provider's offer, on distinct providers; a
//!   replica that misses a deadline is reissued. A round's first replica (the primary) is the
//!   cheapest eligible offer; every other one (verifier, spot-check, referee) is drawn at random
//!   weighted by stake. An adaptive job's second replica is drawn only after its primary's
//!   commitment, from randomness of the next block.
//!
//! ## Matching
//!
//! A continuous order book with price-time priority. Offers rest in `OfferBook`, ordered by
//! price and then by offer id (posting order); jobs that are not fully matched rest in `JobBook`,
//! ordered by highest `max_price` and then by job id. A new job walks the offer book from the
//! cheapest offer and takes one replica per distinct eligible provider, never above its
//! `max_price`; a new (or updated) offer walks the job book from the highest bid. Each walk looks
//! at no more than `MaxMatchScan` book entries, so matching costs
//! `O(MaxMatchScan × (1 offer read + 1 provider read))` per call (an expired offer met on the way
//! is closed: four writes more), and every call is charged for what it actually looked at. A job that finds nothing within that window rests in the job book and is
//! matched when an eligible offer arrives. A freed slot returns its offer to the book; it meets
//! resting jobs when its provider updates or posts an offer (the worker re-offers freed capacity).
//!
//! ## Timeline of a job
//!
//! ```text
//! submit ─ match ─┬─ replica: ack (≤ AckWindow) ─ commit (≤ commit_window after ack) ─┐
//!                 └─ replica: …                                                       │
//!       all committed, or commit window closes (deadline − RevealWindow) ─ reveal window ─ settle
//! ```
//!
//! - A replica not acknowledged within `AckWindow` blocks, or not committed within
//!   `commit_window` blocks of its acknowledgement, is marked missed and reissued to the next
//!   eligible offer while `now + AckWindow + commit_window ≤ deadline − RevealWindow`.
//! - When every replica has committed, the reveal window opens for `RevealWindow` blocks (never
//!   past the deadline). A commit-close at `deadline − RevealWindow` opens it for whatever has
//!   committed, or expires the job when nothing has.
//! - When the reveal window closes (or the last reveal arrives) the [`Config::Verifier`] judges the
//!   reveals. A quorum's replicas are paid `price × min(units, max_units)` each, less the
//!   [`Config::ProtocolFee`] which goes to [`Config::FeeDestination`]; everything else held returns
//!   to the requester. Without a quorum: when replicas missed their reveal and there is still
//!   time a new round starts; a disagreement calls two referees, whose agreed result settles the
//!   job (the disputed results are held against it and the minority slashed); referees that
//!   disagree leave it disputed and the escrow is refunded; too few reveals expire it.
//! - **Cancel**: an unmatched job refunds fully; a running job pays each replica that has
//!   already committed (`price × units`, less the fee: the provider did the work) and refunds the
//!   rest.
//! - Finished jobs stay readable for `RecordRetention` blocks, then anyone may remove them with
//!   `reap_job`; expired or cancelled offers likewise with `reap_offer`. A reap that removes
//!   something costs its caller no fee; one with nothing to remove fails.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod dispatchable_impls;
mod impls;
#[cfg(any(feature = "std", feature = "try-runtime"))]
mod invariants;
mod matching;
#[cfg(test)]
mod mock;
mod reads;
pub mod runtime_api;
mod settlement;
#[cfg(test)]
mod tests;
mod tick_impls;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

/// What the market's benchmarks need from the runtime, kept off the production traits: providers
/// registered and staked, to match jobs against (the runtime asks its staking pallet).
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// Register `who` as a provider with `profile`, staked for `slots` slots.
	fn register_provider(
		who: &AccountId,
		profile: stratus_primitives::CapabilityProfile,
		slots: u32,
	);
}

/// Randomness that a block fixed when it was sealed, asked for later: the spot-check's draw is
/// taken from the randomness of the block holding the commitment, whichever block's hook takes
/// it, so that everyone — the committed worker first — knows the outcome once that block is
/// known ([`SpotCheck::Drawing`]).
pub trait SealedRandomness<BlockNumber> {
	/// What block `block` fixed for `subject`; `None` when the chain no longer knows it.
	fn of_block(subject: &[u8], block: BlockNumber) -> Option<sp_core::H256>;
	/// What [`Self::of_block`] answers for a block with this hash, asked before that block's
	/// successor stores it (the runtime API's forecast, at the block itself).
	fn of_hash(subject: &[u8], hash: sp_core::H256) -> sp_core::H256;
}

/// Randomness from the parent block's hash, mixed with the subject: unknown before the parent
/// block was built, so a decision taken in the block after an event cannot be foreseen by whoever
/// caused it. The author of the parent block could grind it (build candidates until one hashes
/// its way); the runtime moves to a VRF with BABE.
pub struct BlockHashRandomness<T>(core::marker::PhantomData<T>);

impl<T: frame_system::Config<Hash = sp_core::H256>>
	SealedRandomness<frame_system::pallet_prelude::BlockNumberFor<T>> for BlockHashRandomness<T>
{
	fn of_block(
		subject: &[u8],
		block: frame_system::pallet_prelude::BlockNumberFor<T>,
	) -> Option<sp_core::H256> {
		let hash = frame_system::Pallet::<T>::block_hash(block);
		(hash != sp_core::H256::zero()).then(|| Self::of_hash(subject, hash))
	}

	fn of_hash(subject: &[u8], hash: sp_core::H256) -> sp_core::H256 {
		sp_core::H256(sp_io::hashing::blake2_256(&codec::Encode::encode(&(subject, hash))))
	}
}

impl<T: frame_system::Config<Hash = sp_core::H256>>
	frame_support::traits::Randomness<
		sp_core::H256,
		frame_system::pallet_prelude::BlockNumberFor<T>,
	> for BlockHashRandomness<T>
{
	fn random(subject: &[u8]) -> (sp_core::H256, frame_system::pallet_prelude::BlockNumberFor<T>) {
		use sp_runtime::traits::{One, Saturating};
		let now = frame_system::Pallet::<T>::block_number();
		let parent = now.saturating_sub(One::one());
		(Self::of_hash(subject, frame_system::Pallet::<T>::block_hash(parent)), parent)
	}
}

use frame_support::traits::fungible;

/// A balance of the market's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// A negative imbalance of the market's currency (the protocol fee on its way to its destination).
pub type CreditOf<T> =
	fungible::Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;

// The pallet macros expand to `expect`s with written proofs; the pallet's own code is held to the
// workspace lints in the other modules.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		dispatch::PostDispatchInfo,
		pallet_prelude::*,
		traits::{
			fungible::{BalancedHold, Inspect, Mutate, MutateHold},
			OnUnbalanced,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
	use sp_runtime::Perbill;
	use stratus_primitives::{
		JobId, JobKind, OfferId, OnDispute, OnOffence, ProviderRegistry, ReplicaIndex,
		ReputationProvider, ResourceClass, Verifier,
	};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Why the market holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A program's storage deposit.
		ProgramDeposit,
		/// A job's escrow: its maximum cost, until it settles.
		JobEscrow,
		/// A job's storage deposit, from its submission until its record is reaped.
		JobDeposit,
	}

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency jobs are paid in and deposits held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ BalancedHold<Self::AccountId>;
		/// The runtime's hold reasons.
		type RuntimeHoldReason: From<HoldReason>;
		/// Providers, their profiles and the stake behind their slots.
		type Providers: ProviderRegistry<Self::AccountId, BalanceOf<Self>>;
		/// Judges revealed results.
		type Verifier: Verifier;
		/// Told about disputed jobs.
		type OnDispute: OnDispute;
		/// Told about every offence: a missed acknowledgement, commit or reveal, and a result
		/// outside a verified quorum (`pallet-slashing` slashes for them).
		type OnOffence: OnOffence<Self::AccountId>;
		/// Providers' reputation: read by matching (`min_reputation`), updated with every
		/// verified result, outvoted result, missed deadline and dispute.
		type Reputation: ReputationProvider<Self::AccountId>;
		/// Randomness for the verifier draws and the spot-check decisions. The market asks it in
		/// the block *after* the event it decides on (a spot-check: after the commitment), so that
		/// a provider cannot know the outcome when it acts; [`BlockHashRandomness`] (the hash of
		/// the parent block) is what the runtime uses until consensus gives a VRF. A spot-check is
		/// drawn from what the commitment's block fixed ([`SealedRandomness`]).
		type Randomness: frame_support::traits::Randomness<H256, BlockNumberFor<Self>>
			+ SealedRandomness<BlockNumberFor<Self>>;
		/// Referee replicas a dispute calls (a round of their own, judged by all of them
		/// agreeing; the disputed replicas are held against their verdict).
		#[pallet::constant]
		type Referees: Get<u8>;
		/// The chance that a `Replicated(n)` job gets one more replica, drawn at random weighted by
		/// stake, as a spot-check, decided in the block after its round's first commitment: a
		/// ring holding all `n` replicas cannot know, when it commits, that nobody else will run
		/// the job. Zero turns it off.
		#[pallet::constant]
		type ReplicatedSpotCheck: Get<Perbill>;
		/// Where protocol fees go.
		type FeeDestination: OnUnbalanced<CreditOf<Self>>;
		/// The share of each provider payment taken as the protocol fee.
		#[pallet::constant]
		type ProtocolFee: Get<Perbill>;
		/// The least a job may be worth: `max_price × max_units` (what one replica can earn) must
		/// reach it, so that nobody fills the chain and the providers' queues with jobs not worth
		/// running.
		#[pallet::constant]
		type MinJobValue: Get<BalanceOf<Self>>;
		/// Deposit held for every job from its submission until its record is reaped (anyone may
		/// reap it `RecordRetention` blocks after it ended; the deposit returns to the requester).
		#[pallet::constant]
		type JobDeposit: Get<BalanceOf<Self>>;
		/// Most jobs one requester may have resting in the job book when it posts another that
		/// would rest too.
		#[pallet::constant]
		type MaxRestingJobs: Get<u32>;
		/// Deposit held for any program.
		#[pallet::constant]
		type ProgramDepositBase: Get<BalanceOf<Self>>;
		/// Deposit held per byte of a program.
		#[pallet::constant]
		type ProgramDepositPerByte: Get<BalanceOf<Self>>;
		/// Largest program, in bytes.
		#[pallet::constant]
		type MaxProgramSize: Get<u32>;
		/// Largest inline input, in bytes.
		#[pallet::constant]
		type MaxInlineInput: Get<u32>;
		/// Largest output a job may allow (its `max_output_bytes`), in bytes: every provider must
		/// be able to hold and serve it, so it is the chain's, not each requester's.
		#[pallet::constant]
		type MaxOutputBytes: Get<u32>;
		/// Longest input URL, in bytes.
		#[pallet::constant]
		type MaxUrlLength: Get<u32>;
		/// Most entries in each requirement list (GPU models, regions).
		#[pallet::constant]
		type MaxRequirementItems: Get<u32>;
		/// Most replicas a job may ask for.
		#[pallet::constant]
		type MaxReplication: Get<u8>;
		/// Most replicas a job may have over its life, reissued ones included.
		#[pallet::constant]
		type MaxReplicasPerJob: Get<u32>;
		/// Most offers one provider may have.
		#[pallet::constant]
		type MaxOffersPerProvider: Get<u32>;
		/// Most slots one offer may hold.
		#[pallet::constant]
		type MaxSlotsPerOffer: Get<u32>;
		/// Most order-book entries one matching pass looks at.
		#[pallet::constant]
		type MaxMatchScan: Get<u32>;
		/// Weight the block-start hook may spend on due deadlines (what it cannot handle in one
		/// block it carries over; `end_overdue` lets anyone handle an overdue job at once).
		#[pallet::constant]
		type MaxDeadlineWeight: Get<Weight>;
		/// Blocks a provider has to acknowledge a replica.
		#[pallet::constant]
		type AckWindow: Get<BlockNumberFor<Self>>;
		/// Blocks replicas have to reveal once the reveal window opens.
		#[pallet::constant]
		type RevealWindow: Get<BlockNumberFor<Self>>;
		/// Furthest a job's deadline may be from its submission.
		#[pallet::constant]
		type MaxJobDuration: Get<BlockNumberFor<Self>>;
		/// Blocks a finished job stays readable before it may be reaped.
		#[pallet::constant]
		type RecordRetention: Get<BlockNumberFor<Self>>;
		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
		/// What the benchmarks need from the runtime: providers to match against.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId>;
	}

	/// Registered programs' metadata.
	///
	/// Identity: the key is a blake2-256 hash of the program, already uniformly distributed.
	#[pallet::storage]
	pub type Programs<T: Config> = StorageMap<
		_,
		Identity,
		H256,
		ProgramInfo<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>,
		OptionQuery,
	>;

	/// Registered programs' bytes, apart from their metadata so that matching never loads them.
	///
	/// Identity: the key is a blake2-256 hash of the value.
	#[pallet::storage]
	pub type ProgramCode<T: Config> =
		StorageMap<_, Identity, H256, BoundedVec<u8, T::MaxProgramSize>, OptionQuery>;

	/// The next offer id.
	#[pallet::storage]
	pub type NextOfferId<T: Config> = StorageValue<_, OfferId, ValueQuery>;

	/// Offers, open or waiting for their last replicas to end.
	///
	/// Twox64Concat: ids are assigned by the chain in sequence.
	#[pallet::storage]
	pub type Offers<T: Config> = StorageMap<_, Twox64Concat, OfferId, Offer<T>, OptionQuery>;

	/// Each provider's offers.
	///
	/// Blake2_128Concat: account ids are chosen by users.
	#[pallet::storage]
	pub type ProviderOffers<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<OfferId, T::MaxOffersPerProvider>,
		ValueQuery,
	>;

	/// The ask side: open offers with a free slot, keyed by `price (big-endian) ‖ offer id
	/// (big-endian)` so that iteration runs in price-time order.
	///
	/// Twox64Concat for the two job kinds; Identity for the order key, because matching needs its
	/// byte order (the key ends in a chain-assigned id, so a user picks only the price prefix).
	#[pallet::storage]
	pub type OfferBook<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobKind, Identity, [u8; 24], (), OptionQuery>;

	/// The ask side as a dense list per job kind — position → offer id, positions
	/// `0..BookSize` — so that a verifier draw can pick book entries uniformly at random, in one
	/// read each, wherever they are in price order. Kept in step with `OfferBook`.
	///
	/// Twox64Concat: job kinds and positions are the chain's, not chosen by users.
	#[pallet::storage]
	pub type BookSlots<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobKind, Twox64Concat, u32, OfferId, OptionQuery>;

	/// How many entries each job kind's `BookSlots` holds.
	#[pallet::storage]
	pub type BookSize<T: Config> = StorageMap<_, Twox64Concat, JobKind, u32, ValueQuery>;

	/// Each booked offer's position in `BookSlots`.
	///
	/// Twox64Concat: ids are assigned by the chain in sequence.
	#[pallet::storage]
	pub type BookPosition<T: Config> = StorageMap<_, Twox64Concat, OfferId, u32, OptionQuery>;

	/// The next job id.
	///
	/// Whitelisted in benchmarks: every job placed in a block writes it, the database commits it
	/// once per block, and `on_initialize` charges that once (see `Pallet::hot_keys_weight`).
	#[pallet::storage]
	#[pallet::whitelist_storage]
	pub type NextJobId<T: Config> = StorageValue<_, JobId, ValueQuery>;

	/// Jobs, until reaped.
	///
	/// Twox64Concat: ids are assigned by the chain in sequence.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Twox64Concat, JobId, Job<T>, OptionQuery>;

	/// Jobs' inputs, apart from the jobs so that the steps of a job's life never load them.
	///
	/// Twox64Concat: ids are assigned by the chain in sequence.
	#[pallet::storage]
	pub type JobInputs<T: Config> = StorageMap<_, Twox64Concat, JobId, JobInput<T>, OptionQuery>;

	/// The bid side: open jobs with replicas still to match, keyed by
	/// `(u128::MAX − max_price) (big-endian) ‖ job id (big-endian)` so that iteration runs from
	/// the highest bid, oldest first.
	///
	/// Twox64Concat for the job kind; Identity for the order key (see `OfferBook`).
	#[pallet::storage]
	pub type JobBook<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobKind, Identity, [u8; 24], (), OptionQuery>;

	/// How many of each requester's jobs rest in the job book.
	///
	/// Blake2_128Concat: account ids are chosen by users.
	#[pallet::storage]
	pub type RestingJobs<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	/// Wake-ups: `(block, job)` for every job that has not ended, at the block whose start
	/// handles its earliest pending deadline (`Job::wake_at`). No cap per block: queuing never
	/// fails, and the hook carries over what it cannot handle in one block.
	///
	/// Twox64Concat: block numbers and job ids are assigned by the chain, not chosen by users.
	#[pallet::storage]
	pub type Deadlines<T: Config> =
		StorageDoubleMap<_, Twox64Concat, BlockNumberFor<T>, Twox64Concat, JobId, (), OptionQuery>;

	/// The first block whose deadlines have not all been handled.
	#[pallet::storage]
	pub type DeadlineCursor<T: Config> = StorageValue<_, BlockNumberFor<T>, OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A program was registered.
		ProgramRegistered {
			/// The program's blake2-256 hash, by which jobs name it.
			program: H256,
			/// Who registered it and holds its deposit.
			owner: T::AccountId,
			/// Which executor runs it.
			kind: JobKind,
			/// Its size in bytes.
			len: u32,
			/// The deposit held.
			deposit: BalanceOf<T>,
		},
		/// A program's owner asked to remove it: no job may be submitted with it any more, and
		/// its owner may remove it from block `removable_at` on.
		ProgramRetiring {
			/// The program's hash.
			program: H256,
			/// The first block its owner may remove it in.
			removable_at: BlockNumberFor<T>,
		},
		/// A program was removed and its deposit returned.
		ProgramRemoved {
			/// The program's hash.
			program: H256,
			/// The deposit returned to the owner.
			refunded: BalanceOf<T>,
		},
		/// A provider posted an offer.
		OfferPosted {
			/// The offer's id.
			offer: OfferId,
			/// The provider.
			provider: T::AccountId,
			/// What it sells.
			class: ResourceClass,
			/// Price per compute unit.
			price: BalanceOf<T>,
			/// Concurrent slots.
			slots: u32,
			/// The block from which it no longer matches.
			expires_at: BlockNumberFor<T>,
		},
		/// A provider changed an offer.
		OfferUpdated {
			/// The offer's id.
			offer: OfferId,
			/// The new price per compute unit.
			price: BalanceOf<T>,
			/// The new slot count.
			slots: u32,
			/// The new expiry.
			expires_at: BlockNumberFor<T>,
		},
		/// An offer stopped matching: cancelled by its provider, or found expired.
		OfferClosed {
			/// The offer's id.
			offer: OfferId,
			/// `true` when it expired, `false` when cancelled.
			expired: bool,
		},
		/// A closed offer's record was removed.
		OfferReaped {
			/// The offer's id.
			offer: OfferId,
		},
		/// A requester posted a job and its maximum cost was held.
		JobSubmitted {
			/// The job's id.
			job: JobId,
			/// The requester.
			requester: T::AccountId,
			/// The program it runs.
			program: H256,
			/// The amount held in escrow.
			escrow: BalanceOf<T>,
		},
		/// A replica of a job was assigned to a provider's offer.
		ReplicaAssigned {
			/// The job.
			job: JobId,
			/// The replica's index.
			replica: ReplicaIndex,
			/// The provider who should run it.
			provider: T::AccountId,
			/// The offer whose slot it uses.
			offer: OfferId,
			/// Price per compute unit.
			price: BalanceOf<T>,
			/// The last block for the provider to acknowledge it.
			ack_by: BlockNumberFor<T>,
		},
		/// A provider acknowledged a replica and is running it.
		ReplicaAcknowledged {
			/// The job.
			job: JobId,
			/// The replica.
			replica: ReplicaIndex,
			/// The last block for its commit.
			commit_by: BlockNumberFor<T>,
		},
		/// A provider declined a replica before acknowledging it; it gave its slot back and the
		/// job looks for another provider.
		ReplicaDeclined {
			/// The job.
			job: JobId,
			/// The replica.
			replica: ReplicaIndex,
			/// Its provider.
			provider: T::AccountId,
		},
		/// A replica missed a deadline and gave its slot back.
		ReplicaMissed {
			/// The job.
			job: JobId,
			/// The replica.
			replica: ReplicaIndex,
			/// Its provider.
			provider: T::AccountId,
			/// Which deadline.
			missed: Missed,
		},
		/// A job's reveal window opened.
		RevealOpened {
			/// The job.
			job: JobId,
			/// The last block for reveals.
			until: BlockNumberFor<T>,
		},
		/// A provider was paid for a replica.
		ProviderPaid {
			/// The job.
			job: JobId,
			/// The replica.
			replica: ReplicaIndex,
			/// The provider.
			provider: T::AccountId,
			/// What the provider received.
			amount: BalanceOf<T>,
			/// The protocol fee taken from the payment.
			fee: BalanceOf<T>,
		},
		/// The chain decided whether to spot-check a job's round: the replica of an `adaptive` job
		/// that runs alone, or a `Replicated(n)` job's `n` (`checked`: one more replica, drawn at
		/// random weighted by stake, runs it too; a replicated job's check is dropped when nobody
		/// is there to draw).
		SpotCheckDecided {
			/// The job.
			job: JobId,
			/// Whether a spot-check replica runs it.
			checked: bool,
			/// The chance it had of being checked.
			rate: Perbill,
		},
		/// A job's results disagreed without a majority: a round of referee replicas, drawn at
		/// random weighted by stake, decides, and the disputed results are held against theirs.
		RefereesCalled {
			/// The job.
			job: JobId,
			/// The referee round.
			round: u8,
		},
		/// A reveal round ended without a verdict because replicas missed their reveal; the job
		/// goes on with fresh replicas, judged among themselves.
		RoundStarted {
			/// The job.
			job: JobId,
			/// The new round.
			round: u8,
		},
		/// A job's replicas agreed; the quorum was paid and the rest of the escrow refunded.
		JobSettled {
			/// The job.
			job: JobId,
			/// The canonical digest of the job's output.
			digest: H256,
			/// The units each replica of the quorum was paid for (the units the quorum agreed
			/// on; for CUDA jobs the quorum's lower median), at most `max_units`.
			units: u64,
			/// Paid to providers, fees included.
			paid: BalanceOf<T>,
			/// Returned to the requester.
			refunded: BalanceOf<T>,
		},
		/// A job's reveals disagreed without a quorum; its escrow was refunded.
		JobDisputed {
			/// The job.
			job: JobId,
			/// Returned to the requester.
			refunded: BalanceOf<T>,
		},
		/// The requester cancelled a job.
		JobCancelled {
			/// The job.
			job: JobId,
			/// Returned to the requester.
			refunded: BalanceOf<T>,
		},
		/// A job ran out of time without a result; its escrow was refunded.
		JobExpired {
			/// The job.
			job: JobId,
			/// Returned to the requester.
			refunded: BalanceOf<T>,
		},
		/// A finished job's record was removed.
		JobReaped {
			/// The job.
			job: JobId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The program has no bytes. Register the module or program file itself.
		ProgramEmpty,
		/// The program is larger than `MaxProgramSize`. Shrink it (strip debug sections) or fetch
		/// large data as input instead.
		ProgramTooLarge,
		/// A `Wasm` program must be a WebAssembly binary (starting with `\0asm`). Register the
		/// `.wasm` file, not its text form, or pick the right kind.
		InvalidWasm,
		/// This exact program is already registered; use its hash.
		ProgramExists,
		/// No program has this hash. Register the program first, or check the hash.
		UnknownProgram,
		/// Only the account that registered a program may remove it.
		NotProgramOwner,
		/// The program is retiring, and jobs submitted before may still run it: its owner may
		/// remove it from the block in its `removable_at` on.
		ProgramInUse,
		/// The program's owner is removing it, so no new job may use it. Ask its owner, or
		/// register it again once it is removed.
		ProgramRetiring,
		/// The signer is not a registered provider (nor a provider's worker key). Register with
		/// `ProviderStaking::register` first.
		NotProvider,
		/// The provider's profile does not offer this resource class: CPU offers need the `Wasm`
		/// job kind, GPU offers the `Cuda` kind and a GPU class at that index.
		ClassNotInProfile,
		/// A price of zero. Offer and bid prices are per compute unit and must be positive.
		ZeroPrice,
		/// An offer needs at least one slot.
		ZeroSlots,
		/// More slots than `MaxSlotsPerOffer` in one offer; post several offers.
		TooManySlots,
		/// The expiry is not in the future.
		ExpiryInPast,
		/// An offer cannot shrink below the slots serving replicas now; wait for them to end.
		SlotsInUse,
		/// The provider already has `MaxOffersPerProvider` offers; cancel or reap one first.
		TooManyOffers,
		/// The provider already has an open offer for this resource class: change it with
		/// `update_offer` (price, slots, expiry) or cancel it first. One open offer per class keeps
		/// a provider from filling the matching window with copies of itself.
		OfferForClassExists,
		/// No offer has this id (it may have been reaped).
		UnknownOffer,
		/// Only the offer's provider may change it.
		NotOfferOwner,
		/// The offer was cancelled or has expired; post a new one.
		OfferClosed,
		/// The inline input is larger than `MaxInlineInput`; serve it from a URL instead.
		InputTooLarge,
		/// The input URL is empty or longer than `MaxUrlLength`.
		BadInputUrl,
		/// A requirement list has more than `MaxRequirementItems` entries, or a GPU model name is
		/// longer than a GPU model can be.
		TooManyRequirements,
		/// `max_units` is zero: a job must allow at least one compute unit.
		ZeroUnits,
		/// `max_output_bytes` is zero: a job must allow some output.
		ZeroOutput,
		/// `max_output_bytes` is above `MaxOutputBytes`: write a smaller output (a digest, a
		/// summary), or split the work into several jobs.
		OutputTooLarge,
		/// `replicated(n)` needs `n` of at least 2 (one replica is `unverified`) and at most
		/// `MaxReplication`.
		BadReplication,
		/// `commit_window` must be at least one block.
		ZeroCommitWindow,
		/// The deadline is not in the future.
		DeadlineInPast,
		/// The deadline leaves too little time: it must be at least
		/// `AckWindow + commit_window + RevealWindow` blocks away.
		DeadlineTooSoon,
		/// The deadline is further than `MaxJobDuration` blocks away.
		DeadlineTooFar,
		/// `max_price × max_units` for every replica the policy can pay does not fit in a balance.
		/// Lower the budget.
		CostOverflow,
		/// `max_price × max_units` (what one replica can earn) is below `MinJobValue`: raise
		/// `max_price` or `max_units`, or batch small jobs into one.
		JobTooSmall,
		/// The job would rest in the job book (nothing can serve it now), and `MaxRestingJobs` of
		/// the requester's jobs rest there already: cancel some, or post it when offers exist
		/// (`market_whyNoMatch` explains what a resting job waits for).
		TooManyRestingJobs,
		/// The account cannot cover the amount to hold (and keep its existential deposit).
		InsufficientBalance,
		/// No job has this id (it may have been reaped).
		UnknownJob,
		/// Only the job's requester may cancel it.
		NotRequester,
		/// The job has already ended.
		JobFinished,
		/// Replicas of the job have committed results: it can no longer be cancelled and runs to
		/// its verdict by its deadline (whatever is not paid is refunded then).
		ResultsCommitted,
		/// The job has no replica with this index.
		UnknownReplica,
		/// The signer is neither the replica's provider nor its worker key.
		NotReplicaProvider,
		/// The replica is not waiting for an acknowledgement (already acknowledged, or missed).
		NotAwaitingAck,
		/// The replica cannot commit now: it is not acknowledged-and-running, it already
		/// committed, or its commit deadline has passed.
		NotAwaitingCommit,
		/// The replica cannot reveal now: the reveal window is not open, or it did not commit, or
		/// it already revealed.
		NotAwaitingReveal,
		/// None of the job's deadlines has passed yet (or the block-start hook already handled
		/// them): there is nothing overdue to end.
		NotOverdue,
		/// There is nothing to reap: the record is not finished, not yet past its retention, or
		/// still in use.
		NothingToReap,
	}

	#[pallet::extra_constants]
	impl<T: Config> Pallet<T> {
		/// Whether `Verification::commit` acknowledges a replica not acknowledged yet (from
		/// spec 113 on): a worker may then commit a short job's result without acknowledging it
		/// first, one transaction and one block less. Workers read it to know which way the
		/// chain they talk to goes.
		#[pallet::constant_name(CommitAcknowledges)]
		pub fn commit_acknowledges() -> bool {
			true
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::on_initialize_deadlines(now).saturating_add(Self::hot_keys_weight())
		}

		fn integrity_test() {
			assert!(T::MaxReplication::get() >= 1, "MaxReplication must allow one replica");
			assert!(
				u32::from(T::MaxReplication::get()) <= T::MaxReplicasPerJob::get(),
				"MaxReplicasPerJob must hold a job's replicas"
			);
			assert!(T::MaxReplicasPerJob::get() <= 256, "replica indices are u8");
			assert!(T::MaxMatchScan::get() >= 1, "matching must look at one entry");
			assert!(T::Referees::get() >= 1, "a dispute must call a referee");
			assert!(
				u32::from(T::MaxReplication::get())
					.saturating_add(u32::from(T::Referees::get()))
					.saturating_add(3)
					<= T::MaxReplicasPerJob::get(),
				"MaxReplicasPerJob must hold a job's replicas, a spot-check, its referees and a \
				 reissue"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight(<T as Config>::WeightInfo))]
	impl<T: Config> Pallet<T> {
		/// Register a program: a WASM module (`kind = Wasm`) or a CUDA program, source or PTX
		/// (`kind = Cuda`). A deposit of `ProgramDepositBase + len × ProgramDepositPerByte` is held
		/// until the program is removed. Jobs name it by its blake2-256 hash.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_program(code.len() as u32))]
		pub fn register_program(
			origin: OriginFor<T>,
			kind: JobKind,
			code: Vec<u8>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_register_program(owner, kind, code).map(|_| ())
		}

		/// Remove a program, in two calls by its owner. The first retires it: no job may be
		/// submitted with it from then on, and it stays for `MaxJobDuration` blocks more, until
		/// every job that could run it is past its deadline (`ProgramRetiring`). A call from then
		/// on deletes it and returns the deposit (`ProgramRemoved`).
		#[pallet::call_index(1)]
		pub fn remove_program(origin: OriginFor<T>, program: H256) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_remove_program(owner, program)
		}

		/// Offer `slots` concurrent slots of `class` at `price` per compute unit until
		/// `expires_at`. Signed by a provider or its worker key; the stake must cover the slots.
		/// The offer is matched at once against resting jobs.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::post_offer(T::MaxMatchScan::get())
			.saturating_add(Pallet::<T>::draw_weight(true)))]
		pub fn post_offer(
			origin: OriginFor<T>,
			class: ResourceClass,
			price: BalanceOf<T>,
			slots: u32,
			expires_at: BlockNumberFor<T>,
		) -> DispatchResultWithPostInfo {
			let signer = ensure_signed(origin)?;
			let (scanned, drew) = Self::do_post_offer(signer, class, price, slots, expires_at)?;
			Ok(Some(T::WeightInfo::post_offer(scanned).saturating_add(Self::draw_weight(drew)))
				.into())
		}

		/// Change an open offer's price, slots (not below the slots in use) and expiry, and match
		/// it again against resting jobs. Its time priority restarts.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::update_offer(T::MaxMatchScan::get())
			.saturating_add(Pallet::<T>::draw_weight(true)))]
		pub fn update_offer(
			origin: OriginFor<T>,
			offer: OfferId,
			price: BalanceOf<T>,
			slots: u32,
			expires_at: BlockNumberFor<T>,
		) -> DispatchResultWithPostInfo {
			let signer = ensure_signed(origin)?;
			let (scanned, drew) = Self::do_update_offer(signer, offer, price, slots, expires_at)?;
			Ok(Some(T::WeightInfo::update_offer(scanned).saturating_add(Self::draw_weight(drew)))
				.into())
		}

		/// Cancel an offer: it stops matching and its free slots go back to the stake at once;
		/// replicas it serves run on to the end.
		#[pallet::call_index(4)]
		pub fn cancel_offer(origin: OriginFor<T>, offer: OfferId) -> DispatchResult {
			let signer = ensure_signed(origin)?;
			Self::do_cancel_offer(signer, offer)
		}

		/// Post a job. Its maximum cost is held at once, and it is matched in this block against
		/// the cheapest eligible offers; what cannot be matched rests until an eligible offer
		/// arrives or the job's time runs out.
		#[pallet::call_index(5)]
		#[pallet::weight(Pallet::<T>::submit_job_weight(None, spec.input.stored_apart_kib()))]
		pub fn submit_job(
			origin: OriginFor<T>,
			spec: JobSpec<BalanceOf<T>, BlockNumberFor<T>>,
		) -> DispatchResultWithPostInfo {
			let requester = ensure_signed(origin)?;
			let input = spec.input.stored_apart_kib();
			let placement = Self::do_submit_job(requester, spec)?;
			Ok(Some(Self::submit_job_weight(Some(&placement), input)).into())
		}

		/// Cancel a job whose replicas have not committed any result: everything held is refunded
		/// and its replicas give their slots back. Once a result is committed the job runs to
		/// its verdict.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::cancel_job(T::MaxReplicasPerJob::get()))]
		pub fn cancel_job(origin: OriginFor<T>, job: JobId) -> DispatchResultWithPostInfo {
			let requester = ensure_signed(origin)?;
			let replicas = Self::do_cancel_job(requester, job)?;
			Ok(Some(T::WeightInfo::cancel_job(replicas)).into())
		}

		/// Acknowledge a replica: the provider takes the work on and its commit deadline starts.
		/// Signed by the replica's provider or its worker key, before the acknowledgement deadline.
		/// A valid acknowledgement costs no fee (each replica takes it once; a requester cannot
		/// drain a provider's fee allowance with cheap jobs); a refused one pays.
		/// When the job still misses a verifier (no eligible offer was there to draw from), it is
		/// drawn again.
		#[pallet::call_index(7)]
		#[pallet::weight(Pallet::<T>::acknowledge_weight(true))]
		pub fn acknowledge(
			origin: OriginFor<T>,
			job: JobId,
			replica: ReplicaIndex,
		) -> DispatchResultWithPostInfo {
			let signer = ensure_signed(origin)?;
			let drew = Self::do_acknowledge(signer, job, replica)?;
			Ok(PostDispatchInfo {
				actual_weight: Some(Self::acknowledge_weight(drew)),
				pays_fee: Pays::No,
			})
		}

		/// Remove a cancelled or expired offer that serves no replica (closing an expired one
		/// first). Anyone may call it; it costs no fee when it removes something.
		#[pallet::call_index(8)]
		pub fn reap_offer(origin: OriginFor<T>, offer: OfferId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			Self::do_reap_offer(offer)?;
			Ok(Pays::No.into())
		}

		/// Decline a replica instead of acknowledging it (the worker cannot run it in time, or
		/// will not): it is reissued at once to the next eligible offer, and declining is no
		/// offence (a replica left unacknowledged is). Signed by the replica's provider or its
		/// worker key, before the acknowledgement deadline; a valid decline costs no fee.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::decline().max(T::WeightInfo::deadline_ack(T::MaxMatchScan::get())))]
		pub fn decline(
			origin: OriginFor<T>,
			job: JobId,
			replica: ReplicaIndex,
		) -> DispatchResultWithPostInfo {
			let signer = ensure_signed(origin)?;
			Self::do_decline(signer, job, replica)?;
			Ok(Pays::No.into())
		}

		/// Handle job `job`'s passed deadlines now, if the block-start hook has not reached them
		/// yet (it carries over what does not fit in a block): late replicas miss and are
		/// reissued, a closed commit window opens the reveals, a closed reveal window judges the
		/// job. Anyone may call it; it costs no fee when there was something overdue.
		#[pallet::call_index(10)]
		#[pallet::weight(Pallet::<T>::wake_weight_max())]
		pub fn end_overdue(origin: OriginFor<T>, job: JobId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let handled = Self::do_end_overdue(job)?;
			Ok(PostDispatchInfo {
				actual_weight: Some(Self::wake_weight(handled)),
				pays_fee: Pays::No,
			})
		}

		/// Remove a job that ended more than `RecordRetention` blocks ago. Anyone may call it; it
		/// costs no fee when it removes something.
		#[pallet::call_index(9)]
		pub fn reap_job(origin: OriginFor<T>, job: JobId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			Self::do_reap_job(job)?;
			Ok(PostDispatchInfo { actual_weight: None, pays_fee: Pays::No })
		}
	}
}

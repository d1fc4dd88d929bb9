//! Plays actions on the runtime: keys, blocks, extrinsics, and the checks after every block.

use crate::actions::{Action, By, Input, Policy, Profile, Proof, Tamper};
use codec::Encode;
use frame_support::{
	dispatch::{DispatchInfo, GetDispatchInfo, PostDispatchInfo},
	traits::UnfilteredDispatchable,
	weights::Weight,
};
use pallet_market::{InputSpec, JobSpec, RequirementsSpec};
use sp_consensus_aura::{Slot, AURA_ENGINE_ID};
use sp_core::{sr25519, storage::Storage, Pair, H256};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{
	generic::Era,
	traits::{Applyable, Checkable, Hash as _, Header as _},
	BuildStorage, Digest, DigestItem, DispatchError, MultiSignature, Perbill,
};
use std::{
	collections::BTreeMap,
	sync::{
		atomic::{AtomicU64, Ordering},
		OnceLock,
	},
};
use stratus_primitives::{
	market::{JobPhase, ReplicaState},
	CapabilityProfile, GpuSpec, JobId, JobKind, OfferId, ReplicaIndex, ResourceClass,
	VerificationPolicy,
};
use stratus_runtime::{
	configs::{FeeAccount, RuntimeBlockWeights},
	AccountId, Balance, Balances, Executive, Header, Runtime, RuntimeCall, RuntimeEvent,
	RuntimeOrigin, SignedPayload, UncheckedExtrinsic, SLOT_DURATION, UNIT,
};

/// Whether `STRATUS_FUZZ_TRACE` is set: then every action and every signed call's outcome is
/// printed (`scripts/fuzz --replay` sets it).
fn tracing() -> bool {
	static TRACE: OnceLock<bool> = OnceLock::new();
	*TRACE.get_or_init(|| std::env::var_os("STRATUS_FUZZ_TRACE").is_some())
}

/// The most blocks the drain gives a hook's cursor to catch up after a jump (a jump of up to
/// [`MAX_JUMP`] blocks is one block here, and each hook walks only as many of the blocks it
/// skipped as its weight budget per block allows).
const CATCH_UP_BLOCKS: u32 = 256;

type Market = pallet_market::Pallet<Runtime>;
type Staking = pallet_provider_staking::Pallet<Runtime>;
type Verification = pallet_verification::Pallet<Runtime>;
type Slashing = pallet_slashing::Pallet<Runtime>;
type Reputation = pallet_reputation::Pallet<Runtime>;
type System = frame_system::Pallet<Runtime>;

/// Signers: the six endowed dev accounts and two of their stash accounts …
const DEV_KEYS: [Sr25519Keyring; 8] = [
	Sr25519Keyring::Alice,
	Sr25519Keyring::Bob,
	Sr25519Keyring::Charlie,
	Sr25519Keyring::Dave,
	Sr25519Keyring::Eve,
	Sr25519Keyring::Ferdie,
	Sr25519Keyring::AliceStash,
	Sr25519Keyring::BobStash,
];
/// … and this many worker keys, each funded at set-up with [`WORKER_FUNDS`] for fees.
const WORKER_KEYS: usize = 8;
const WORKER_FUNDS: Balance = 100 * UNIT;
/// The providers registered at set-up (Charlie, Dave and Eve) and their worker keys (0–2).
const SETUP_PROVIDERS: [(usize, usize); 3] = [(2, 8), (3, 9), (4, 10)];
const SETUP_STAKE: Balance = 1_000 * UNIT;
/// Regions a profile or a job's requirements may name.
const REGIONS: [u16; 4] = [276, 250, 840, 0];

/// What one played input did (summed over inputs by the corpus test and the fuzzer's counters).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
	/// Signed extrinsics applied to a block (dispatched, successfully or not).
	pub extrinsics: u64,
	/// … of which the call succeeded.
	pub succeeded: u64,
	/// Transactions refused before dispatch (they would not enter a block): unpayable fees, …
	pub invalid: u64,
	/// Calls dispatched by a governance origin.
	pub root_calls: u64,
	/// Blocks built.
	pub blocks: u64,
	/// Jobs that reached a verdict (settled), and replicas revealed.
	pub settled: u64,
	pub revealed: u64,
	/// Slashes reported, and applied.
	pub slashes_reported: u64,
	pub slashes_applied: u64,
}

impl Report {
	pub fn add(&mut self, other: &Report) {
		self.extrinsics += other.extrinsics;
		self.succeeded += other.succeeded;
		self.invalid += other.invalid;
		self.root_calls += other.root_calls;
		self.blocks += other.blocks;
		self.settled += other.settled;
		self.revealed += other.revealed;
		self.slashes_reported += other.slashes_reported;
		self.slashes_applied += other.slashes_applied;
	}
}

/// Totals over every input this process has played, for the fuzzer's progress lines.
pub static TOTAL_EXTRINSICS: AtomicU64 = AtomicU64::new(0);
pub static TOTAL_INPUTS: AtomicU64 = AtomicU64::new(0);

struct Keys {
	pairs: Vec<sr25519::Pair>,
	accounts: Vec<AccountId>,
}

impl Keys {
	fn new() -> Self {
		let mut pairs: Vec<sr25519::Pair> = DEV_KEYS.iter().map(|k| k.pair()).collect();
		pairs.extend((0..WORKER_KEYS).map(|i| sr25519::Pair::from_seed(&[100 + i as u8; 32])));
		let accounts = pairs.iter().map(|p| AccountId::from(p.public())).collect();
		Self { pairs, accounts }
	}

	fn index_of(&self, account: &AccountId) -> Option<usize> {
		self.accounts.iter().position(|a| a == account)
	}
}

fn keys() -> &'static Keys {
	static KEYS: OnceLock<Keys> = OnceLock::new();
	KEYS.get_or_init(Keys::new)
}

/// The chain's state after set-up, and where block production stands.
#[derive(Clone)]
struct Start {
	storage: Storage,
	number: u32,
	slot: u64,
	parent: H256,
}

/// The secret behind a commitment the harness made, for its reveal.
#[derive(Clone, Copy)]
struct Secret {
	digest: H256,
	units: u64,
	salt: [u8; 32],
}

pub struct Driver {
	number: u32,
	slot: u64,
	parent: H256,
	/// Total issuance when the current block opened.
	issuance_at_open: Balance,
	/// What successful `Balances::burn` calls burnt in the current block.
	burnt: Balance,
	secrets: BTreeMap<(JobId, ReplicaIndex), Secret>,
	salts: u64,
	report: Report,
}

fn digest_of(result: u8) -> H256 {
	match result % 4 {
		3 => stratus_primitives::timeout_digest(),
		r => H256(sp_io::hashing::blake2_256(&[b'o', b'u', b't', r])),
	}
}

fn profile(p: &Profile) -> CapabilityProfile {
	let mut profile = CapabilityProfile::cpu_only(
		u16::from(p.cpu_cores % 64),
		u32::from(p.memory_gib) * 1024,
		REGIONS[usize::from(p.region) % REGIONS.len()],
	);
	if p.gpu {
		profile.kinds.try_push(JobKind::Cuda).expect("two kinds fit");
		let gpu = GpuSpec {
			model: b"NVIDIA H200".to_vec().try_into().expect("a short name fits"),
			vram_mib: 143_771,
			compute_capability: 90,
			driver_version: 570,
			cuda_version: 12080,
			count: 1,
		};
		profile.gpus.try_push(gpu).expect("one GPU class fits");
	}
	profile
}

impl Driver {
	/// Plays `actions` from the set-up state, then drains (every deadline passes) and checks
	/// that nothing is left locked.
	pub fn play(actions: &[Action]) -> Report {
		let start = start();
		// The set-up state goes into the overlay over an empty backend, not into a trie: reading
		// and iterating a trie from its root is most of a block's time in the harness, and the
		// overlay's ordered map made it 1.7 times faster (docs/reliability.md).
		let mut ext = sp_io::TestExternalities::new(Storage::default());
		let report = ext.execute_with(|| {
			for (key, value) in &start.storage.top {
				sp_io::storage::set(key, value);
			}
			let mut driver = Driver::at(start);
			driver.open_block(1);
			for action in actions {
				driver.act(action);
			}
			driver.close_block();
			driver.drain();
			driver.report
		});
		TOTAL_EXTRINSICS.fetch_add(report.extrinsics, Ordering::Relaxed);
		TOTAL_INPUTS.fetch_add(1, Ordering::Relaxed);
		report
	}

	fn at(start: &Start) -> Self {
		Driver {
			number: start.number,
			slot: start.slot,
			parent: start.parent,
			issuance_at_open: 0,
			burnt: 0,
			secrets: BTreeMap::new(),
			salts: 0,
			report: Report::default(),
		}
	}

	// ---- blocks ----

	fn open_block(&mut self, advance: u32) {
		self.number += advance;
		self.slot += u64::from(advance);
		self.issuance_at_open = Balances::total_issuance();
		self.burnt = 0;
		let digest = Digest {
			logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, Slot::from(self.slot).encode())],
		};
		// A jump stands for the empty blocks between: the hooks' cursors catch up on them.
		System::set_block_number(self.number - 1);
		let header = Header::new(self.number, H256::zero(), H256::zero(), self.parent, digest);
		let _mode = Executive::initialize_block(&header);
		let now = self.slot * SLOT_DURATION;
		let timestamp =
			UncheckedExtrinsic::new_bare(RuntimeCall::Timestamp(pallet_timestamp::Call::set {
				now,
			}));
		Executive::apply_extrinsic(timestamp)
			.expect("the timestamp inherent is valid")
			.expect("the timestamp inherent applies");
		Executive::inherents_applied();
	}

	fn close_block(&mut self) {
		let mut header = Executive::finalize_block();
		// The next block's parent hash, which the market draws its randomness from, is this
		// header's hash without its extrinsics root: that root covers the extrinsics' sr25519
		// signatures, which are randomised, so with it the same input would draw differently
		// from one process to the next, and a crash found might not replay.
		header.extrinsics_root = H256::zero();
		self.parent = header.hash();
		self.report.blocks += 1;
		self.check_block();
	}

	fn next_block(&mut self, advance: u32) {
		self.close_block();
		self.open_block(advance);
	}

	// ---- checks ----

	fn check_block(&mut self) {
		let number = self.number;
		let fail = |what: &str, err: sp_runtime::TryRuntimeError| {
			panic!("block {number}: {what} try_state: {err:?}")
		};
		Market::do_try_state().unwrap_or_else(|e| fail("market", e));
		Staking::do_try_state().unwrap_or_else(|e| fail("provider staking", e));
		Verification::do_try_state().unwrap_or_else(|e| fail("verification", e));
		Slashing::do_try_state().unwrap_or_else(|e| fail("slashing", e));
		Reputation::do_try_state().unwrap_or_else(|e| fail("reputation", e));

		// Balances: the sum of all accounts is the total issuance, holds sum to reserved.
		let mut sum: Balance = 0;
		for (who, account) in frame_system::Account::<Runtime>::iter() {
			let data = account.data;
			sum += data.free + data.reserved;
			let held: Balance =
				pallet_balances::Holds::<Runtime>::get(&who).iter().map(|h| h.amount).sum();
			assert_eq!(held, data.reserved, "block {number}: {who}'s holds are not its reserved");
		}
		let issuance = Balances::total_issuance();
		assert_eq!(sum, issuance, "block {number}: accounts sum to {sum}, issuance is {issuance}");

		// The block changed the issuance by exactly its fees, burns and dust.
		let (mut fees, mut dust) = (0, 0);
		for record in System::read_events_no_consensus() {
			match record.event {
				RuntimeEvent::TransactionPayment(
					pallet_transaction_payment::Event::TransactionFeePaid { actual_fee, .. },
				) => fees += actual_fee,
				RuntimeEvent::Balances(pallet_balances::Event::DustLost { amount, .. }) => {
					dust += amount
				},
				RuntimeEvent::Verification(pallet_verification::Event::ReplicaRevealed {
					..
				}) => self.report.revealed += 1,
				RuntimeEvent::Market(pallet_market::Event::JobSettled { .. }) => {
					self.report.settled += 1
				},
				RuntimeEvent::Slashing(pallet_slashing::Event::OffenceReported { .. }) => {
					self.report.slashes_reported += 1
				},
				RuntimeEvent::Slashing(pallet_slashing::Event::SlashApplied { .. }) => {
					self.report.slashes_applied += 1
				},
				_ => {},
			}
		}
		let expected = self.issuance_at_open - fees - self.burnt - dust;
		assert_eq!(
			issuance, expected,
			"block {number}: issuance {issuance}, expected {expected} (at open {}, fees {fees}, \
			 burnt {}, dust {dust})",
			self.issuance_at_open, self.burnt
		);

		let used = frame_system::BlockWeight::<Runtime>::get().total();
		let max = RuntimeBlockWeights::get().max_block;
		assert!(used.all_lte(max), "block {number}: weight {used} over the block's {max}");
	}

	/// Checks a dispatch's weight against what the call declared before it.
	fn check_weight(&self, call: &RuntimeCall, declared: Weight, post: &PostDispatchInfo) {
		if let Some(actual) = post.actual_weight {
			assert!(
				actual.all_lte(declared),
				"block {}: {call:?} declared {declared} and used {actual}",
				self.number
			);
		}
	}

	/// Moves past every deadline and checks that nothing stays locked: every job ends, every
	/// pending slash is applied, every ended job can be reaped.
	///
	/// Each step jumps to the latest block the state itself names (a job's deadline, a slash's
	/// `apply_at`, a record's end of retention), not to the runtime's bounds (`MaxJobDuration`
	/// is a week): the hooks' cursors walk every block of a jump, and a week of them would make
	/// every input cost seconds.
	fn drain(&mut self) {
		let retention =
			<<Runtime as pallet_market::Config>::RecordRetention as frame_support::traits::Get<
				u32,
			>>::get();
		// Past every live job's deadline, then a few blocks for the hook to catch up and for
		// the rounds a deadline starts.
		let last_deadline = pallet_market::Jobs::<Runtime>::iter_values()
			.filter(|job| !job.phase.is_final())
			.map(|job| job.deadline)
			.max();
		self.open_block(self.jump_to(last_deadline));
		// A jump is one block standing for many, so a hook whose cursor walks a bounded number
		// of blocks per block (the market's deadlines, the slashing queue) may need a few more
		// blocks to catch up than the chain would; up to CATCH_UP_BLOCKS are allowed.
		let all_ended =
			|| pallet_market::Jobs::<Runtime>::iter_values().all(|j| j.phase.is_final());
		self.next_blocks_until(8, all_ended);
		for (id, job) in pallet_market::Jobs::<Runtime>::iter() {
			assert!(
				job.phase.is_final(),
				"block {}: job {id} did not end by its deadline {}: {:?} (deadline cursor {:?})",
				self.number,
				job.deadline,
				job.phase,
				pallet_market::DeadlineCursor::<Runtime>::get()
			);
		}
		let last_apply =
			pallet_slashing::PendingSlashes::<Runtime>::iter_values().map(|s| s.apply_at).max();
		self.next_block(self.jump_to(last_apply));
		let none_pending =
			|| pallet_slashing::PendingSlashes::<Runtime>::iter_keys().next().is_none();
		self.next_blocks_until(4, none_pending);
		if let Some((id, slash)) = pallet_slashing::PendingSlashes::<Runtime>::iter().next() {
			panic!(
				"block {}: slash {id} still pending after its deferral (apply_at {}, queue cursor {:?})",
				self.number,
				slash.apply_at,
				pallet_slashing::QueueCursor::<Runtime>::get()
			);
		}
		let last_reapable = pallet_market::Jobs::<Runtime>::iter_values()
			.filter_map(|job| job.ended_at)
			.map(|ended| ended + retention)
			.max();
		self.next_block(self.jump_to(last_reapable));
		let jobs: Vec<JobId> = pallet_market::Jobs::<Runtime>::iter_keys().collect();
		for job in jobs {
			// Anyone may reap; the first key that can pay the (refunded) fee does.
			let call = RuntimeCall::Market(pallet_market::Call::reap_job { job });
			let outcome = (0..keys().pairs.len())
				.map(|signer| self.signed(signer, call.clone()))
				.find(|o| !matches!(o, Outcome::Invalid(_)));
			assert!(
				matches!(outcome, Some(Outcome::Done)),
				"job {job} could not be reaped: {outcome:?}"
			);
		}
		self.close_block();
		for (who, holds) in pallet_balances::Holds::<Runtime>::iter() {
			for hold in holds {
				assert!(
					!matches!(
						hold.id,
						stratus_runtime::RuntimeHoldReason::Market(
							pallet_market::HoldReason::JobEscrow
								| pallet_market::HoldReason::JobDeposit
						)
					),
					"{who} still has {} held for jobs after every job was reaped",
					hold.amount
				);
			}
		}
	}

	/// Ends blocks one at a time: at least `min`, then until `done` holds, at most
	/// [`CATCH_UP_BLOCKS`] in all.
	fn next_blocks_until(&mut self, min: u32, done: impl Fn() -> bool) {
		for n in 0..CATCH_UP_BLOCKS {
			if n >= min && done() {
				return;
			}
			self.next_block(1);
		}
	}

	/// Commits `result` and `units` for a replica, keeping the secret for its reveal.
	fn commit(
		&mut self,
		signer: usize,
		(job, replica, provider): (JobId, ReplicaIndex, &AccountId),
		result: u8,
		units: u16,
	) {
		self.salts += 1;
		let salt = sp_io::hashing::blake2_256(&self.salts.to_le_bytes());
		let secret = Secret { digest: digest_of(result), units: u64::from(units) * 100, salt };
		let commitment = stratus_primitives::commitment(
			&Verification::genesis_hash(),
			job,
			replica,
			provider,
			secret.units,
			&secret.digest,
			&secret.salt,
		);
		let call = pallet_verification::Call::commit { job, replica, commitment };
		if matches!(self.signed(signer, RuntimeCall::Verification(call)), Outcome::Done) {
			self.secrets.insert((job, replica), secret);
		}
	}

	/// Reveals what the harness committed for a replica, `tamper`ed as asked (or, when it
	/// committed nothing, a reveal that must be refused).
	fn reveal(&mut self, signer: usize, (job, replica): (JobId, ReplicaIndex), tamper: Tamper) {
		let Some(secret) = self.secrets.get(&(job, replica)).copied() else {
			let call = pallet_verification::Call::reveal {
				job,
				replica,
				digest: digest_of(0),
				units: 1,
				salt: [0; 32],
			};
			self.signed(signer, RuntimeCall::Verification(call));
			return;
		};
		let (mut digest, mut units, mut salt) = (secret.digest, secret.units, secret.salt);
		match tamper {
			Tamper::None => {},
			Tamper::Units(u) => units = u64::from(u) * 1000,
			Tamper::Digest => digest = digest_of(1 + secret.digest.0[0] % 2),
			Tamper::Salt => salt[0] ^= 1,
		}
		let call = pallet_verification::Call::reveal { job, replica, digest, units, salt };
		self.signed(signer, RuntimeCall::Verification(call));
	}

	/// The next honest step of the `pick`th replica still in progress, by its worker.
	fn work(&mut self, pick: u8, result: u8, units: u16) {
		let mut live = Vec::new();
		for job in self.jobs() {
			let Some(j) = pallet_market::Jobs::<Runtime>::get(job) else { continue };
			let revealing = matches!(j.phase, JobPhase::Revealing { .. });
			for r in j.replicas.iter() {
				let step = match r.state {
					ReplicaState::Assigned => 0,
					ReplicaState::Acknowledged if !revealing => 1,
					ReplicaState::Committed if revealing => 2,
					_ => continue,
				};
				live.push((job, r.index, r.provider.clone(), step));
			}
		}
		let Some((job, replica, provider, step)) =
			live.get(usize::from(pick) % live.len().max(1)).cloned()
		else {
			return;
		};
		let signer = self.signer_for(Some(&provider), By::Worker);
		match step {
			0 => {
				self.signed(
					signer,
					RuntimeCall::Market(pallet_market::Call::acknowledge { job, replica }),
				);
			},
			1 => self.commit(signer, (job, replica, &provider), result, units),
			_ => self.reveal(signer, (job, replica), Tamper::None),
		}
	}

	/// How far the next block must jump to be past `block` (at least one block).
	fn jump_to(&self, block: Option<u32>) -> u32 {
		block.map_or(1, |block| (block + 1).saturating_sub(self.number).max(1))
	}

	// ---- extrinsics ----

	/// Signs `call` with key `signer` and applies it as `frame-executive` would.
	fn signed(&mut self, signer: usize, call: RuntimeCall) -> Outcome {
		let keys = keys();
		let signer = signer % keys.pairs.len();
		let who = keys.accounts[signer].clone();
		let nonce = System::account_nonce(&who);
		let extension = stratus_runtime::tx_extension(nonce, Era::Immortal, 0);
		let payload = SignedPayload::new(call.clone(), extension.clone()).expect("payload");
		let signature = payload.using_encoded(|bytes| keys.pairs[signer].sign(bytes));
		let xt = UncheckedExtrinsic::new_signed(
			call.clone(),
			who.into(),
			MultiSignature::Sr25519(signature),
			extension,
		);
		self.apply(call, xt)
	}

	fn apply(&mut self, call: RuntimeCall, xt: UncheckedExtrinsic) -> Outcome {
		let encoded = xt.encode();
		let len = encoded.len();
		let checked = match xt.check(&frame_system::ChainContext::<Runtime>::default()) {
			Ok(checked) => checked,
			Err(e) => {
				self.report.invalid += 1;
				return Outcome::Invalid(format!("{e:?}"));
			},
		};
		let info: DispatchInfo = checked.get_dispatch_info();
		// Applied in a storage transaction, as the block builder does: a transaction refused
		// before dispatch leaves nothing (not even its `note_extrinsic`).
		sp_io::storage::start_transaction();
		System::note_extrinsic(encoded);
		let result = Applyable::apply::<Runtime>(checked, &info, len);
		let result = match result {
			Ok(result) => {
				sp_io::storage::commit_transaction();
				result
			},
			Err(e) => {
				sp_io::storage::rollback_transaction();
				self.report.invalid += 1;
				return Outcome::Invalid(format!("{e:?}"));
			},
		};
		let post = match &result {
			Ok(post) => *post,
			Err(e) => e.post_info,
		};
		self.check_weight(&call, info.total_weight(), &post);
		System::note_applied_extrinsic(&result, info);
		self.report.extrinsics += 1;
		let outcome = match result {
			Ok(_) => {
				self.report.succeeded += 1;
				Outcome::Done
			},
			Err(e) => Outcome::Failed(e.error),
		};
		if tracing() {
			eprintln!("  block {}: {call:?}: {outcome:?}", self.number);
		}
		outcome
	}

	/// Dispatches `call` from Root, as a governance origin would.
	fn root(&mut self, call: RuntimeCall) {
		let declared = call.get_dispatch_info().call_weight;
		let result = call.clone().dispatch_bypass_filter(RuntimeOrigin::root());
		let post = match &result {
			Ok(post) => *post,
			Err(e) => e.post_info,
		};
		self.check_weight(&call, declared, &post);
		self.report.root_calls += 1;
	}

	// ---- what exists now ----

	fn jobs(&self) -> Vec<JobId> {
		let mut jobs: Vec<JobId> = pallet_market::Jobs::<Runtime>::iter_keys().collect();
		jobs.sort_unstable();
		jobs
	}

	fn pick_job(&self, pick: u8) -> JobId {
		let jobs = self.jobs();
		// An id that does not exist (or no longer does) when there is none: the call is refused.
		jobs.get(usize::from(pick) % jobs.len().max(1)).copied().unwrap_or(u64::from(pick))
	}

	/// (job, replica, provider) of every replica of every job, in a stable order.
	fn replicas(&self) -> Vec<(JobId, ReplicaIndex, AccountId)> {
		let mut out = Vec::new();
		for job in self.jobs() {
			if let Some(j) = pallet_market::Jobs::<Runtime>::get(job) {
				for r in j.replicas.iter() {
					out.push((job, r.index, r.provider.clone()));
				}
			}
		}
		out
	}

	fn pick_replica(&self, pick: u8) -> Option<(JobId, ReplicaIndex, AccountId)> {
		let replicas = self.replicas();
		if replicas.is_empty() {
			return None;
		}
		Some(replicas[usize::from(pick) % replicas.len()].clone())
	}

	fn pick_offer(&self, pick: u8) -> (OfferId, Option<AccountId>) {
		let mut offers: Vec<(OfferId, AccountId)> =
			pallet_market::Offers::<Runtime>::iter().map(|(id, o)| (id, o.provider)).collect();
		offers.sort_unstable_by_key(|(id, _)| *id);
		match offers.get(usize::from(pick) % offers.len().max(1)) {
			Some((id, provider)) => (*id, Some(provider.clone())),
			None => (u64::from(pick), None),
		}
	}

	/// The key that signs for `provider` as `by` says.
	fn signer_for(&self, provider: Option<&AccountId>, by: By) -> usize {
		let keys = keys();
		let Some(provider) = provider else {
			return match by {
				By::Other(i) => usize::from(i),
				_ => 0,
			};
		};
		match by {
			By::Provider => keys.index_of(provider).unwrap_or(0),
			By::Worker => pallet_provider_staking::Providers::<Runtime>::get(provider)
				.and_then(|p| keys.index_of(&p.worker))
				.unwrap_or(0),
			By::Other(i) => usize::from(i),
		}
	}

	fn account(&self, i: u8) -> AccountId {
		let keys = keys();
		match usize::from(i) % (keys.accounts.len() + 1) {
			n if n == keys.accounts.len() => FeeAccount::get(),
			n => keys.accounts[n].clone(),
		}
	}

	fn worker_proof(
		&self,
		operator: &AccountId,
		worker: usize,
		proof: Proof,
	) -> Option<MultiSignature> {
		let keys = keys();
		let genesis = Verification::genesis_hash();
		let sign = |key: usize, operator: &AccountId| {
			let payload = stratus_primitives::worker_key_payload(operator, &genesis);
			MultiSignature::Sr25519(keys.pairs[key % keys.pairs.len()].sign(&payload))
		};
		match proof {
			Proof::Valid => Some(sign(worker, operator)),
			Proof::Missing => None,
			Proof::WrongSigner => Some(sign(worker + 1, operator)),
			Proof::WrongPayload => Some(sign(worker, &keys.accounts[0])),
		}
	}

	// ---- actions ----

	fn act(&mut self, action: &Action) {
		if tracing() {
			eprintln!("block {}: {action:?}", self.number);
		}
		use pallet_market::Call as M;
		use pallet_provider_staking::Call as S;
		let keys = keys();
		match action.clone() {
			Action::Blocks(n) => {
				for _ in 0..=(n % 4) {
					self.next_block(1);
				}
			},
			Action::Jump(n) => self.next_block(1 + u32::from(n % MAX_JUMP)),

			Action::RegisterProgram { who, cuda, len } => {
				let kind = if cuda { JobKind::Cuda } else { JobKind::Wasm };
				// Distinct code per (signer, length), so a program can be registered twice only
				// on purpose.
				let mut code = vec![0u8; usize::from(len % 2048)];
				code.extend_from_slice(&[who, len as u8]);
				self.signed(
					usize::from(who),
					RuntimeCall::Market(M::register_program { kind, code }),
				);
			},
			Action::RemoveProgram { who, pick } => {
				let mut programs: Vec<H256> =
					pallet_market::Programs::<Runtime>::iter_keys().collect();
				programs.sort_unstable();
				let program = programs
					.get(usize::from(pick) % programs.len().max(1))
					.copied()
					.unwrap_or_default();
				self.signed(usize::from(who), RuntimeCall::Market(M::remove_program { program }));
			},
			Action::PostOffer { who, by_worker, gpu, price, slots, expires_in } => {
				let operator = self.account(who);
				let signer = self
					.signer_for(Some(&operator), if by_worker { By::Worker } else { By::Provider });
				let class = gpu.map_or(ResourceClass::Cpu, |g| ResourceClass::Gpu(g % 2));
				let call = M::post_offer {
					class,
					price: Balance::from(price) * 100,
					slots: u32::from(slots % 72),
					expires_at: self.number + u32::from(expires_in),
				};
				self.signed(signer, RuntimeCall::Market(call));
			},
			Action::UpdateOffer { pick, by, price, slots, expires_in } => {
				let (offer, provider) = self.pick_offer(pick);
				let signer = self.signer_for(provider.as_ref(), by);
				let call = M::update_offer {
					offer,
					price: Balance::from(price) * 100,
					slots: u32::from(slots % 72),
					expires_at: self.number + u32::from(expires_in),
				};
				self.signed(signer, RuntimeCall::Market(call));
			},
			Action::CancelOffer { pick, by } => {
				let (offer, provider) = self.pick_offer(pick);
				let signer = self.signer_for(provider.as_ref(), by);
				self.signed(signer, RuntimeCall::Market(M::cancel_offer { offer }));
			},
			Action::ReapOffer { pick, who } => {
				let (offer, _) = self.pick_offer(pick);
				self.signed(usize::from(who), RuntimeCall::Market(M::reap_offer { offer }));
			},
			Action::SubmitJob {
				who,
				program,
				input,
				policy,
				max_price,
				max_units,
				commit_window,
				deadline_in,
				max_output_kib,
				regions,
				min_stake,
				min_reputation,
				min_cpu_cores,
				gpu,
			} => {
				let mut programs: Vec<H256> =
					pallet_market::Programs::<Runtime>::iter_keys().collect();
				programs.sort_unstable();
				// One pick in eight names a program nobody registered.
				let program = match programs.get(usize::from(program) % (programs.len() + 1)) {
					Some(p) if program % 8 != 7 => *p,
					_ => H256::repeat_byte(program),
				};
				let input = match input {
					Input::Inline(len) => InputSpec::Inline(vec![7; usize::from(len) * 2]),
					Input::Remote { url_len, size } => InputSpec::Remote {
						url: vec![b'u'; usize::from(url_len % 1024)],
						hash: H256::repeat_byte(1),
						size,
					},
				};
				let mut requirements = RequirementsSpec::<Balance>::default();
				match regions % 4 {
					1 => requirements.regions_allowed = vec![REGIONS[usize::from(regions / 4) % 4]],
					2 => requirements.regions_denied = vec![REGIONS[usize::from(regions / 4) % 4]],
					_ => {},
				}
				requirements.min_stake = Balance::from(min_stake) * 10 * UNIT;
				requirements.min_reputation =
					Perbill::from_percent(u32::from(min_reputation % 101));
				requirements.min_cpu_cores = u16::from(min_cpu_cores % 80);
				if gpu {
					requirements.min_vram_mib = 80_000;
				}
				let policy = match policy {
					Policy::Unverified => VerificationPolicy::Unverified,
					Policy::Replicated(n) => VerificationPolicy::Replicated(n % 8),
					Policy::Adaptive => VerificationPolicy::Adaptive,
				};
				let spec = JobSpec {
					program,
					input,
					requirements,
					max_price: Balance::from(max_price) * 100,
					max_units: u64::from(max_units) * 100,
					policy,
					commit_window: u32::from(commit_window % 48),
					deadline: self.number + u32::from(deadline_in % MAX_JUMP),
					max_output_bytes: u32::from(max_output_kib) * 1024,
				};
				self.signed(usize::from(who), RuntimeCall::Market(M::submit_job { spec }));
			},
			Action::CancelJob { pick, who } => {
				let job = self.pick_job(pick);
				// By default its requester.
				let signer = match who {
					Some(i) => usize::from(i),
					None => pallet_market::Jobs::<Runtime>::get(job)
						.and_then(|j| keys.index_of(&j.requester))
						.unwrap_or(0),
				};
				self.signed(signer, RuntimeCall::Market(M::cancel_job { job }));
			},
			Action::Acknowledge { pick, by } => {
				if let Some((job, replica, provider)) = self.pick_replica(pick) {
					let signer = self.signer_for(Some(&provider), by);
					self.signed(signer, RuntimeCall::Market(M::acknowledge { job, replica }));
				}
			},
			Action::Decline { pick, by } => {
				if let Some((job, replica, provider)) = self.pick_replica(pick) {
					let signer = self.signer_for(Some(&provider), by);
					self.signed(signer, RuntimeCall::Market(M::decline { job, replica }));
				}
			},
			Action::EndOverdue { pick, who } => {
				let job = self.pick_job(pick);
				self.signed(usize::from(who), RuntimeCall::Market(M::end_overdue { job }));
			},
			Action::ReapJob { pick, who } => {
				let job = self.pick_job(pick);
				self.signed(usize::from(who), RuntimeCall::Market(M::reap_job { job }));
			},

			Action::Commit { pick, by, result, units } => {
				let Some((job, replica, provider)) = self.pick_replica(pick) else { return };
				let signer = self.signer_for(Some(&provider), by);
				self.commit(signer, (job, replica, &provider), result, units);
			},
			Action::CommitOther { pick, by, copy_from, bytes } => {
				let Some((job, replica, provider)) = self.pick_replica(pick) else { return };
				let signer = self.signer_for(Some(&provider), by);
				let commitment = match copy_from {
					Some(from) => {
						let theirs: Vec<H256> =
							pallet_verification::Commitments::<Runtime>::iter_prefix_values(job)
								.collect();
						theirs
							.get(usize::from(from) % theirs.len().max(1))
							.copied()
							.unwrap_or_default()
					},
					None => sp_runtime::traits::BlakeTwo256::hash(&bytes),
				};
				let call = pallet_verification::Call::commit { job, replica, commitment };
				self.signed(signer, RuntimeCall::Verification(call));
			},
			Action::Reveal { pick, by, tamper } => {
				let Some((job, replica, provider)) = self.pick_replica(pick) else { return };
				let signer = self.signer_for(Some(&provider), by);
				self.reveal(signer, (job, replica), tamper);
			},
			Action::Work { pick, result, units } => self.work(pick, result, units),

			Action::Register { who, worker, proof, stake, profile: p } => {
				let operator = self.account(who);
				let (worker_key, worker_account) = match worker {
					Some(w) => {
						let k = DEV_KEYS.len() + usize::from(w) % WORKER_KEYS;
						(k, keys.accounts[k].clone())
					},
					None => (keys.index_of(&operator).unwrap_or(0), operator.clone()),
				};
				let proof = match worker {
					Some(_) => self.worker_proof(&operator, worker_key, proof),
					None => None,
				};
				let call = S::register {
					worker: worker_account,
					profile: profile(&p),
					stake: Balance::from(stake) * UNIT,
					proof,
				};
				let signer = keys.index_of(&operator).unwrap_or(usize::from(who));
				self.signed(signer, RuntimeCall::ProviderStaking(call));
			},
			Action::BondExtra { who, amount } => {
				let call = S::bond_extra { amount: Balance::from(amount) * UNIT };
				self.signed(usize::from(who), RuntimeCall::ProviderStaking(call));
			},
			Action::Unbond { who, amount } => {
				let call = S::unbond { amount: Balance::from(amount) * UNIT };
				self.signed(usize::from(who), RuntimeCall::ProviderStaking(call));
			},
			Action::WithdrawUnbonded { who } => {
				self.signed(
					usize::from(who),
					RuntimeCall::ProviderStaking(S::withdraw_unbonded {}),
				);
			},
			Action::RotateWorkerKey { who, worker, proof } => {
				let operator = self.account(who);
				let (worker_key, new_worker) = match worker {
					Some(w) => {
						let k = DEV_KEYS.len() + usize::from(w) % WORKER_KEYS;
						(k, keys.accounts[k].clone())
					},
					None => (keys.index_of(&operator).unwrap_or(0), operator.clone()),
				};
				let proof = match worker {
					Some(_) => self.worker_proof(&operator, worker_key, proof),
					None => None,
				};
				let signer = keys.index_of(&operator).unwrap_or(usize::from(who));
				let call = S::rotate_worker_key { new_worker, proof };
				self.signed(signer, RuntimeCall::ProviderStaking(call));
			},
			Action::UpdateProfile { who, profile: p } => {
				let call = S::update_profile { profile: profile(&p) };
				self.signed(usize::from(who), RuntimeCall::ProviderStaking(call));
			},
			Action::Deregister { who } => {
				self.signed(usize::from(who), RuntimeCall::ProviderStaking(S::deregister {}));
			},

			Action::Transfer { from, to, amount, keep_alive } => {
				let dest = self.account(to).into();
				let value = Balance::from(amount);
				let call = if keep_alive {
					pallet_balances::Call::transfer_keep_alive { dest, value }
				} else {
					pallet_balances::Call::transfer_allow_death { dest, value }
				};
				self.signed(usize::from(from), RuntimeCall::Balances(call));
			},
			Action::TransferAll { from, to, keep_alive } => {
				let call = pallet_balances::Call::transfer_all {
					dest: self.account(to).into(),
					keep_alive,
				};
				self.signed(usize::from(from), RuntimeCall::Balances(call));
			},
			Action::Burn { who, amount, keep_alive } => {
				let value = Balance::from(amount);
				let call = pallet_balances::Call::burn { value, keep_alive };
				if matches!(
					self.signed(usize::from(who), RuntimeCall::Balances(call)),
					Outcome::Done
				) {
					self.burnt += value;
				}
			},

			Action::CancelSlash { pick, signed_by } => {
				let mut ids: Vec<u64> =
					pallet_slashing::PendingSlashes::<Runtime>::iter_keys().collect();
				ids.sort_unstable();
				let id = ids
					.get(usize::from(pick) % ids.len().max(1))
					.copied()
					.unwrap_or(u64::from(pick));
				let call = RuntimeCall::Slashing(pallet_slashing::Call::cancel_slash { id });
				match signed_by {
					Some(who) => self.refused(usize::from(who), call),
					None => self.root(call),
				}
			},
			Action::SetSlashParams {
				fractions,
				defer,
				requester_share,
				honest_share,
				signed_by,
			} => {
				let part = |b: u8| Perbill::from_percent(u32::from(b % 101));
				let params = pallet_slashing::SlashParams {
					missed_ack: part(fractions[0]),
					missed_commit: part(fractions[1]),
					missed_reveal: part(fractions[2]),
					wrong_result: part(fractions[3]),
					defer_period: u32::from(defer),
					requester_share: part(requester_share),
					honest_share: part(honest_share),
				};
				let call = RuntimeCall::Slashing(pallet_slashing::Call::set_params { params });
				match signed_by {
					Some(who) => self.refused(usize::from(who), call),
					None => self.root(call),
				}
			},

			Action::Raw { who, call } => {
				use codec::DecodeLimit;
				let Ok(call) = RuntimeCall::decode_with_depth_limit(MAX_CALL_DEPTH, &mut &call[..])
				else {
					return;
				};
				// Sudo would make the dev sudo key (Alice) Root; governance calls are the root
				// actions above.
				if matches!(call, RuntimeCall::Sudo(_)) {
					return;
				}
				let burn = match &call {
					RuntimeCall::Balances(pallet_balances::Call::burn { value, .. }) => *value,
					_ => 0,
				};
				if matches!(self.signed(usize::from(who), call), Outcome::Done) {
					self.burnt += burn;
				}
			},
		}
	}

	/// Applies a call only a governance origin may make, signed by an account: it must fail,
	/// and change nothing but the signer's fee and nonce.
	fn refused(&mut self, signer: usize, call: RuntimeCall) {
		let outcome = self.signed(signer, call.clone());
		assert!(
			matches!(outcome, Outcome::Failed(DispatchError::BadOrigin) | Outcome::Invalid(_)),
			"block {}: {call:?} signed by key {signer} was not refused: {outcome:?}",
			self.number
		);
	}
}

/// The longest jump, and the furthest deadline, an input asks for: longer than every window of
/// a job's rounds, and short enough that the hooks' cursors walk a jump in milliseconds.
const MAX_JUMP: u16 = 4096;

/// The nesting limit `frame-executive` decodes extrinsics with (`MAX_EXTRINSIC_DEPTH`).
const MAX_CALL_DEPTH: u32 = 256;

#[derive(Debug)]
pub enum Outcome {
	Done,
	Failed(DispatchError),
	/// Refused before dispatch; the reason is read through `Debug`, in failed checks' messages.
	Invalid(#[allow(dead_code)] String),
}

/// The set-up every input starts from, built once per process: the `development` genesis, the
/// worker keys funded, three providers registered with worker keys and CPU offers (one with a
/// GPU and a GPU offer), a WASM and a CUDA program.
fn start() -> &'static Start {
	static START: OnceLock<Start> = OnceLock::new();
	START.get_or_init(|| {
		let genesis = stratus_runtime::genesis_config_presets::preset_config("development")
			.expect("the development preset exists")
			.build_storage()
			.expect("the development genesis builds");
		let mut ext = sp_io::TestExternalities::new(genesis);
		ext.execute_with(|| {
			let genesis_hash = frame_system::BlockHash::<Runtime>::get(0);
			let mut driver = Driver::at(&Start {
				storage: Storage::default(),
				number: 0,
				slot: 1_000,
				parent: genesis_hash,
			});
			driver.open_block(1);
			let keys = keys();
			let done = |o: Outcome| assert!(matches!(o, Outcome::Done), "set-up failed: {o:?}");
			for w in 0..WORKER_KEYS {
				let dest = keys.accounts[DEV_KEYS.len() + w].clone().into();
				let call = pallet_balances::Call::transfer_keep_alive { dest, value: WORKER_FUNDS };
				done(driver.signed(0, RuntimeCall::Balances(call)));
			}
			for (i, (operator, worker)) in SETUP_PROVIDERS.into_iter().enumerate() {
				let account = keys.accounts[operator].clone();
				let proof = driver.worker_proof(&account, worker, Proof::Valid);
				let p = Profile { gpu: i == 2, region: i as u8, cpu_cores: 16, memory_gib: 32 };
				let call = pallet_provider_staking::Call::register {
					worker: keys.accounts[worker].clone(),
					profile: profile(&p),
					stake: SETUP_STAKE,
					proof,
				};
				done(driver.signed(operator, RuntimeCall::ProviderStaking(call)));
				let offer = pallet_market::Call::post_offer {
					class: ResourceClass::Cpu,
					price: 1_000 + 100 * i as Balance,
					slots: 8,
					expires_at: 1_000_000,
				};
				done(driver.signed(worker, RuntimeCall::Market(offer)));
			}
			let gpu_offer = pallet_market::Call::post_offer {
				class: ResourceClass::Gpu(0),
				price: 5_000,
				slots: 2,
				expires_at: 1_000_000,
			};
			done(driver.signed(SETUP_PROVIDERS[2].1, RuntimeCall::Market(gpu_offer)));
			for kind in [JobKind::Wasm, JobKind::Cuda] {
				let mut code = match kind {
					JobKind::Wasm => b"\0asm\x01\0\0\0".to_vec(),
					_ => Vec::new(),
				};
				code.extend_from_slice(format!("stratus fuzz {kind:?} program").as_bytes());
				let call = pallet_market::Call::register_program { kind, code };
				done(driver.signed(0, RuntimeCall::Market(call)));
			}
			driver.close_block();
			Start {
				storage: snapshot(),
				number: driver.number,
				slot: driver.slot,
				parent: driver.parent,
			}
		})
	})
}

/// Every key and value of the state (this runtime has no child tries).
fn snapshot() -> Storage {
	let mut storage = Storage::default();
	let mut key = Vec::new();
	while let Some(next) = sp_io::storage::next_key(&key) {
		let value = sp_io::storage::get(&next).expect("a key next_key returned has a value");
		storage.top.insert(next.clone(), value.to_vec());
		key = next;
	}
	storage
}

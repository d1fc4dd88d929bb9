//! The cheating simulation (`scripts/sim-trust`): the real Stratus runtime, run natively block by
//! block, with 200 providers of which a share cheat, and thousands of jobs under each
//! verification policy. It prints, per policy and strategy, what the market accepted and paid,
//! what cheating earned after slashes, whether an honest provider was ever slashed, how many
//! replicas ran per job, and whether money was conserved. A benchmark, not a test: it asserts
//! nothing, it measures (`docs/performance.md` records its figures).
//!
//! Everything is the runtime's own — pallets, constants, slash amounts, reputation rules,
//! randomness (the parent block's hash, here a fresh unpredictable hash per block) — except the
//! slash deferral, shortened so that slashes land within the run.
//!
//! Usage: `sim_trust [jobs per policy] [seed]` (defaults 10000 and 1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
#![allow(clippy::print_stdout, clippy::cast_possible_truncation, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use codec::Encode;
use frame_support::{
	dispatch::RawOrigin,
	traits::{fungible::Inspect, OnInitialize},
};
use pallet_market::{InputSpec, JobPhase, JobSpec, ReplicaState, RequirementsSpec};
use sp_core::H256;
use sp_runtime::{traits::Dispatchable, AccountId32, BuildStorage};
use stratus_primitives::{
	CapabilityProfile, JobId, JobKind, ReputationProvider, ResourceClass, VerificationPolicy,
};
use stratus_runtime::{
	AccountId, AllPalletsWithSystem, Balance, Runtime, RuntimeCall, RuntimeEvent, RuntimeOrigin,
	System, UNIT,
};

/// How a provider behaves.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Strategy {
	/// Computes every job and meets every deadline.
	Honest,
	/// Commits a wrong digest for every job.
	AlwaysWrong,
	/// Honest until it is trusted to run jobs alone, then wrong while it stays trusted.
	WrongWhenTrusted,
	/// Never computes: submits a co-replica's commitment when there is one (refused), copies a
	/// public digest when there is one (a referee), and otherwise lets the commit deadline pass.
	Copying,
	/// Claims the job ran out of units: commits the constant failure digest at `max_units`.
	ConstantFailure,
	/// Acknowledges and never commits.
	AckNeverCommit,
	/// A sybil ring holding 20% of all stake: lies (all members the same wrong digest) whenever
	/// its members hold every replica of the round; otherwise honest.
	Ring,
}

const STRATEGIES: [Strategy; 7] = [
	Strategy::Honest,
	Strategy::AlwaysWrong,
	Strategy::WrongWhenTrusted,
	Strategy::Copying,
	Strategy::ConstantFailure,
	Strategy::AckNeverCommit,
	Strategy::Ring,
];

const PROVIDERS: u32 = 200;
const SLOTS: u32 = 4;
const UNITS: u64 = 1_000;
const MAX_UNITS: u64 = 2_000;
const MICRO: Balance = UNIT / 1_000_000;
/// Jobs posted per block while the run lasts.
const JOBS_PER_BLOCK: u32 = 16;
/// Blocks from a slash's report to its application in this run (the runtime's is a day).
const DEFER: u32 = 200;

fn account(n: u32) -> AccountId {
	let mut raw = [0u8; 32];
	raw[..4].copy_from_slice(&n.to_le_bytes());
	raw[4] = 0x5a;
	AccountId32::new(raw)
}

fn provider(i: u32) -> AccountId {
	account(1_000 + i)
}

fn requester(i: u32) -> AccountId {
	account(10 + i)
}

/// A small deterministic generator (splitmix64), so that a run is repeatable from its seed.
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
		let mut z = self.0;
		z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
		z ^ (z >> 31)
	}

	fn below(&mut self, n: u64) -> u64 {
		self.next() % n.max(1)
	}
}

fn correct(job: JobId) -> H256 {
	H256(sp_io::hashing::blake2_256(&(b"right", job).encode()))
}

fn wrong(job: JobId, who: &AccountId) -> H256 {
	H256(sp_io::hashing::blake2_256(&(b"wrong", job, who).encode()))
}

fn ring_lie(job: JobId) -> H256 {
	H256(sp_io::hashing::blake2_256(&(b"ring", job).encode()))
}

fn out_of_units() -> H256 {
	H256(sp_io::hashing::blake2_256(&stratus_primitives::failure_output("out_of_units")))
}

fn dispatch(who: &AccountId, call: RuntimeCall) -> bool {
	call.dispatch(RuntimeOrigin::signed(who.clone())).is_ok()
}

#[derive(Default, Clone)]
struct Tally {
	/// Jobs that ended, by phase.
	settled: u64,
	disputed: u64,
	expired: u64,
	/// Settled on a wrong result.
	wrong_accepted: u64,
	/// Of those, with the ring holding every replica the verdict counted.
	wrong_by_ring_alone: u64,
	/// Jobs where the ring held every replica that gave a result.
	ring_held_all: u64,
	/// Replicas acknowledged (run), over all jobs.
	replicas_run: u64,
	/// Referee rounds called.
	referee_rounds: u64,
	/// Spot-checks decided, and how many checked.
	spot_decided: u64,
	spot_checked: u64,
}

struct Sim {
	rng: Rng,
	strategy: BTreeMap<AccountId, Strategy>,
	program: H256,
	in_flight: BTreeSet<JobId>,
	acked: BTreeSet<(JobId, u8)>,
	salts: BTreeMap<(JobId, u8), (H256, u64, [u8; 32])>,
	tally: Tally,
	slashed: BTreeMap<AccountId, Balance>,
	slashes_on_honest: u64,
	/// Offences of honest providers, by kind.
	honest_offences: BTreeMap<String, u64>,
	/// The jobs those offences were in.
	honest_offence_jobs: Vec<JobId>,
}

fn strategy_of(i: u32, cheaters: u32) -> Strategy {
	// The ring: 10 providers holding a fifth of all stake. The other cheaters split evenly over
	// the five other strategies.
	if i < 10 {
		return Strategy::Ring;
	}
	let others = cheaters.saturating_sub(10);
	let j = i - 10;
	if j >= others {
		return Strategy::Honest;
	}
	[
		Strategy::AlwaysWrong,
		Strategy::WrongWhenTrusted,
		Strategy::Copying,
		Strategy::ConstantFailure,
		Strategy::AckNeverCommit,
	][(j % 5) as usize]
}

impl Sim {
	fn new(seed: u64, cheaters: u32) -> (Self, sp_io::TestExternalities) {
		let mut balances: Vec<(AccountId, Balance)> =
			(0..PROVIDERS).map(|i| (provider(i), 10_000 * UNIT)).collect();
		balances.extend((0..8).map(|i| (requester(i), 1_000_000 * UNIT)));
		// As the genesis presets do: the fee account exists, so fees below the existential
		// deposit are not lost.
		balances.push((
			stratus_runtime::configs::FeeAccount::get(),
			stratus_runtime::EXISTENTIAL_DEPOSIT,
		));
		let storage = stratus_runtime::RuntimeGenesisConfig {
			balances: pallet_balances::GenesisConfig { balances, ..Default::default() },
			..Default::default()
		}
		.build_storage()
		.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		let mut sim = Sim {
			rng: Rng(seed),
			strategy: BTreeMap::new(),
			program: H256::zero(),
			in_flight: BTreeSet::new(),
			acked: BTreeSet::new(),
			salts: BTreeMap::new(),
			tally: Tally::default(),
			slashed: BTreeMap::new(),
			slashes_on_honest: 0,
			honest_offences: BTreeMap::new(),
			honest_offence_jobs: Vec::new(),
		};
		ext.execute_with(|| sim.set_up(cheaters));
		(sim, ext)
	}

	fn set_up(&mut self, cheaters: u32) {
		self.next_block();
		let mut params = pallet_slashing::Pallet::<Runtime>::params();
		params.defer_period = DEFER;
		pallet_slashing::Pallet::<Runtime>::set_params(RawOrigin::Root.into(), params).unwrap();
		// Honest stake: 4 slots × 10 STRAT. The ring's ten members hold a fifth of all stake:
		// 10 R = (R × 10 + 190 × 40) / 5  ⇒  R = 190 STRAT each.
		let slot_stake = 10 * UNIT;
		for i in 0..PROVIDERS {
			let who = provider(i);
			let strategy = strategy_of(i, cheaters);
			let stake = if strategy == Strategy::Ring {
				190 * UNIT
			} else {
				slot_stake * Balance::from(SLOTS)
			};
			let profile = CapabilityProfile::cpu_only(16, 32_768, 276);
			assert!(dispatch(
				&who,
				RuntimeCall::ProviderStaking(pallet_provider_staking::Call::register {
					// The operator signs for itself (a separate worker key would sign its consent).
					worker: who.clone(),
					profile,
					stake,
					proof: None,
				})
			));
			// The ring undercuts everyone; the rest ask 2 to 10 µSTRAT per unit.
			let price =
				if strategy == Strategy::Ring { 1 } else { 2 + self.rng.below(9) as Balance };
			assert!(dispatch(
				&who,
				RuntimeCall::Market(pallet_market::Call::post_offer {
					class: ResourceClass::Cpu,
					price: price * MICRO,
					slots: SLOTS,
					expires_at: 10_000_000,
				})
			));
			self.strategy.insert(who, strategy);
		}
		let code = b"\0asm\x01\0\0\0".to_vec();
		self.program = H256(sp_io::hashing::blake2_256(&code));
		assert!(dispatch(
			&requester(0),
			RuntimeCall::Market(pallet_market::Call::register_program {
				kind: JobKind::Wasm,
				code
			})
		));
	}

	fn next_block(&mut self) {
		let n = System::block_number() + 1;
		// A fresh hash nobody could predict: what randomness from the parent block gives.
		let parent = H256(sp_io::hashing::blake2_256(&(b"block", n, self.rng.next()).encode()));
		System::initialize(&n, &parent, &Default::default());
		AllPalletsWithSystem::on_initialize(n);
		self.read_events();
	}

	fn read_events(&mut self) {
		for record in System::events() {
			match record.event {
				RuntimeEvent::Slashing(pallet_slashing::Event::SlashDeferred {
					provider,
					amount,
					..
				}) => {
					*self.slashed.entry(provider.clone()).or_default() += amount;
					if self.strategy.get(&provider) == Some(&Strategy::Honest) {
						self.slashes_on_honest += 1;
					}
				},
				RuntimeEvent::Slashing(pallet_slashing::Event::OffenceReported {
					provider,
					offence,
					job,
					..
				}) if self.strategy.get(&provider) == Some(&Strategy::Honest) => {
					*self.honest_offences.entry(format!("{offence:?}")).or_default() += 1;
					self.honest_offence_jobs.push(job);
				},
				RuntimeEvent::Slashing(pallet_slashing::Event::SlashCancelled {
					provider,
					amount,
					..
				}) => {
					let s = self.slashed.entry(provider).or_default();
					*s = s.saturating_sub(amount);
				},
				RuntimeEvent::Market(pallet_market::Event::RefereesCalled { .. }) => {
					self.tally.referee_rounds += 1
				},
				RuntimeEvent::Market(pallet_market::Event::SpotCheckDecided {
					checked, ..
				}) => {
					self.tally.spot_decided += 1;
					self.tally.spot_checked += u64::from(checked);
				},
				_ => {},
			}
		}
		System::reset_events();
	}

	fn post(&mut self, policy: VerificationPolicy) {
		let who = requester(self.rng.below(8) as u32);
		let now = System::block_number();
		let id = pallet_market::NextJobId::<Runtime>::get();
		let spec = JobSpec {
			program: self.program,
			input: InputSpec::Inline(id.encode()),
			requirements: RequirementsSpec::default(),
			max_price: 10 * MICRO,
			max_units: MAX_UNITS,
			policy,
			commit_window: 20,
			deadline: now + 300,
			max_output_bytes: 1024,
		};
		if dispatch(&who, RuntimeCall::Market(pallet_market::Call::submit_job { spec })) {
			self.in_flight.insert(id);
		}
	}

	/// What `who` commits for replica `index` of `job`: a digest and units, or `None` (it does
	/// not commit).
	fn result(
		&mut self,
		id: JobId,
		job: &pallet_market::Job<Runtime>,
		who: &AccountId,
		index: u8,
	) -> Option<(H256, u64)> {
		let strategy = self.strategy[who];
		let honest = Some((correct(id), UNITS));
		match strategy {
			Strategy::Honest => honest,
			Strategy::AlwaysWrong => Some((wrong(id, who), UNITS)),
			Strategy::WrongWhenTrusted => {
				let trusted =
					pallet_reputation::Pallet::<Runtime>::spot_check_rate(who, JobKind::Wasm)
						.is_some();
				if trusted {
					Some((wrong(id, who), UNITS))
				} else {
					honest
				}
			},
			Strategy::ConstantFailure => Some((out_of_units(), MAX_UNITS)),
			Strategy::AckNeverCommit => None,
			Strategy::Copying => {
				// A referee can copy a disputed digest (they are public): it picks one.
				let public: Vec<(H256, u64)> = job
					.replicas
					.iter()
					.filter(|r| r.state == ReplicaState::Referred)
					.filter_map(|r| Some((r.digest?, r.units?)))
					.collect();
				if !public.is_empty() {
					let pick = self.rng.below(public.len() as u64) as usize;
					return Some(public[pick]);
				}
				// Otherwise a co-replica's commitment, submitted as its own: refused.
				let theirs = pallet_verification::Commitments::<Runtime>::iter_prefix(id)
					.find(|(r, _)| *r != index)
					.map(|(_, c)| c);
				if let Some(commitment) = theirs {
					let refused = !dispatch(
						who,
						RuntimeCall::Verification(pallet_verification::Call::commit {
							job: id,
							replica: index,
							commitment,
						}),
					);
					assert!(refused, "a copied commitment was accepted");
				}
				None
			},
			Strategy::Ring => {
				let round: Vec<&AccountId> = job
					.replicas
					.iter()
					.filter(|r| r.round == job.round && r.state.is_live())
					.map(|r| &r.provider)
					.collect();
				let referred: Vec<&AccountId> = job
					.replicas
					.iter()
					.filter(|r| r.state == ReplicaState::Referred)
					.map(|r| &r.provider)
					.collect();
				let all_ring = round.iter().all(|p| self.strategy[*p] == Strategy::Ring);
				// As referees, the ring sides with a member it finds in the dispute.
				let ring_in_dispute = referred.iter().any(|p| self.strategy[*p] == Strategy::Ring);
				if all_ring && (referred.is_empty() || ring_in_dispute) {
					Some((ring_lie(id), UNITS))
				} else {
					honest
				}
			},
		}
	}

	/// One step for every replica of every job in flight.
	fn act(&mut self) {
		let ids: Vec<JobId> = self.in_flight.iter().copied().collect();
		for id in ids {
			let Some(job) = pallet_market::Jobs::<Runtime>::get(id) else {
				self.in_flight.remove(&id);
				continue;
			};
			if job.phase.is_final() {
				self.finish(id, &job);
				continue;
			}
			let revealing = matches!(job.phase, JobPhase::Revealing { .. });
			for r in job.replicas.iter() {
				let who = r.provider.clone();
				match r.state {
					ReplicaState::Assigned => {
						let acknowledged = dispatch(
							&who,
							RuntimeCall::Market(pallet_market::Call::acknowledge {
								job: id,
								replica: r.index,
							}),
						);
						if acknowledged {
							self.acked.insert((id, r.index));
						}
					},
					ReplicaState::Acknowledged => {
						let Some((digest, units)) = self.result(id, &job, &who, r.index) else {
							continue;
						};
						let mut salt = [0u8; 32];
						salt[..8].copy_from_slice(&self.rng.next().to_le_bytes());
						let genesis = pallet_verification::Pallet::<Runtime>::genesis_hash();
						let commitment = stratus_primitives::commitment(
							&genesis, id, r.index, &who, units, &digest, &salt,
						);
						if dispatch(
							&who,
							RuntimeCall::Verification(pallet_verification::Call::commit {
								job: id,
								replica: r.index,
								commitment,
							}),
						) {
							self.salts.insert((id, r.index), (digest, units, salt));
						}
					},
					ReplicaState::Committed if revealing => {
						if let Some((digest, units, salt)) = self.salts.get(&(id, r.index)).copied()
						{
							dispatch(
								&who,
								RuntimeCall::Verification(pallet_verification::Call::reveal {
									job: id,
									replica: r.index,
									digest,
									units,
									salt,
								}),
							);
						}
					},
					_ => {},
				}
			}
		}
	}

	fn finish(&mut self, id: JobId, job: &pallet_market::Job<Runtime>) {
		self.in_flight.remove(&id);
		self.tally.replicas_run += self.acked.range((id, 0)..=(id, u8::MAX)).count() as u64;
		// The ring held every replica that gave a result.
		let revealed: Vec<_> = job.replicas.iter().filter(|r| r.digest.is_some()).collect();
		if !revealed.is_empty()
			&& revealed.iter().all(|r| self.strategy[&r.provider] == Strategy::Ring)
		{
			self.tally.ring_held_all += 1;
		}
		match job.phase {
			JobPhase::Settled { digest } => {
				self.tally.settled += 1;
				if digest != correct(id) {
					self.tally.wrong_accepted += 1;
					let agreeing_all_ring = job
						.replicas
						.iter()
						.filter(|r| r.digest == Some(digest))
						.all(|r| self.strategy[&r.provider] == Strategy::Ring);
					if agreeing_all_ring {
						self.tally.wrong_by_ring_alone += 1;
					}
				}
			},
			JobPhase::Disputed => self.tally.disputed += 1,
			_ => self.tally.expired += 1,
		}
	}
}

fn money() -> (Balance, Balance) {
	let issuance = pallet_balances::Pallet::<Runtime>::total_issuance();
	let held: Balance = frame_system::Account::<Runtime>::iter()
		.map(|(who, _)| pallet_balances::Pallet::<Runtime>::total_balance(&who))
		.sum();
	(issuance, held)
}

fn strat(planck: i128) -> String {
	format!("{:+.3}", planck as f64 / UNIT as f64)
}

fn run(policy: VerificationPolicy, cheaters: u32, jobs: u32, seed: u64) {
	let (mut sim, mut ext) = Sim::new(seed, cheaters);
	ext.execute_with(|| {
		let start: BTreeMap<AccountId, Balance> = sim
			.strategy
			.keys()
			.map(|p| (p.clone(), pallet_balances::Pallet::<Runtime>::total_balance(p)))
			.collect();
		let (issuance, _) = money();
		let mut posted = 0;
		let mut blocks = 0u32;
		while posted < jobs || !sim.in_flight.is_empty() {
			for _ in 0..JOBS_PER_BLOCK.min(jobs - posted) {
				sim.post(policy);
				posted += 1;
			}
			sim.act();
			sim.next_block();
			blocks += 1;
		}
		for _ in 0..=DEFER + 1 {
			sim.next_block();
		}
		let (issuance_after, total) = money();
		let t = sim.tally.clone();
		let ended = (t.settled + t.disputed + t.expired).max(1);
		let pct = |n: u64| 100.0 * n as f64 / ended as f64;
		let name = match policy {
			VerificationPolicy::Unverified => "unverified".to_owned(),
			VerificationPolicy::Replicated(n) => format!("replicated({n})"),
			VerificationPolicy::Adaptive => "adaptive".to_owned(),
		};
		println!(
			"\n## {name}, {cheaters} cheaters of {PROVIDERS} providers: {ended} jobs in {blocks} blocks"
		);
		println!(
			"settled {} · disputed {} · expired {} · wrong results accepted and paid {} ({:.2}%) · replicas run per job {:.3}",
			t.settled,
			t.disputed,
			t.expired,
			t.wrong_accepted,
			pct(t.wrong_accepted),
			t.replicas_run as f64 / ended as f64
		);
		println!(
			"ring gave every result of {} jobs ({:.2}%); wrong accepted with only ring replicas agreeing: {} · referee rounds {} · spot-checks {} of {} decided",
			t.ring_held_all,
			pct(t.ring_held_all),
			t.wrong_by_ring_alone,
			t.referee_rounds,
			t.spot_checked,
			t.spot_decided
		);
		println!(
			"honest providers slashed: {} {:?} · money conserved: {} (issuance {} → {}, all balances {})",
			sim.slashes_on_honest,
			sim.honest_offences,
			issuance == issuance_after && issuance_after == total,
			issuance,
			issuance_after,
			total
		);
		// How each honest provider's offence came about: the job's replicas, in order.
		for id in sim.honest_offence_jobs.iter() {
			let Some(job) = pallet_market::Jobs::<Runtime>::get(id) else { continue };
			let replicas: Vec<String> = job
				.replicas
				.iter()
				.map(|r| {
					let right = if r.digest == Some(correct(*id)) { "right" } else { "other" };
					format!(
						"{:?} {:?} {:?} {}",
						r.role,
						sim.strategy[&r.provider],
						r.state,
						if r.digest.is_some() { right } else { "-" }
					)
				})
				.collect();
			println!("  honest offence in job {id} ({:?}): {}", job.phase, replicas.join("; "));
		}
		println!("| strategy | providers | paid + compensation − slashes (STRAT) | slashed (STRAT) | mean reputation |");
		println!("|---|---:|---:|---:|---:|");
		for strategy in STRATEGIES {
			let members: Vec<&AccountId> =
				sim.strategy.iter().filter(|(_, s)| **s == strategy).map(|(p, _)| p).collect();
			if members.is_empty() {
				continue;
			}
			let net: i128 = members
				.iter()
				.map(|p| {
					pallet_balances::Pallet::<Runtime>::total_balance(p) as i128 - start[*p] as i128
				})
				.sum();
			let slashed: Balance = members.iter().map(|p| sim.slashed.get(*p).copied().unwrap_or(0)).sum();
			let reputation: f64 = members
				.iter()
				.map(|p| {
					pallet_reputation::Pallet::<Runtime>::score(p, JobKind::Wasm).deconstruct() as f64 /
						1e9
				})
				.sum::<f64>() / members.len() as f64;
			println!(
				"| {strategy:?} | {} | {} | {} | {:.2} |",
				members.len(),
				strat(net),
				strat(slashed as i128),
				reputation
			);
		}
	});
}

fn main() {
	let mut args = std::env::args().skip(1);
	let jobs: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
	let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
	println!(
		"# Stratus trust simulation: {PROVIDERS} providers, {jobs} jobs per run, seed {seed}; slash deferral {DEFER} blocks"
	);
	for cheaters in [40, 20] {
		for policy in [
			VerificationPolicy::Unverified,
			VerificationPolicy::Replicated(2),
			VerificationPolicy::Replicated(3),
			VerificationPolicy::Adaptive,
		] {
			run(policy, cheaters, jobs, seed);
		}
	}
}

//! The RPC node's index of the market's history, for dApps and the web console: the prices jobs
//! were matched at over the last day, the jobs each requester posted, and each provider's recent
//! results and earnings. The chain keeps none of this in a form a browser could read without
//! scanning every block's events, so the node reads each finalized block's events once, as it
//! finalizes them, and keeps the result in memory (`market_priceHistory`,
//! `market_requesterJobs`, `market_providerHistory`).
//!
//! At start it reads back over the last day of finalized blocks whose state the node still holds
//! (a node with the default state pruning keeps the last 256 blocks'; one started with
//! `--state-pruning archive-canonical` every block's), then follows finality. What it covers is in
//! every answer (`indexedFrom`, `indexedTo`). Only finalized blocks are read: a reorg never
//! leaves a retracted match in the index.

use std::{
	collections::{HashMap, VecDeque},
	sync::{Arc, RwLock},
};

use codec::Decode;
use futures::StreamExt;
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::error::ErrorObjectOwned};
use pallet_market::runtime_api::MarketApi as _;
use sc_client_api::{BlockchainEvents, StorageProvider};
use serde::Serialize;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::storage::StorageKey;
use sp_io::hashing::twox_128;
use sp_runtime::traits::Header as _;
use stratus_primitives::{JobId, JobKind, OffenceKind, ReplicaIndex};
use stratus_runtime::{AccountId, Balance, BlockNumber, Hash, RuntimeEvent};

use crate::service::FullClient;

/// Blocks of history kept: a day of 3-second blocks.
pub const HISTORY_BLOCKS: usize = 28_800;
/// Results listed per provider (the latest; the totals count every result in the window).
pub const RECENT_RESULTS: usize = 200;
/// Job ids kept per requester (the newest).
pub const JOBS_PER_REQUESTER: usize = 100_000;
/// Every this many blocks, what left the window with the oldest blocks is swept from the
/// per-account lists.
const SWEEP_EVERY: BlockNumber = 600;
/// Points at most in a price history answer.
pub const MAX_POINTS: u32 = 1_000;

/// What the index takes from a block's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
	/// A job was posted.
	Submitted { job: JobId, requester: AccountId },
	/// A replica of a job of `kind` was matched to an offer at `price` per unit.
	Matched { kind: JobKind, price: Balance },
	/// A provider was paid for a replica.
	Paid { job: JobId, replica: ReplicaIndex, provider: AccountId, amount: Balance },
	/// An offence was reported against a provider's replica.
	Offence { job: JobId, replica: ReplicaIndex, provider: AccountId, offence: OffenceKind },
}

/// One of a provider's recent results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderResult {
	/// The block that recorded it.
	pub block: BlockNumber,
	/// The job and replica.
	pub job: JobId,
	pub replica: ReplicaIndex,
	/// `paid`, or the offence: `missedAck`, `missedCommit`, `missedReveal`, `wrongResult`.
	pub outcome: &'static str,
	/// What the provider received (decimal string; "0" for an offence).
	#[serde(with = "stratus_primitives::market::amount")]
	pub amount: Balance,
}

/// The matches of one job kind in one block: how many, and their prices.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Stats {
	count: u32,
	min: Balance,
	max: Balance,
	sum: Balance,
}

impl Stats {
	fn add(&mut self, price: Balance) {
		self.min = if self.count == 0 { price } else { self.min.min(price) };
		self.max = self.max.max(price);
		self.sum = self.sum.saturating_add(price);
		self.count = self.count.saturating_add(1);
	}

	fn merge(&mut self, other: &Stats) {
		if other.count == 0 {
			return;
		}
		self.min = if self.count == 0 { other.min } else { self.min.min(other.min) };
		self.max = self.max.max(other.max);
		self.sum = self.sum.saturating_add(other.sum);
		self.count = self.count.saturating_add(other.count);
	}
}

/// One block read: its number, time and matches per job kind (`[Wasm, Cuda]`).
struct BlockRecord {
	number: BlockNumber,
	timestamp: u64,
	matches: [Stats; 2],
}

fn kind_index(kind: JobKind) -> usize {
	match kind {
		JobKind::Wasm => 0,
		JobKind::Cuda => 1,
	}
}

/// The history the node has read so far: the last `HISTORY_BLOCKS` blocks, and what happened in
/// them. Every entry carries its block and leaves with it, so every answer covers exactly the
/// blocks it names and memory is bounded by a day of the chain's activity.
#[derive(Default)]
pub struct History {
	/// Each block read, oldest first.
	blocks: VecDeque<BlockRecord>,
	/// Each requester's `(block, job)`s, oldest first (job ids grow with blocks).
	requesters: HashMap<AccountId, VecDeque<(BlockNumber, JobId)>>,
	/// Each provider's results, oldest first.
	providers: HashMap<AccountId, VecDeque<ProviderResult>>,
}

/// A stretch of the price history: `blocks` blocks from `from`, the time its first block was
/// made, and the matches in it (price statistics: null without a match).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PricePoint {
	pub from: BlockNumber,
	pub blocks: u32,
	pub timestamp: u64,
	pub matches: u32,
	#[serde(with = "optional_amount")]
	pub min: Option<Balance>,
	#[serde(with = "optional_amount")]
	pub max: Option<Balance>,
	#[serde(with = "optional_amount")]
	pub mean: Option<Balance>,
}

/// `market_priceHistory`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceHistory {
	pub indexed_from: Option<BlockNumber>,
	pub indexed_to: Option<BlockNumber>,
	pub points: Vec<PricePoint>,
}

/// `market_requesterJobs`' answer: job ids, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequesterJobs {
	pub indexed_from: Option<BlockNumber>,
	pub indexed_to: Option<BlockNumber>,
	/// How many of the requester's jobs the index holds.
	pub total: u32,
	pub jobs: Vec<JobId>,
}

/// `market_providerHistory`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderHistory {
	pub indexed_from: Option<BlockNumber>,
	pub indexed_to: Option<BlockNumber>,
	/// Earned in the blocks indexed (decimal string).
	#[serde(with = "stratus_primitives::market::amount")]
	pub earned: Balance,
	/// Replicas paid and offences reported in the blocks indexed.
	pub paid: u32,
	pub offences: u32,
	/// The most recent results, newest first.
	pub recent: Vec<ProviderResult>,
}

mod optional_amount {
	use serde::Serializer;
	pub fn serialize<S: Serializer>(b: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
		match b {
			Some(b) => s.collect_str(b),
			None => s.serialize_none(),
		}
	}
}

fn offence_name(offence: &OffenceKind) -> &'static str {
	match offence {
		OffenceKind::MissedAck => "missedAck",
		OffenceKind::MissedCommit => "missedCommit",
		OffenceKind::MissedReveal => "missedReveal",
		OffenceKind::WrongResult => "wrongResult",
	}
}

impl History {
	/// The first and last block read.
	pub fn range(&self) -> (Option<BlockNumber>, Option<BlockNumber>) {
		(self.blocks.front().map(|b| b.number), self.blocks.back().map(|b| b.number))
	}

	/// Records block `number` (made at `timestamp`) and what it saw. Blocks come in order; one
	/// already read is ignored. The oldest block, and what it saw, go when more than
	/// `HISTORY_BLOCKS` are kept.
	pub fn record(&mut self, number: BlockNumber, timestamp: u64, seen: Vec<Seen>) {
		if self.blocks.back().is_some_and(|b| b.number >= number) {
			return;
		}
		let mut matches = [Stats::default(); 2];
		for s in seen {
			match s {
				Seen::Submitted { job, requester } => {
					let jobs = self.requesters.entry(requester).or_default();
					jobs.push_back((number, job));
					if jobs.len() > JOBS_PER_REQUESTER {
						jobs.pop_front();
					}
				},
				Seen::Matched { kind, price } => {
					if let Some(stats) = matches.get_mut(kind_index(kind)) {
						stats.add(price);
					}
				},
				Seen::Paid { job, replica, provider, amount } => {
					self.providers.entry(provider).or_default().push_back(ProviderResult {
						block: number,
						job,
						replica,
						outcome: "paid",
						amount,
					})
				},
				Seen::Offence { job, replica, provider, offence } => {
					self.providers.entry(provider).or_default().push_back(ProviderResult {
						block: number,
						job,
						replica,
						outcome: offence_name(&offence),
						amount: 0,
					})
				},
			}
		}
		self.blocks.push_back(BlockRecord { number, timestamp, matches });
		let mut evicted = false;
		while self.blocks.len() > HISTORY_BLOCKS {
			self.blocks.pop_front();
			evicted = true;
		}
		// Now and then (not at every block: it visits every account), what left with the oldest
		// blocks goes, and accounts with nothing left in the window are forgotten. Answers
		// filter by the window in between.
		if evicted && number.is_multiple_of(SWEEP_EVERY) {
			self.sweep();
		}
	}

	fn oldest(&self) -> BlockNumber {
		self.blocks.front().map_or(BlockNumber::MAX, |b| b.number)
	}

	fn sweep(&mut self) {
		let oldest = self.oldest();
		self.requesters.retain(|_, jobs| {
			while jobs.front().is_some_and(|(b, _)| *b < oldest) {
				jobs.pop_front();
			}
			!jobs.is_empty()
		});
		self.providers.retain(|_, results| {
			while results.front().is_some_and(|r| r.block < oldest) {
				results.pop_front();
			}
			!results.is_empty()
		});
	}

	/// Matches of `kind` over the blocks read, in stretches of equal length (a power of two)
	/// aligned to multiples of it (so that they stay put as blocks come), at most about `points`
	/// of them.
	pub fn prices(&self, kind: JobKind, points: u32) -> PriceHistory {
		let (indexed_from, indexed_to) = self.range();
		let mut out: Vec<PricePoint> = Vec::new();
		if let (Some(first), Some(last)) = (indexed_from, indexed_to) {
			let span = last.saturating_sub(first).saturating_add(1);
			// A power of two: the stretches change only when the span doubles, so they stay put
			// as blocks come (a chart does not shift at every block).
			let width = span
				.div_ceil(points.clamp(1, MAX_POINTS))
				.max(1)
				.checked_next_power_of_two()
				.unwrap_or(BlockNumber::MAX);
			let k = kind_index(kind);
			let mut stats = Stats::default();
			for b in &self.blocks {
				let from = b.number.saturating_sub(b.number.checked_rem(width).unwrap_or(0));
				if out.last().is_none_or(|p| p.from != from) {
					if let Some(p) = out.last_mut() {
						p.set(&stats);
					}
					stats = Stats::default();
					out.push(PricePoint {
						from,
						blocks: width,
						timestamp: b.timestamp,
						matches: 0,
						min: None,
						max: None,
						mean: None,
					});
				}
				if let Some(s) = b.matches.get(k) {
					stats.merge(s);
				}
			}
			if let Some(p) = out.last_mut() {
				p.set(&stats);
			}
		}
		PriceHistory { indexed_from, indexed_to, points: out }
	}

	/// `who`'s jobs in the blocks read, newest first: `limit` of them older than `before` (all
	/// when `None`).
	pub fn requester_jobs(
		&self,
		who: &AccountId,
		before: Option<JobId>,
		limit: u32,
	) -> RequesterJobs {
		let (indexed_from, indexed_to) = self.range();
		let oldest = self.oldest();
		let (jobs, total) = match self.requesters.get(who) {
			None => (Vec::new(), 0),
			Some(all) => {
				// Both orders agree (ids grow with blocks): binary searches, not scans.
				let start = all.partition_point(|(b, _)| *b < oldest);
				let end =
					before.map_or(all.len(), |before| all.partition_point(|(_, j)| *j < before));
				let jobs = all
					.range(start..end.max(start))
					.rev()
					.take(limit as usize)
					.map(|(_, j)| *j)
					.collect();
				(jobs, all.len().saturating_sub(start) as u32)
			},
		};
		RequesterJobs { indexed_from, indexed_to, total, jobs }
	}

	/// `who`'s earnings and results in the blocks read (the latest `RECENT_RESULTS` listed).
	pub fn provider(&self, who: &AccountId) -> ProviderHistory {
		let (indexed_from, indexed_to) = self.range();
		let oldest = self.oldest();
		let mut answer = ProviderHistory {
			indexed_from,
			indexed_to,
			earned: 0,
			paid: 0,
			offences: 0,
			recent: Vec::new(),
		};
		let Some(results) = self.providers.get(who) else { return answer };
		for r in results.iter().rev().take_while(|r| r.block >= oldest) {
			if r.outcome == "paid" {
				answer.earned = answer.earned.saturating_add(r.amount);
				answer.paid = answer.paid.saturating_add(1);
			} else {
				answer.offences = answer.offences.saturating_add(1);
			}
			if answer.recent.len() < RECENT_RESULTS {
				answer.recent.push(r.clone());
			}
		}
		answer
	}
}

impl PricePoint {
	fn set(&mut self, s: &Stats) {
		self.matches = s.count;
		if s.count > 0 {
			self.min = Some(s.min);
			self.max = Some(s.max);
			self.mean = s.sum.checked_div(u128::from(s.count));
		}
	}
}

/// The history, shared by the follower that writes it and the RPC methods that read it.
pub type SharedHistory = Arc<RwLock<History>>;

fn storage_key(pallet: &str, item: &str) -> StorageKey {
	StorageKey([twox_128(pallet.as_bytes()), twox_128(item.as_bytes())].concat())
}

/// Reads block `hash`'s timestamp and what the index takes from its events; `None` when the node
/// no longer holds its state (or its events do not decode with this node's runtime types).
fn read_block(client: &FullClient, hash: Hash, kinds: &mut KindCache) -> Option<(u64, Vec<Seen>)> {
	let timestamp = client.storage(hash, &storage_key("Timestamp", "Now")).ok()??;
	let timestamp = u64::decode(&mut &timestamp.0[..]).ok()?;
	let events = client.storage(hash, &storage_key("System", "Events")).ok()?;
	let records = match events {
		Some(data) => {
			Vec::<frame_system::EventRecord<RuntimeEvent, Hash>>::decode(&mut &data.0[..])
				.map_err(|e| {
					// After a runtime upgrade that changed an event's layout, until this node is
					// upgraded too: said loudly, now and then, for the index stops moving.
					let n = UNDECODED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
					if n.is_multiple_of(1_200) {
						log::warn!(
							target: "market-index",
							"block {hash}: its events do not decode with this node's runtime types \
							 ({e}); the market history skips such blocks ({} so far): upgrade the node",
							n.saturating_add(1)
						);
					}
				})
				.ok()?
		},
		None => Vec::new(),
	};
	let mut seen = Vec::new();
	for record in records {
		match record.event {
			RuntimeEvent::Market(pallet_market::Event::JobSubmitted { job, requester, .. }) => {
				seen.push(Seen::Submitted { job, requester })
			},
			RuntimeEvent::Market(pallet_market::Event::ReplicaAssigned { job, price, .. }) => {
				// The job's kind, from the block that matched it (once a job: its replicas
				// match in the same or later blocks).
				let kind = match kinds.get(&job) {
					Some(kind) => Some(*kind),
					None => {
						let kind = client
							.runtime_api()
							.job_status(hash, job)
							.ok()
							.flatten()
							.map(|j| j.kind);
						if let Some(kind) = kind {
							if kinds.len() >= KIND_CACHE {
								kinds.clear();
							}
							kinds.insert(job, kind);
						}
						kind
					},
				};
				if let Some(kind) = kind {
					seen.push(Seen::Matched { kind, price });
				}
			},
			RuntimeEvent::Market(pallet_market::Event::ProviderPaid {
				job,
				replica,
				provider,
				amount,
				..
			}) => seen.push(Seen::Paid { job, replica, provider, amount }),
			RuntimeEvent::Slashing(stratus_runtime::pallet_slashing::Event::OffenceReported {
				provider,
				job,
				replica,
				offence,
			}) => seen.push(Seen::Offence { job, replica, provider, offence }),
			_ => {},
		}
	}
	Some((timestamp, seen))
}

/// Jobs' kinds, as read: `ReplicaAssigned` does not carry it.
type KindCache = HashMap<JobId, JobKind>;
const KIND_CACHE: usize = 100_000;
static UNDECODED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Reads finalized blocks `from..=to` into `history`, skipping those whose state is gone; never
/// more than the last `HISTORY_BLOCKS` of them (after a long sync, the older ones would only
/// leave again).
fn read_range(
	client: &FullClient,
	history: &SharedHistory,
	kinds: &mut KindCache,
	from: BlockNumber,
	to: BlockNumber,
) {
	let from = from.max(to.saturating_sub((HISTORY_BLOCKS as BlockNumber).saturating_sub(1)));
	for number in from..=to {
		let Ok(Some(hash)) = client.hash(number) else { continue };
		if let Some((timestamp, seen)) = read_block(client, hash, kinds) {
			// A poisoned lock (a panic while recording) leaves the index as it was.
			if let Ok(mut history) = history.write() {
				history.record(number, timestamp, seen);
			}
		}
	}
}

/// The oldest of the last `HISTORY_BLOCKS` finalized blocks whose state the node holds (state is
/// pruned from the oldest end, so a binary search finds it).
fn oldest_readable(client: &FullClient, finalized: BlockNumber) -> BlockNumber {
	let readable = |n: BlockNumber| {
		client.hash(n).ok().flatten().is_some_and(|h| {
			client.storage(h, &storage_key("Timestamp", "Now")).is_ok_and(|v| v.is_some())
		})
	};
	let (mut lo, mut hi) = (
		finalized.saturating_sub((HISTORY_BLOCKS as BlockNumber).saturating_sub(1)).max(1),
		finalized,
	);
	if readable(lo) {
		return lo;
	}
	// lo is not readable, hi is (or nothing is): find the first readable one.
	while lo.saturating_add(1) < hi {
		let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
		if readable(mid) {
			hi = mid;
		} else {
			lo = mid;
		}
	}
	hi
}

/// Reads the last day's finalized blocks, then each block as it is finalized, into `history`.
/// It reads the database directly: the node runs it as a blocking task (`spawn_blocking`), off
/// the async workers that serve RPC and the network.
pub async fn follow(client: Arc<FullClient>, history: SharedHistory) {
	let mut finality = client.finality_notification_stream();
	let finalized = client.info().finalized_number;
	let start = oldest_readable(&client, finalized);
	let mut kinds = KindCache::new();
	read_range(&client, &history, &mut kinds, start, finalized);
	log::info!(target: "market-index", "market history indexed from block #{start} to #{finalized}");
	let mut last = finalized;
	while let Some(notification) = finality.next().await {
		let number = *notification.header.number();
		if number > last {
			read_range(&client, &history, &mut kinds, last.saturating_add(1), number);
			last = number;
		}
	}
}

#[rpc(server)]
pub trait MarketHistoryApi {
	/// The prices replicas of `kind` jobs were matched at over the blocks the node has indexed
	/// (up to a day), in at most `points` stretches (default 200, at most 1000): each stretch's
	/// first block and its time, its match count and min, max and mean price.
	#[method(name = "market_priceHistory", blocking)]
	fn price_history(&self, kind: JobKind, points: Option<u32>) -> RpcResult<PriceHistory>;

	/// The jobs `requester` posted in the blocks indexed, newest first: `limit` (default 100, at
	/// most 1000) of them older than job `before`.
	#[method(name = "market_requesterJobs", blocking)]
	fn requester_jobs(
		&self,
		requester: AccountId,
		before: Option<JobId>,
		limit: Option<u32>,
	) -> RpcResult<RequesterJobs>;

	/// What `provider` (its operator account) earned and its recent results (paid replicas,
	/// offences) in the blocks indexed.
	#[method(name = "market_providerHistory", blocking)]
	fn provider_history(&self, provider: AccountId) -> RpcResult<ProviderHistory>;
}

/// Serves [`MarketHistoryApiServer`] from the node's index.
pub struct MarketHistory {
	history: SharedHistory,
}

impl MarketHistory {
	pub fn new(history: SharedHistory) -> Self {
		Self { history }
	}

	fn read<R>(&self, f: impl FnOnce(&History) -> R) -> RpcResult<R> {
		let history = self
			.history
			.read()
			.map_err(|_| ErrorObjectOwned::owned(1, "the market index failed", None::<()>))?;
		Ok(f(&history))
	}
}

impl MarketHistoryApiServer for MarketHistory {
	fn price_history(&self, kind: JobKind, points: Option<u32>) -> RpcResult<PriceHistory> {
		self.read(|h| h.prices(kind, points.unwrap_or(200)))
	}

	fn requester_jobs(
		&self,
		requester: AccountId,
		before: Option<JobId>,
		limit: Option<u32>,
	) -> RpcResult<RequesterJobs> {
		self.read(|h| h.requester_jobs(&requester, before, limit.unwrap_or(100).min(1_000)))
	}

	fn provider_history(&self, provider: AccountId) -> RpcResult<ProviderHistory> {
		self.read(|h| h.provider(&provider))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::crypto::AccountId32;

	fn account(n: u8) -> AccountId {
		AccountId32::new([n; 32])
	}

	#[test]
	fn prices_are_bucketed_over_the_blocks_read_with_their_times() {
		let mut h = History::default();
		for n in 1..=10u32 {
			let mut seen = Vec::new();
			if n % 2 == 0 {
				seen.push(Seen::Matched { kind: JobKind::Wasm, price: 1_000 * u128::from(n) });
			}
			if n == 4 {
				seen.push(Seen::Matched { kind: JobKind::Cuda, price: 9 });
			}
			h.record(n, 3_000 * u64::from(n), seen);
		}
		// Stretches of four blocks (10 / 4, up to a power of two) aligned to multiples of four.
		let p = h.prices(JobKind::Wasm, 4);
		assert_eq!((p.indexed_from, p.indexed_to), (Some(1), Some(10)));
		let froms: Vec<_> = p.points.iter().map(|p| p.from).collect();
		assert_eq!(froms, vec![0, 4, 8]);
		assert!(p.points.iter().all(|p| p.blocks == 4));
		assert_eq!(
			(p.points[0].timestamp, p.points[0].matches, p.points[0].mean),
			(3_000, 1, Some(2_000))
		);
		assert_eq!(
			(p.points[1].matches, p.points[1].min, p.points[1].max, p.points[1].mean),
			(2, Some(4_000), Some(6_000), Some(5_000)),
			"blocks 4 and 6's WASM matches, not block 4's CUDA one"
		);
		assert_eq!((p.points[2].min, p.points[2].max), (Some(8_000), Some(10_000)));
		// The stretches stay put as blocks come: block 11 joins the last one.
		h.record(11, 33_000, vec![Seen::Matched { kind: JobKind::Wasm, price: 1 }]);
		let later = h.prices(JobKind::Wasm, 4);
		assert_eq!(later.points.iter().map(|p| p.from).collect::<Vec<_>>(), froms);
		assert_eq!((later.points[2].matches, later.points[2].min), (3, Some(1)));
		let one = h.prices(JobKind::Wasm, 1);
		assert_eq!(one.points.len(), 1);
		assert_eq!(
			(one.points[0].matches, one.points[0].min, one.points[0].max),
			(6, Some(1), Some(10_000))
		);
		let cuda = h.prices(JobKind::Cuda, 1000);
		assert_eq!(
			cuda.points.len(),
			11,
			"one block a point when there are fewer blocks than points"
		);
		assert_eq!(cuda.points.iter().map(|p| p.matches).sum::<u32>(), 1);
		assert_eq!(cuda.points[0].min, None);
	}

	#[test]
	fn a_block_read_twice_or_out_of_order_counts_once() {
		let mut h = History::default();
		let matched = || vec![Seen::Matched { kind: JobKind::Wasm, price: 5 }];
		h.record(7, 1, matched());
		h.record(7, 1, matched());
		h.record(6, 1, matched());
		assert_eq!(h.prices(JobKind::Wasm, 1).points[0].matches, 1);
	}

	#[test]
	fn only_the_last_day_is_kept() {
		let mut h = History::default();
		let total = HISTORY_BLOCKS as u32 + 100;
		for n in 1..=total {
			h.record(n, u64::from(n), vec![Seen::Matched { kind: JobKind::Wasm, price: 1 }]);
		}
		assert_eq!(h.range(), (Some(101), Some(total)));
		let points = h.prices(JobKind::Wasm, 1).points;
		assert_eq!(points.iter().map(|p| p.matches).sum::<u32>(), HISTORY_BLOCKS as u32);
	}

	#[test]
	fn what_leaves_the_window_leaves_the_answers() {
		let mut h = History::default();
		let (requester, provider) = (account(1), account(5));
		h.record(
			1,
			0,
			vec![
				Seen::Submitted { job: 0, requester: requester.clone() },
				Seen::Paid { job: 0, replica: 0, provider: provider.clone(), amount: 7 },
			],
		);
		h.record(2, 0, vec![Seen::Submitted { job: 1, requester: requester.clone() }]);
		let day = HISTORY_BLOCKS as u32;
		// Block 1 leaves at block day + 1; block 2 at day + 2.
		for n in 3..=day.saturating_add(1) {
			h.record(n, 0, Vec::new());
		}
		assert_eq!(h.range(), (Some(2), Some(day + 1)));
		let jobs = h.requester_jobs(&requester, None, 10);
		assert_eq!((jobs.jobs, jobs.total), (vec![1], 1));
		let mine = h.provider(&provider);
		assert_eq!((mine.earned, mine.paid, mine.recent.len()), (0, 0, 0));
		// Swept (at a multiple of SWEEP_EVERY once blocks leave): the accounts are forgotten.
		let next_sweep = (day + 2).next_multiple_of(SWEEP_EVERY);
		for n in (day + 2)..=next_sweep {
			h.record(n, 0, Vec::new());
		}
		assert!(h.requesters.is_empty() && h.providers.is_empty());
	}

	#[test]
	fn a_requesters_jobs_newest_first_in_pages() {
		let mut h = History::default();
		for job in 0..10u64 {
			let requester = account(if job % 3 == 0 { 1 } else { 2 });
			h.record(job as u32 + 1, 0, vec![Seen::Submitted { job, requester }]);
		}
		let first = h.requester_jobs(&account(1), None, 2);
		assert_eq!(first.jobs, vec![9, 6]);
		assert_eq!(first.total, 4);
		assert_eq!(h.requester_jobs(&account(1), Some(6), 10).jobs, vec![3, 0]);
		assert_eq!(h.requester_jobs(&account(3), None, 10).jobs, Vec::<JobId>::new());
	}

	#[test]
	fn a_providers_earnings_and_recent_results() {
		let mut h = History::default();
		let (p, q) = (account(5), account(6));
		h.record(1, 0, vec![Seen::Paid { job: 1, replica: 0, provider: p.clone(), amount: 700 }]);
		h.record(
			2,
			0,
			vec![
				Seen::Offence {
					job: 2,
					replica: 1,
					provider: p.clone(),
					offence: OffenceKind::WrongResult,
				},
				Seen::Paid { job: 2, replica: 0, provider: q.clone(), amount: 5 },
			],
		);
		h.record(3, 0, vec![Seen::Paid { job: 3, replica: 0, provider: p.clone(), amount: 300 }]);
		let mine = h.provider(&p);
		assert_eq!((mine.earned, mine.paid, mine.offences), (1_000, 2, 1));
		let outcomes: Vec<_> = mine.recent.iter().map(|r| (r.block, r.job, r.outcome)).collect();
		assert_eq!(outcomes, vec![(3, 3, "paid"), (2, 2, "wrongResult"), (1, 1, "paid")]);
		assert_eq!(h.provider(&q).earned, 5);
		assert_eq!(h.provider(&account(9)).recent, vec![]);
		let json = serde_json::to_value(&mine).unwrap();
		assert_eq!(json["earned"], "1000", "amounts as decimal strings");
		assert_eq!(json["recent"][0]["outcome"], "paid");
	}

	#[test]
	fn recent_results_are_bounded() {
		let mut h = History::default();
		let p = account(5);
		for n in 1..=(RECENT_RESULTS as u32 + 10) {
			h.record(
				n,
				0,
				vec![Seen::Paid { job: n.into(), replica: 0, provider: p.clone(), amount: 1 }],
			);
		}
		let mine = h.provider(&p);
		assert_eq!(mine.recent.len(), RECENT_RESULTS);
		assert_eq!(mine.paid, RECENT_RESULTS as u32 + 10, "the totals count everything indexed");
		assert_eq!(mine.recent[0].block, RECENT_RESULTS as u32 + 10);
	}
}

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
/// Recent results kept per provider.
pub const RECENT_RESULTS: usize = 200;
/// Job ids kept per requester (the newest).
pub const JOBS_PER_REQUESTER: usize = 100_000;
/// Matches kept at most (the oldest go first): a day of 35 matches a block.
pub const MAX_MATCHES: usize = 1_000_000;
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

#[derive(Default)]
struct ProviderRecord {
	earned: Balance,
	paid: u32,
	offences: u32,
	recent: VecDeque<ProviderResult>,
}

/// The history the node has read so far.
#[derive(Default)]
pub struct History {
	/// `(number, timestamp in ms)` of each block read, oldest first.
	blocks: VecDeque<(BlockNumber, u64)>,
	/// `(number, kind, price)` of each match, oldest first.
	matches: VecDeque<(BlockNumber, JobKind, Balance)>,
	requesters: HashMap<AccountId, VecDeque<JobId>>,
	providers: HashMap<AccountId, ProviderRecord>,
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
		(self.blocks.front().map(|b| b.0), self.blocks.back().map(|b| b.0))
	}

	/// Records block `number` (made at `timestamp`) and what it saw. Blocks come in order; one
	/// already read is ignored. The oldest block goes when more than `HISTORY_BLOCKS` are kept.
	pub fn record(&mut self, number: BlockNumber, timestamp: u64, seen: Vec<Seen>) {
		if self.blocks.back().is_some_and(|(last, _)| *last >= number) {
			return;
		}
		self.blocks.push_back((number, timestamp));
		while self.blocks.len() > HISTORY_BLOCKS {
			self.blocks.pop_front();
		}
		let oldest = self.blocks.front().map_or(number, |b| b.0);
		while self.matches.front().is_some_and(|m| m.0 < oldest) {
			self.matches.pop_front();
		}
		for s in seen {
			match s {
				Seen::Submitted { job, requester } => {
					let jobs = self.requesters.entry(requester).or_default();
					jobs.push_back(job);
					if jobs.len() > JOBS_PER_REQUESTER {
						jobs.pop_front();
					}
				},
				Seen::Matched { kind, price } => {
					self.matches.push_back((number, kind, price));
					if self.matches.len() > MAX_MATCHES {
						self.matches.pop_front();
					}
				},
				Seen::Paid { job, replica, provider, amount } => {
					let p = self.providers.entry(provider).or_default();
					p.earned = p.earned.saturating_add(amount);
					p.paid = p.paid.saturating_add(1);
					Self::remember(
						p,
						ProviderResult { block: number, job, replica, outcome: "paid", amount },
					);
				},
				Seen::Offence { job, replica, provider, offence } => {
					let p = self.providers.entry(provider).or_default();
					p.offences = p.offences.saturating_add(1);
					let outcome = offence_name(&offence);
					Self::remember(
						p,
						ProviderResult { block: number, job, replica, outcome, amount: 0 },
					);
				},
			}
		}
	}

	fn remember(p: &mut ProviderRecord, r: ProviderResult) {
		p.recent.push_front(r);
		p.recent.truncate(RECENT_RESULTS);
	}

	/// Matches of `kind` over the blocks read, in at most `points` stretches of equal length.
	pub fn prices(&self, kind: JobKind, points: u32) -> PriceHistory {
		let (indexed_from, indexed_to) = self.range();
		let mut out = Vec::new();
		if let (Some(first), Some(last)) = (indexed_from, indexed_to) {
			let span = last.saturating_sub(first).saturating_add(1);
			let points = points.clamp(1, MAX_POINTS);
			let width = span.div_ceil(points).max(1);
			let mut blocks = self.blocks.iter().peekable();
			let mut matches = self.matches.iter().filter(|m| m.1 == kind).peekable();
			let mut from = first;
			while from <= last {
				let to = from.saturating_add(width.saturating_sub(1)).min(last);
				// The stretch's first block read (blocks may be missing where the state was).
				let mut timestamp = None;
				while let Some(&&(n, t)) = blocks.peek() {
					if n > to {
						break;
					}
					timestamp.get_or_insert(t);
					blocks.next();
				}
				let (mut count, mut min, mut max, mut sum) =
					(0u32, None::<Balance>, None::<Balance>, 0u128);
				while let Some(&&(n, _, price)) = matches.peek() {
					if n > to {
						break;
					}
					count = count.saturating_add(1);
					min = Some(min.map_or(price, |m| m.min(price)));
					max = Some(max.map_or(price, |m| m.max(price)));
					sum = sum.saturating_add(price);
					matches.next();
				}
				if let Some(timestamp) = timestamp {
					out.push(PricePoint {
						from,
						blocks: to.saturating_sub(from).saturating_add(1),
						timestamp,
						matches: count,
						min,
						max,
						mean: sum.checked_div(u128::from(count)),
					});
				}
				match to.checked_add(1) {
					Some(next) => from = next,
					None => break,
				}
			}
		}
		PriceHistory { indexed_from, indexed_to, points: out }
	}

	/// `who`'s jobs, newest first: `limit` of them older than `before` (all when `None`).
	pub fn requester_jobs(
		&self,
		who: &AccountId,
		before: Option<JobId>,
		limit: u32,
	) -> RequesterJobs {
		let (indexed_from, indexed_to) = self.range();
		let all = self.requesters.get(who);
		let jobs = all
			.map(|jobs| {
				jobs.iter()
					.rev()
					.filter(|j| before.is_none_or(|b| **j < b))
					.take(limit as usize)
					.copied()
					.collect()
			})
			.unwrap_or_default();
		RequesterJobs { indexed_from, indexed_to, total: all.map_or(0, |j| j.len() as u32), jobs }
	}

	/// `who`'s earnings and recent results.
	pub fn provider(&self, who: &AccountId) -> ProviderHistory {
		let (indexed_from, indexed_to) = self.range();
		let p = self.providers.get(who);
		ProviderHistory {
			indexed_from,
			indexed_to,
			earned: p.map_or(0, |p| p.earned),
			paid: p.map_or(0, |p| p.paid),
			offences: p.map_or(0, |p| p.offences),
			recent: p.map(|p| p.recent.iter().cloned().collect()).unwrap_or_default(),
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
fn read_block(client: &FullClient, hash: Hash) -> Option<(u64, Vec<Seen>)> {
	let timestamp = client.storage(hash, &storage_key("Timestamp", "Now")).ok()??;
	let timestamp = u64::decode(&mut &timestamp.0[..]).ok()?;
	let events = client.storage(hash, &storage_key("System", "Events")).ok()?;
	let records = match events {
		Some(data) => {
			Vec::<frame_system::EventRecord<RuntimeEvent, Hash>>::decode(&mut &data.0[..])
				.map_err(
					|e| log::debug!(target: "market-index", "block {hash}: events do not decode: {e}"),
				)
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
				// The job's kind, from the block that matched it.
				let kind =
					client.runtime_api().job_status(hash, job).ok().flatten().map(|j| j.kind);
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

/// Reads finalized blocks `from..=to` into `history`, skipping those whose state is gone.
fn read_range(client: &FullClient, history: &SharedHistory, from: BlockNumber, to: BlockNumber) {
	for number in from..=to {
		let Ok(Some(hash)) = client.hash(number) else { continue };
		if let Some((timestamp, seen)) = read_block(client, hash) {
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
	read_range(&client, &history, start, finalized);
	log::info!(target: "market-index", "market history indexed from block #{start} to #{finalized}");
	let mut last = finalized;
	while let Some(notification) = finality.next().await {
		let number = *notification.header.number();
		if number > last {
			read_range(&client, &history, last.saturating_add(1), number);
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
		let p = h.prices(JobKind::Wasm, 5);
		assert_eq!((p.indexed_from, p.indexed_to), (Some(1), Some(10)));
		assert_eq!(p.points.len(), 5);
		assert_eq!(p.points[0].from, 1);
		assert_eq!(p.points[0].blocks, 2);
		assert_eq!(p.points[0].timestamp, 3_000);
		assert_eq!(p.points[0].matches, 1);
		assert_eq!(p.points[1].mean, Some(4_000), "block 4's WASM match only, not the CUDA one");
		assert_eq!(p.points[4].min, Some(10_000));
		let one = h.prices(JobKind::Wasm, 1);
		assert_eq!(one.points.len(), 1);
		assert_eq!(one.points[0].matches, 5);
		assert_eq!(
			(one.points[0].min, one.points[0].max, one.points[0].mean),
			(Some(2_000), Some(10_000), Some(6_000))
		);
		let cuda = h.prices(JobKind::Cuda, 1000);
		assert_eq!(
			cuda.points.len(),
			10,
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
		assert_eq!(h.prices(JobKind::Wasm, 1).points[0].matches, HISTORY_BLOCKS as u32);
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

//! `stratus market` and `stratus provider list`.

use std::{collections::BTreeMap, process::ExitCode};

use serde::Serialize;
use stratus_client::{
	amount::Amount,
	chain::{slots_in_use, Chain, OfferRecord, Provider},
	runtime::runtime_types::pallet_provider_staking::types::ProviderStatus,
	AccountId,
};
use stratus_primitives::{market::amount, GpuSpec, ResourceClass};

use crate::{
	cli::session::{decimal_opt, print_json, Session},
	Cli,
};

/// What a resource class sells, in words: `cpu`, or the GPU class's model, memory and compute
/// capability from its provider's profile.
fn class_name(class: &ResourceClass, provider: Option<&Provider>) -> String {
	match class {
		ResourceClass::Cpu => "cpu".into(),
		ResourceClass::Gpu(i) => provider
			.and_then(|p| p.profile.gpus.get(usize::from(*i)))
			.map(gpu_words)
			.unwrap_or_else(|| format!("gpu class {i}")),
	}
}

fn gpu_words(gpu: &GpuSpec) -> String {
	format!(
		"gpu {} ({} MiB, cc {}.{})",
		String::from_utf8_lossy(&gpu.model),
		gpu.vram_mib,
		gpu.compute_capability / 10,
		gpu.compute_capability % 10
	)
}

/// One price level of a class's book.
#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Level {
	#[serde(serialize_with = "amount::serialize")]
	price: u128,
	offers: u32,
	free_slots: u32,
}

/// A class's side of the book: its price levels, cheapest first.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Book {
	class: String,
	kind: &'static str,
	#[serde(serialize_with = "decimal_opt")]
	best_price: Option<u128>,
	offers: u32,
	free_slots: u32,
	slots_in_use: u32,
	levels: Vec<Level>,
}

fn providers_by_account(list: Vec<(AccountId, Provider)>) -> BTreeMap<[u8; 32], Provider> {
	list.into_iter().map(|(a, p)| (a.0, p)).collect()
}

/// Whether an offer matches new jobs at block `now`.
fn live(offer: &OfferRecord, now: u64) -> bool {
	offer.open && u64::from(offer.expires_at) > now
}

/// The offers open at block `now`, grouped into books by class name.
fn books(
	offers: Vec<(u64, OfferRecord)>,
	providers: &BTreeMap<[u8; 32], Provider>,
	now: u64,
) -> Vec<Book> {
	let mut classes: BTreeMap<String, (&'static str, BTreeMap<u128, Level>, u32)> = BTreeMap::new();
	for (_, offer) in offers.into_iter().filter(|(_, o)| live(o, now)) {
		let kind = offer.class.kind().name();
		let name = class_name(&offer.class, providers.get(&offer.provider.0));
		let (_, levels, in_use) = classes.entry(name).or_insert((kind, BTreeMap::new(), 0));
		let level =
			levels.entry(offer.price).or_insert(Level { price: offer.price, ..Level::default() });
		level.offers = level.offers.saturating_add(1);
		level.free_slots =
			level.free_slots.saturating_add(offer.slots.saturating_sub(slots_in_use(&offer)));
		*in_use = in_use.saturating_add(slots_in_use(&offer));
	}
	classes
		.into_iter()
		.map(|(class, (kind, levels, slots_in_use))| {
			let levels: Vec<Level> = levels.into_values().collect();
			Book {
				class,
				kind,
				best_price: levels.iter().find(|l| l.free_slots > 0).map(|l| l.price),
				offers: levels.iter().map(|l| l.offers).sum(),
				free_slots: levels.iter().map(|l| l.free_slots).sum(),
				slots_in_use,
				levels,
			}
		})
		.collect()
}

pub async fn market(cli: &Cli) -> anyhow::Result<ExitCode> {
	let session = Session::open(cli).await?;
	let at = session.at().await?;
	let now = at.block_number();
	let providers = providers_by_account(Chain::all_providers(&at).await?);
	let books = books(Chain::all_offers(&at).await?, &providers, now);
	if cli.json {
		print_json(&serde_json::json!({ "block": now, "classes": books }))?;
		return Ok(ExitCode::SUCCESS);
	}
	if books.is_empty() {
		println!("no open offers at block {now}: no provider is selling compute right now");
	}
	for book in books {
		let best = book
			.best_price
			.map(|p| format!("best {} per unit", Amount(p)))
			.unwrap_or_else(|| "no free slot".into());
		println!(
			"{} ({} jobs): {best}; {} offer(s), {} free slot(s), {} in use",
			book.class, book.kind, book.offers, book.free_slots, book.slots_in_use
		);
		for level in book.levels {
			println!(
				"  {:>24} per unit  {:>4} offer(s)  {:>5} free slot(s)",
				Amount(level.price).to_string(),
				level.offers,
				level.free_slots
			);
		}
	}
	Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderRow {
	operator: String,
	worker: String,
	status: String,
	#[serde(serialize_with = "amount::serialize")]
	stake: u128,
	reserved_slots: u32,
	kinds: Vec<String>,
	cpu_cores: u16,
	memory_mib: u32,
	region: u16,
	gpus: Vec<String>,
	endpoint: Option<String>,
	offers: Vec<ProviderOffer>,
	#[serde(serialize_with = "amount::serialize")]
	frozen: u128,
	#[serde(serialize_with = "amount::serialize")]
	slashed: u128,
	/// Reputation per job kind, pending and applied slashes, in words.
	standing: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderOffer {
	offer: u64,
	class: String,
	#[serde(serialize_with = "amount::serialize")]
	price: u128,
	slots: u32,
	in_use: u32,
	expires_at: u32,
	open: bool,
}

pub async fn providers(cli: &Cli) -> anyhow::Result<ExitCode> {
	let session = Session::open(cli).await?;
	let at = session.at().await?;
	let now = at.block_number();
	let providers = Chain::all_providers(&at).await?;
	let offers = Chain::all_offers(&at).await?;
	let mut standing = Vec::with_capacity(providers.len());
	for (operator, _) in &providers {
		let reputation = Chain::reputation(&at, operator).await?;
		let pending = Chain::pending_slashes(&at, operator).await?;
		let applied = Chain::applied_slashes(&at, operator).await?;
		standing.push(stratus_client::chain::standing_lines(&reputation, &pending, &applied));
	}
	let rows: Vec<ProviderRow> = providers
		.iter()
		.zip(standing)
		.map(|((operator, p), standing)| ProviderRow {
			frozen: p.frozen,
			slashed: p.slashed,
			standing,
			operator: stratus_client::ss58(operator),
			worker: stratus_client::ss58(&p.worker),
			status: match p.status {
				ProviderStatus::Active => "active".into(),
				_ => "leaving".into(),
			},
			stake: p.stake,
			reserved_slots: p.reserved_slots,
			kinds: p.profile.kinds.iter().map(|k| k.name().to_owned()).collect(),
			cpu_cores: p.profile.cpu_cores,
			memory_mib: p.profile.memory_mib,
			region: p.profile.region,
			gpus: p
				.profile
				.gpus
				.iter()
				.map(|g| format!("{} × {}", g.count, gpu_words(g)))
				.collect(),
			endpoint: p.profile.endpoint.as_ref().map(|e| String::from_utf8_lossy(e).into_owned()),
			offers: offers
				.iter()
				.filter(|(_, o)| o.provider == *operator)
				.map(|(id, o)| ProviderOffer {
					offer: *id,
					class: class_name(&o.class, Some(p)),
					price: o.price,
					slots: o.slots,
					in_use: slots_in_use(o),
					expires_at: o.expires_at,
					open: live(o, now),
				})
				.collect(),
		})
		.collect();
	if cli.json {
		print_json(&rows)?;
		return Ok(ExitCode::SUCCESS);
	}
	if rows.is_empty() {
		println!("no providers registered");
	}
	for row in rows {
		println!(
			"{} ({}), stake {}, worker key {}",
			row.operator,
			row.status,
			Amount(row.stake),
			row.worker
		);
		println!(
			"  runs {}; {} CPU cores, {} MiB memory, region {}{}",
			row.kinds.join(" and "),
			row.cpu_cores,
			row.memory_mib,
			row.region,
			row.endpoint.map(|e| format!(", results at {e}")).unwrap_or_default()
		);
		for gpu in row.gpus {
			println!("  {gpu}");
		}
		if row.frozen > 0 || row.slashed > 0 {
			println!(
				"  stake frozen by pending slashes {}, slashed so far {}",
				Amount(row.frozen),
				Amount(row.slashed)
			);
		}
		for line in &row.standing {
			println!("  {line}");
		}
		for o in row.offers {
			let price = Amount(o.price);
			println!(
				"  offer {}: {} at {price} per unit, {}/{} slots in use, {}",
				o.offer,
				o.class,
				o.in_use,
				o.slots,
				if o.open { format!("open until block {}", o.expires_at) } else { "closed".into() }
			);
		}
	}
	Ok(ExitCode::SUCCESS)
}

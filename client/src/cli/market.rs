//! `stratus market` and `stratus provider list`.

use std::{collections::BTreeMap, process::ExitCode};

use serde::Serialize;
use stratus_client::{
	amount::Amount,
	chain::{Chain, OfferRecord, Provider},
	runtime::runtime_types::{
		pallet_provider_staking::types::ProviderStatus,
		stratus_primitives::{GpuSpec, JobKind, ResourceClass},
	},
	AccountId,
};

use crate::{
	cli::session::{print_json, Session},
	Cli,
};

/// What a resource class sells, in words: `cpu`, or the GPU class's model, memory and compute
/// capability from its provider's profile.
fn class_name(class: &ResourceClass, provider: Option<&Provider>) -> String {
	match class {
		ResourceClass::Cpu => "cpu".into(),
		ResourceClass::Gpu(i) => provider
			.and_then(|p| p.profile.gpus.0.get(usize::from(*i)))
			.map(gpu_words)
			.unwrap_or_else(|| format!("gpu class {i}")),
	}
}

fn gpu_words(gpu: &GpuSpec) -> String {
	format!(
		"gpu {} ({} MiB, cc {}.{})",
		String::from_utf8_lossy(&gpu.model.0),
		gpu.vram_mib,
		gpu.compute_capability / 10,
		gpu.compute_capability % 10
	)
}

/// One price level of a class's book.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Level {
	price: String,
	offers: u32,
	free_slots: u32,
}

/// A class's side of the book.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Book {
	class: String,
	kind: String,
	best_price: Option<String>,
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

pub async fn market(cli: &Cli) -> anyhow::Result<ExitCode> {
	let session = Session::open(cli).await?;
	let at = session.at().await?;
	let now = at.block_number();
	let providers = providers_by_account(Chain::all_providers(&at).await?);
	let mut books: BTreeMap<String, (String, BTreeMap<u128, (u32, u32)>, u32)> = BTreeMap::new();
	for (_, offer) in Chain::all_offers(&at).await? {
		if !live(&offer, now) {
			continue;
		}
		let provider = providers.get(&offer.provider.0);
		let kind = match offer.class {
			ResourceClass::Cpu => "wasm",
			ResourceClass::Gpu(_) => "cuda",
		};
		let entry = books
			.entry(class_name(&offer.class, provider))
			.or_insert_with(|| (kind.to_owned(), BTreeMap::new(), 0));
		let free = offer.slots.saturating_sub(offer.in_use);
		let level = entry.1.entry(offer.price).or_insert((0, 0));
		level.0 = level.0.saturating_add(1);
		level.1 = level.1.saturating_add(free);
		entry.2 = entry.2.saturating_add(offer.in_use);
	}
	let books: Vec<Book> = books
		.into_iter()
		.map(|(class, (kind, levels, in_use))| Book {
			class,
			kind,
			best_price: levels.iter().find(|(_, (_, free))| *free > 0).map(|(p, _)| p.to_string()),
			offers: levels.values().map(|(n, _)| n).sum(),
			free_slots: levels.values().map(|(_, f)| f).sum(),
			slots_in_use: in_use,
			levels: levels
				.into_iter()
				.map(|(price, (offers, free_slots))| Level {
					price: price.to_string(),
					offers,
					free_slots,
				})
				.collect(),
		})
		.collect();
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
			.as_deref()
			.and_then(|p| p.parse().ok())
			.map(|p| format!("best {} per unit", Amount(p)))
			.unwrap_or_else(|| "no free slot".into());
		println!(
			"{} ({} jobs): {best}; {} offer(s), {} free slot(s), {} in use",
			book.class, book.kind, book.offers, book.free_slots, book.slots_in_use
		);
		for level in book.levels {
			let price = level.price.parse().map(Amount).unwrap_or_default();
			println!(
				"  {:>24} per unit  {:>4} offer(s)  {:>5} free slot(s)",
				price.to_string(),
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
	stake: String,
	reserved_slots: u32,
	kinds: Vec<String>,
	cpu_cores: u16,
	memory_mib: u32,
	region: u16,
	gpus: Vec<String>,
	endpoint: Option<String>,
	offers: Vec<ProviderOffer>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderOffer {
	offer: u64,
	class: String,
	price: String,
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
	let rows: Vec<ProviderRow> = providers
		.iter()
		.map(|(operator, p)| ProviderRow {
			operator: stratus_client::ss58(operator),
			worker: stratus_client::ss58(&p.worker),
			status: match p.status {
				ProviderStatus::Active => "active".into(),
				_ => "leaving".into(),
			},
			stake: p.stake.to_string(),
			reserved_slots: p.reserved_slots,
			kinds: p
				.profile
				.kinds
				.0
				.iter()
				.map(|k| match k {
					JobKind::Wasm => "wasm".to_owned(),
					JobKind::Cuda => "cuda".to_owned(),
				})
				.collect(),
			cpu_cores: p.profile.cpu_cores,
			memory_mib: p.profile.memory_mib,
			region: p.profile.region,
			gpus: p
				.profile
				.gpus
				.0
				.iter()
				.map(|g| format!("{} × {}", g.count, gpu_words(g)))
				.collect(),
			endpoint: p
				.profile
				.endpoint
				.as_ref()
				.map(|e| String::from_utf8_lossy(&e.0).into_owned()),
			offers: offers
				.iter()
				.filter(|(_, o)| o.provider == *operator)
				.map(|(id, o)| ProviderOffer {
					offer: *id,
					class: class_name(&o.class, Some(p)),
					price: o.price.to_string(),
					slots: o.slots,
					in_use: o.in_use,
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
		let stake = row.stake.parse().map(Amount).unwrap_or_default();
		println!("{} ({}), stake {stake}, worker key {}", row.operator, row.status, row.worker);
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
		for o in row.offers {
			let price = o.price.parse().map(Amount).unwrap_or_default();
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

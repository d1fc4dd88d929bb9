//! The offers' upkeep: at each block, one open offer per resource class of the price policy (CPU;
//! each GPU class), posted when there is none and renewed when a replica ended (which re-matches
//! resting jobs against the freed slot) or it is about to expire.

use std::sync::Arc;

use stratus_primitives::ResourceClass;

use super::Daemon;
use crate::{
	chain::{AtBlock, Chain, ChainError},
	submitter::{Tx, TxKey},
};

impl Daemon {
	/// Keeps this provider's offers on the book: for each resource class of the price policy
	/// (CPU; each GPU class), posts an offer when there is none, and renews it (which also
	/// re-matches resting jobs against freed slots) when a replica ended or it is about to expire.
	pub(super) async fn upkeep_offers(
		self: &Arc<Self>,
		at: &AtBlock,
		now: u32,
	) -> Result<(), ChainError> {
		let policy = &self.config.offers;
		let mut wanted = Vec::new();
		if policy.cpu_slots > 0 {
			wanted.push((ResourceClass::Cpu, policy.cpu_price.0, policy.cpu_slots));
		}
		if policy.gpu_slots > 0 {
			for class in 0..self.gpus.len() {
				let class = u8::try_from(class).unwrap_or(u8::MAX);
				wanted.push((ResourceClass::Gpu(class), policy.gpu_price.0, policy.gpu_slots));
			}
		}
		if wanted.is_empty() {
			return Ok(());
		}
		let offers = Chain::offers(at, &self.worker).await?;
		let expires_at = now.saturating_add(policy.lifetime_blocks);
		let freed = std::mem::take(&mut *crate::lock(&self.freed));
		let mut registered = None;
		for (class, price, slots) in wanted {
			let key = TxKey::Offer(class);
			let open = offers
				.iter()
				.filter(|o| o.open && o.class == class && o.expires_at > now)
				.max_by_key(|o| o.expires_at);
			match open {
				None => {
					if registered.is_none() {
						registered = Some(Chain::operator_of(at, &self.worker).await?.is_some());
					}
					if registered == Some(true) {
						self.send(key, at, Tx::PostOffer { class, price, slots, expires_at });
					}
				},
				Some(offer) => {
					let expiring =
						offer.expires_at <= now.saturating_add(policy.lifetime_blocks / 4);
					if freed || expiring {
						let tx = Tx::UpdateOffer {
							offer: offer.offer,
							price: offer.price,
							slots: offer.slots.max(offer.in_use),
							expires_at,
						};
						self.send(key, at, tx);
					}
				},
			}
		}
		Ok(())
	}
}

//! The cache of compiled programs, keyed by program hash.

use std::collections::HashMap;
use wasmtime::Module;

/// The module cache's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
	/// Runs and preparations that found their program compiled.
	pub hits: u64,
	/// Runs and preparations that compiled their program.
	pub misses: u64,
	/// Programs held now.
	pub programs: usize,
}

/// The cache of compiled programs: bounded, least recently used evicted first.
pub(super) struct ModuleCache {
	pub(super) capacity: usize,
	pub(super) clock: u64,
	pub(super) entries: HashMap<[u8; 32], (Module, u64)>,
}

impl ModuleCache {
	pub(super) fn new(capacity: usize) -> Self {
		Self { capacity, clock: 0, entries: HashMap::new() }
	}

	pub(super) fn len(&self) -> usize {
		self.entries.len()
	}

	pub(super) fn get(&mut self, hash: &[u8; 32]) -> Option<Module> {
		self.clock = self.clock.wrapping_add(1);
		let (pre, used) = self.entries.get_mut(hash)?;
		*used = self.clock;
		Some(pre.clone())
	}

	pub(super) fn insert(&mut self, hash: [u8; 32], pre: Module) {
		if self.capacity == 0 {
			return;
		}
		while self.entries.len() >= self.capacity && !self.entries.contains_key(&hash) {
			let oldest = self.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(h, _)| *h);
			match oldest {
				Some(oldest) => self.entries.remove(&oldest),
				None => break,
			};
		}
		self.clock = self.clock.wrapping_add(1);
		self.entries.insert(hash, (pre, self.clock));
	}
}

//! The Stratus runtime fuzzer's harness (`docs/reliability.md`).
//!
//! [`run`] takes any bytes, decodes them into a sequence of [`actions::Action`]s, and plays them
//! on the real `stratus-runtime` (natively, in `TestExternalities`) from the `development`
//! genesis plus a fixed set-up (three providers with worker keys and offers, two programs): each
//! action is a signed extrinsic applied the way `frame-executive` applies it (signature, nonce,
//! fees, weight), or a block boundary that runs every hook. After every block it checks:
//!
//! - every Stratus pallet's `try_state` invariants (market, provider staking, verification,
//!   slashing, reputation), and the balances pallet's: each account's holds add up to its reserved balance;
//! - money conservation: total issuance equals the sum of every account's free and reserved
//!   balance, and it changed in the block by exactly the documented burns (transaction fees,
//!   which this runtime burns; `Balances::burn` calls; dust below the existential deposit);
//! - weights: no call used more weight than it declared before dispatch (the raw
//!   `PostDispatchInfo`, before FRAME clamps it), and no block is over its limit;
//!
//! and at the end of every input, that nothing stays locked for ever: every job ends once its
//! deadline has passed, every pending slash is applied once its deferral has passed, and every
//! ended job can be reaped after its retention.
//!
//! A failed check panics: to libFuzzer (the `fuzz-runtime` binary, `scripts/fuzz`) that is a
//! crash, and to the corpus test (`tests/corpus.rs`) a failure.

// A fuzz harness: a broken invariant must panic (that is how the engine sees a crash), and the
// arithmetic here is on small test values.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing
)]

pub mod actions;
mod driver;

pub use driver::{Report, TOTAL_EXTRINSICS, TOTAL_INPUTS};

use actions::Action;
use arbitrary::{Arbitrary, Unstructured};

/// The most actions one input plays (libFuzzer's inputs are at most 4 KiB by default anyway).
pub const MAX_ACTIONS: usize = 256;

/// Decodes `data` into the actions it stands for (as many as decode, at most [`MAX_ACTIONS`]).
pub fn decode(data: &[u8]) -> Vec<Action> {
	let mut u = Unstructured::new(data);
	let mut actions = Vec::new();
	while !u.is_empty() && actions.len() < MAX_ACTIONS {
		match Action::arbitrary(&mut u) {
			Ok(action) => actions.push(action),
			Err(_) => break,
		}
	}
	actions
}

/// Plays the actions `data` decodes to and checks every invariant; panics on a broken one.
pub fn run(data: &[u8]) -> Report {
	play(&decode(data))
}

/// Plays `actions` and checks every invariant; panics on a broken one.
pub fn play(actions: &[Action]) -> Report {
	driver::Driver::play(actions)
}

//! `stratus-node`: the Stratus validator and RPC node.

#![warn(missing_docs)]

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod chain_spec;
mod cli;
mod command;
mod market_index;
mod market_rpc;
mod rpc;
mod service;
mod trust_rpc;

fn main() {
	// Errors are printed for people (`Display`), not as a `Debug` dump.
	if let Err(error) = command::run() {
		eprintln!("Error: {error}");
		std::process::exit(1);
	}
}

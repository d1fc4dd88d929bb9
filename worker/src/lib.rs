//! `stratus-worker`: the daemon a Stratus provider runs next to its GPUs and CPUs.
//!
//! It follows the chain, takes the jobs assigned to its provider, runs them in the executors
//! ([`executor::wasm`], [`executor::cuda`]), commits and reveals their results and serves the
//! outputs to the jobs' requesters.

pub mod config;
pub mod executor;
pub mod host;
pub mod init;

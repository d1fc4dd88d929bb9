//! `stratus-worker`: the daemon a Stratus provider runs next to its GPUs and CPUs.
//!
//! It follows the chain ([`chain`], [`daemon`]), takes the jobs assigned to its provider, runs them
//! in the executors ([`executor::wasm`], [`executor::cuda`]), keeps every result durably before
//! committing it ([`store`]), commits and reveals through one signing task ([`submitter`]) and
//! serves the outputs to the jobs' requesters ([`server`], [`auth`]).

pub use stratus_client::auth;
pub use stratus_client::chain;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod executor;
pub mod fetch;
pub mod host;
pub mod init;
pub mod metrics;
pub use stratus_client::seal;
pub mod server;
pub mod store;
pub mod submitter;

/// Locks `mutex`, taking the data over from a thread that panicked while holding it (every
/// critical section here leaves the data consistent).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
	mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

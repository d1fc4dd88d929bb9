//! Prometheus metrics, served at `/metrics` on the result server.

use prometheus::{
	Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
	TextEncoder,
};

/// The worker's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
	registry: Registry,
	/// The last finalized block the worker processed.
	pub finalized_block: IntGauge,
	/// The last best block the worker acted on (`[chain] follow = "best"`).
	pub best_block: IntGauge,
	/// Reorgs seen: the best block the worker acted on left the best chain.
	pub reorgs: IntCounter,
	/// Replicas the worker saw assigned to it.
	pub assigned: IntCounter,
	/// Replicas declined, by reason.
	pub declined: IntCounterVec,
	/// Jobs run, by outcome (`ok` or the failure kind).
	pub executed: IntCounterVec,
	/// Seconds a job ran in its executor.
	pub execution_seconds: Histogram,
	/// Seconds of worker overhead per job outside chain waits (fetch, verify, digest, store, sign).
	pub overhead_seconds: Histogram,
	/// Compute units revealed.
	pub units: IntCounter,
	/// Transactions, by call and result.
	pub transactions: IntCounterVec,
	/// Jobs running now.
	pub running: IntGauge,
	/// Connections (re-)established to a node.
	pub connections: IntCounter,
	/// Output downloads, by result (`served`, `refused`, `missing`).
	pub downloads: IntCounterVec,
}

impl Metrics {
	/// Registers every metric in a fresh registry.
	// The names and labels are constants: registering fails only on a programming error (a
	// duplicate or invalid name), which `metrics_render` below catches.
	#[allow(clippy::expect_used)]
	pub fn new() -> Self {
		let registry = Registry::new_custom(Some("stratus_worker".into()), None).expect("prefix");
		macro_rules! reg {
			($metric:expr) => {{
				let metric = $metric.expect("metric");
				registry.register(Box::new(metric.clone())).expect("unique metric");
				metric
			}};
		}
		let seconds = |name: &str, help: &str| {
			HistogramOpts::new(name, help).buckets(vec![
				0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
				120.0, 600.0,
			])
		};
		Self {
			finalized_block: reg!(IntGauge::new(
				"finalized_block",
				"Last finalized block processed"
			)),
			best_block: reg!(IntGauge::new("best_block", "Last best block acted on")),
			reorgs: reg!(IntCounter::new(
				"reorgs_total",
				"Reorgs seen: the best block acted on left the best chain"
			)),
			assigned: reg!(IntCounter::new(
				"replicas_assigned_total",
				"Replicas assigned to this worker"
			)),
			declined: reg!(IntCounterVec::new(
				Opts::new("replicas_declined_total", "Replicas declined, by reason"),
				&["reason"]
			)),
			executed: reg!(IntCounterVec::new(
				Opts::new("jobs_executed_total", "Jobs run, by outcome"),
				&["outcome"]
			)),
			execution_seconds: reg!(Histogram::with_opts(seconds(
				"job_execution_seconds",
				"Seconds a job ran in its executor"
			))),
			overhead_seconds: reg!(Histogram::with_opts(seconds(
				"job_overhead_seconds",
				"Worker overhead per job outside chain waits"
			))),
			units: reg!(IntCounter::new(
				"units_committed_total",
				"Compute units revealed (each bound by its commitment)"
			)),
			transactions: reg!(IntCounterVec::new(
				Opts::new("transactions_total", "Transactions, by call and result"),
				&["call", "result"]
			)),
			running: reg!(IntGauge::new("jobs_running", "Jobs running now")),
			connections: reg!(IntCounter::new(
				"connections_total",
				"Connections established to a node"
			)),
			downloads: reg!(IntCounterVec::new(
				Opts::new("output_downloads_total", "Output download requests, by result"),
				&["result"]
			)),
			registry,
		}
	}

	/// Counts a transaction.
	pub fn tx(&self, call: &str, ok: bool) {
		self.transactions.with_label_values(&[call, if ok { "ok" } else { "failed" }]).inc();
	}

	/// The metrics in Prometheus's text format.
	pub fn render(&self) -> String {
		let mut buffer = Vec::new();
		match TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
			Ok(()) => String::from_utf8_lossy(&buffer).into_owned(),
			Err(e) => format!("# metrics could not be encoded: {e}\n"),
		}
	}
}

impl Default for Metrics {
	fn default() -> Self {
		Self::new()
	}
}

#[cfg(test)]
mod tests {
	#[test]
	fn metrics_render() {
		let metrics = super::Metrics::new();
		metrics.tx("commit", true);
		metrics.units.inc_by(7);
		let text = metrics.render();
		assert!(
			text.contains("stratus_worker_transactions_total{call=\"commit\",result=\"ok\"} 1"),
			"{text}"
		);
		assert!(text.contains("stratus_worker_units_committed_total 7"), "{text}");
	}
}

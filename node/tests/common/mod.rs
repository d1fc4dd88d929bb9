//! Helpers the node's black-box tests share: start the real binary, talk JSON-RPC over HTTP.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
	net::TcpListener,
	path::PathBuf,
	process::{Child, Command, Output, Stdio},
	time::{Duration, Instant},
};

/// The node binary cargo built for these tests.
pub fn node_bin() -> PathBuf {
	PathBuf::from(env!("CARGO_BIN_EXE_stratus-node"))
}

/// Runs the node with `args` to completion (for subcommands and refused starts).
pub fn run(args: &[&str]) -> Output {
	Command::new(node_bin()).args(args).output().expect("the node binary runs")
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `stratus-node --dev` on the given ports with `extra` flags; the chain lives in a temporary
/// folder unless `extra` names a `--base-path`.
pub fn dev_command(rpc: u16, p2p: u16, prometheus: u16, extra: &[&str]) -> Command {
	let storage: &[&str] = if extra.contains(&"--base-path") { &[] } else { &["--tmp"] };
	let mut command = Command::new(node_bin());
	command
		.args(["--dev", "--no-mdns"])
		.args(storage)
		.args(["--rpc-port", &rpc.to_string()])
		.args(["--port", &p2p.to_string()])
		.args(["--prometheus-port", &prometheus.to_string()])
		.args(extra);
	command
}

/// A node process that is stopped (SIGINT, then SIGKILL) when dropped.
pub struct Node {
	pub child: Child,
	pub rpc_port: u16,
	pub prometheus_port: u16,
	pub log: PathBuf,
}

impl Node {
	/// Starts [`dev_command`] on free ports, logging to a file.
	pub fn start_dev(extra: &[&str]) -> Node {
		let rpc_port = free_port();
		let p2p_port = free_port();
		let prometheus_port = free_port();
		let log = std::env::temp_dir()
			.join(format!("stratus-node-test-{}-{rpc_port}.log", std::process::id()));
		let log_file = std::fs::File::create(&log).unwrap();
		let child = dev_command(rpc_port, p2p_port, prometheus_port, extra)
			.stdout(Stdio::null())
			.stderr(log_file)
			.spawn()
			.expect("the node starts");
		Node { child, rpc_port, prometheus_port, log }
	}

	/// Calls `method` over HTTP JSON-RPC and returns the `result`, or the error as text.
	pub fn rpc(
		&self,
		method: &str,
		params: serde_json::Value,
	) -> Result<serde_json::Value, String> {
		let body =
			serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
		let response: serde_json::Value =
			ureq::post(&format!("http://127.0.0.1:{}", self.rpc_port))
				.timeout(Duration::from_secs(10))
				.send_json(body)
				.map_err(|e| e.to_string())?
				.into_json()
				.map_err(|e| e.to_string())?;
		match response.get("result") {
			Some(result) => Ok(result.clone()),
			None => Err(response.to_string()),
		}
	}

	/// The Prometheus exposition the node serves at `/metrics`.
	pub fn metrics(&self) -> Result<String, String> {
		ureq::get(&format!("http://127.0.0.1:{}/metrics", self.prometheus_port))
			.timeout(Duration::from_secs(10))
			.call()
			.map_err(|e| e.to_string())?
			.into_string()
			.map_err(|e| e.to_string())
	}

	/// Waits until `check` holds, or panics with the node's log after `timeout`.
	pub fn wait_for<T>(
		&mut self,
		timeout: Duration,
		what: &str,
		mut check: impl FnMut(&Node) -> Option<T>,
	) -> T {
		let start = Instant::now();
		loop {
			if let Some(value) = check(self) {
				return value;
			}
			if let Ok(Some(status)) = self.child.try_wait() {
				panic!("the node exited ({status}) while waiting for {what}:\n{}", self.log_text());
			}
			if start.elapsed() > timeout {
				panic!("timed out after {timeout:?} waiting for {what}:\n{}", self.log_text());
			}
			std::thread::sleep(Duration::from_millis(500));
		}
	}

	/// The number of the finalized block, or of the best block.
	pub fn block_number(&self, finalized: bool) -> Option<u64> {
		let params = if finalized {
			let hash = self.rpc("chain_getFinalizedHead", serde_json::json!([])).ok()?;
			serde_json::json!([hash])
		} else {
			serde_json::json!([])
		};
		let header = self.rpc("chain_getHeader", params).ok()?;
		u64::from_str_radix(header.get("number")?.as_str()?.trim_start_matches("0x"), 16).ok()
	}

	pub fn log_text(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}

	/// Stops the node with SIGINT, as Ctrl-C would, and returns whether it exited by itself.
	pub fn stop(&mut self) -> bool {
		let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
		let start = Instant::now();
		while start.elapsed() < Duration::from_secs(30) {
			if let Ok(Some(_)) = self.child.try_wait() {
				return true;
			}
			std::thread::sleep(Duration::from_millis(200));
		}
		false
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		if let Ok(None) = self.child.try_wait() {
			let _ = self.child.kill();
			let _ = self.child.wait();
		}
		let _ = std::fs::remove_file(&self.log);
	}
}

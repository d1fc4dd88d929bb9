//! Smoke test of a real node: `stratus-node --dev` produces and finalizes blocks on its own,
//! serves the standard RPC surface and stops cleanly on Ctrl-C.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Node;
use std::time::Duration;

#[test]
fn dev_chain_produces_and_finalizes_blocks() {
	let mut node = Node::start_dev(&[]);

	let finalized = node.wait_for(Duration::from_secs(180), "finalized block #3", |n| {
		n.block_number(true).filter(|&f| f >= 3)
	});
	let best = node.block_number(false).expect("best block");
	assert!(best >= finalized, "best #{best} behind finalized #{finalized}");

	// Chain properties name the token and address format.
	let props = node.rpc("system_properties", serde_json::json!([])).unwrap();
	assert_eq!(props["tokenSymbol"], "STRAT");
	assert_eq!(props["tokenDecimals"], 12);
	assert_eq!(props["ss58Format"], 7007);
	assert_eq!(node.rpc("system_chain", serde_json::json!([])).unwrap(), "Stratus Development");

	// The node's own RPC extensions answer.
	let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
	let nonce = node.rpc("system_accountNextIndex", serde_json::json!([alice])).unwrap();
	assert_eq!(nonce, 0);
	let methods = node.rpc("rpc_methods", serde_json::json!([])).unwrap();
	let methods: Vec<&str> =
		methods["methods"].as_array().unwrap().iter().filter_map(|m| m.as_str()).collect();
	for expected in [
		"payment_queryInfo",
		"system_accountNextIndex",
		"chainHead_v1_follow",
		"transaction_v1_broadcast",
		"author_submitExtrinsic",
		"state_getMetadata",
	] {
		assert!(methods.contains(&expected), "{expected} is not served");
	}

	// Prometheus metrics are exported; the finalized height there follows RPC's (it is refreshed
	// every few seconds, so wait for it).
	node.wait_for(Duration::from_secs(60), "the finalized height metric to reach 3", |n| {
		let metrics = n.metrics().ok()?;
		let line = metrics
			.lines()
			.find(|l| l.starts_with("substrate_block_height{status=\"finalized\""))?;
		line.rsplit(' ').next()?.parse::<u64>().ok().filter(|&h| h >= 3)
	});

	assert!(node.stop(), "the node did not stop on SIGINT:\n{}", node.log_text());
	let log = node.log_text();
	assert!(!log.contains("panicked"), "the node panicked:\n{log}");
}

#[test]
fn the_litep2p_backend_also_finalizes() {
	let mut node = Node::start_dev(&["--network-backend", "litep2p"]);
	node.wait_for(Duration::from_secs(180), "finalized block #1 on litep2p", |n| {
		n.block_number(true).filter(|&f| f >= 1)
	});
	assert!(node.log_text().contains("litep2p"), "the node did not start litep2p");
	assert!(node.stop(), "the node did not stop on SIGINT:\n{}", node.log_text());
}

//! Runs the subcommand or the node the command line asks for.

use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};
use clap::{CommandFactory, FromArgMatches};
use sc_cli::SubstrateCli;
use sc_network::multiaddr::Protocol;
use sc_service::PartialComponents;
use std::net::{SocketAddr, TcpListener};
use stratus_runtime::opaque::Block;

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"Stratus Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://example.invalid/stratus/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		chain_spec::load(id)
	}
}

impl Cli {
	/// Parses the command line like `SubstrateCli::from_args`, with one Stratus default: the
	/// libp2p network backend (`--network-backend litep2p` still selects litep2p).
	fn parse() -> Self {
		let command = <Self as SubstrateCli>::setup_command(<Self as CommandFactory>::command())
			.mut_arg("network_backend", |arg| arg.default_value("libp2p"));
		let matches = command.get_matches();
		<Self as FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
	}
}

/// Refuses to start when a port the node must listen on is taken, naming the port and the flag
/// that moves it. Without this, sc-cli moves the RPC server to a random port and the node runs on
/// without Prometheus or a p2p listener, leaving dApps and operators talking to the wrong process.
fn check_listen_ports(config: &mut sc_service::Configuration) -> sc_cli::Result<()> {
	for endpoint in config.rpc.addr.iter_mut().flatten() {
		endpoint.retry_random_port = false;
		// The IPv6 endpoint is optional: hosts without IPv6 skip it.
		if !endpoint.is_optional {
			check_port_free("JSON-RPC server", endpoint.listen_addr, "--rpc-port")?;
		}
	}
	if let Some(prometheus) = &config.prometheus_config {
		check_port_free("Prometheus exporter", prometheus.port, "--prometheus-port")?;
	}
	for address in &config.network.listen_addresses {
		let mut ip = None;
		let mut port = None;
		for protocol in address.iter() {
			match protocol {
				Protocol::Ip4(v4) => ip = Some(std::net::IpAddr::V4(v4)),
				Protocol::Tcp(p) => port = Some(p),
				_ => {},
			}
		}
		if let (Some(ip), Some(port)) = (ip, port) {
			check_port_free("p2p listener", SocketAddr::new(ip, port), "--port")?;
		}
	}
	Ok(())
}

fn check_port_free(what: &str, address: SocketAddr, flag: &str) -> sc_cli::Result<()> {
	if address.port() == 0 {
		return Ok(());
	}
	TcpListener::bind(address).map(drop).map_err(|e| {
		let message = format!(
			"cannot open the {what} on {address}: {e}. Is another node running? Choose another \
			 port with {flag}."
		);
		sc_cli::Error::Application(message.into())
	})
}

/// Parses the command line and runs what it asks for.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::parse();
	// Accounts in the node's JSON (the market_* RPC answers) and logs in the chain's own address
	// format, as wallets and @polkadot/api print them, not Substrate's generic 42.
	sp_core::crypto::set_default_ss58_version(sp_core::crypto::Ss58AddressFormat::custom(
		stratus_primitives::SS58_PREFIX,
	));

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::ExportChainSpec(cmd)) => {
			let chain_spec = cli.load_spec(&cmd.chain)?;
			cmd.run(chain_spec)
		},
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		},
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		},
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		},
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		},
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => crate::benchmarking::run(&cli, cmd),
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<Block>(&config))
		},
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let gossip = std::time::Duration::from_millis(cli.grandpa_gossip_ms);
			runner.run_node_until_exit(|mut config| async move {
				check_listen_ports(&mut config)?;
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => service::new_full::<
						sc_network::NetworkWorker<
							Block,
							<Block as sp_runtime::traits::Block>::Hash,
						>,
					>(config, gossip)
					.map_err(sc_cli::Error::Service),
					sc_network::config::NetworkBackendType::Litep2p => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(config, gossip)
							.map_err(sc_cli::Error::Service)
					},
				}
			})
		},
	}
}

use clap::{Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode};

use stratus_worker::{executor::cuda, host, init};

/// The Stratus provider worker: runs WASM and CUDA jobs from the compute market.
#[derive(Parser, Debug)]
#[command(name = "stratus-worker", version, about)]
struct Cli {
	/// The config file.
	#[arg(long, global = true, env = "STRATUS_WORKER_CONFIG", default_value_os_t = default_config())]
	config: PathBuf,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
	/// Detect this host (GPUs, CPU, memory) and write a commented config and a key file.
	Init {
		/// A node's WebSocket endpoint; repeat for several.
		#[arg(long = "endpoint", default_value = "ws://127.0.0.1:9944")]
		endpoints: Vec<String>,
		/// The region code to register (e.g. ISO 3166 numeric: 276 Germany, 840 USA).
		#[arg(long, default_value_t = 0)]
		region: u16,
		/// Overwrite an existing config (an existing key file is always kept).
		#[arg(long)]
		force: bool,
	},
	/// Print what this host has, as `init` detects it.
	Detect,
}

fn default_config() -> PathBuf {
	let base = std::env::var_os("XDG_CONFIG_HOME")
		.map(PathBuf::from)
		.or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
		.unwrap_or_else(|| PathBuf::from("."));
	base.join("stratus-worker").join("worker.toml")
}

fn main() -> ExitCode {
	// The child process of a CUDA job (`executor::cuda`): it must take over before anything else
	// runs or writes to stdout/stderr.
	if std::env::args_os().nth(1).is_some_and(|arg| arg == cuda::CHILD_ARG) {
		return cuda::child_main();
	}
	let cli = Cli::parse();
	match cli.command {
		Command::Detect => {
			print!("{}", init::describe(&host::detect()).replace("#   ", ""));
			ExitCode::SUCCESS
		},
		Command::Init { endpoints, region, force } => {
			let options = init::InitOptions { config: cli.config, endpoints, region, force };
			match init::init(&options, &host::detect()) {
				Ok(report) => {
					println!("wrote {}", report.config.display());
					if report.new_keys {
						println!(
							"wrote {} (mode 0600): new operator and worker keys",
							report.keys.display()
						);
					} else {
						println!("kept the existing key file {}", report.keys.display());
					}
					if let (Some(operator), Some(worker)) = (report.operator, report.worker) {
						println!("operator account: {operator} (fund it before `register`)");
						println!("worker key:       {worker}");
					}
					ExitCode::SUCCESS
				},
				Err(e) => {
					eprintln!("error: {e}");
					ExitCode::FAILURE
				},
			}
		},
	}
}

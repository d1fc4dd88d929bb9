use clap::{Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode};

use stratus_worker::{commands, config::Config, daemon, executor::cuda, host, init};

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
	/// Detect this host (GPUs, CPU, memory) and write a commented config and a worker key file
	/// (a fresh key, encrypted with a passphrase from STRATUS_WORKER_PASSPHRASE or the terminal).
	Init {
		/// The operator account's address (its secret stays on the operator's own machine).
		#[arg(long)]
		operator: Option<String>,
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
	/// Write the registration (this host's profile, the worker key and its proof of consent,
	/// the stake) for the operator to sign and send from its own machine with `stratus provider
	/// register`. Needs no operator secret.
	Register {
		/// The operator account's address (default: the config's keys.operator).
		#[arg(long)]
		operator: Option<String>,
		/// Where to write the registration (default: registration.json beside the key file).
		#[arg(long)]
		out: Option<PathBuf>,
	},
	/// Post (or renew) the offers of the config's price policy.
	Offer,
	/// Show stake, offers, replicas and earnings.
	Status {
		/// Print JSON.
		#[arg(long)]
		json: bool,
	},
	/// Run the worker: follow the chain, run assigned jobs, commit, reveal, serve results.
	Run,
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
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
		)
		.with_writer(std::io::stderr)
		.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
		.init();
	match cli.command {
		Command::Register { .. } | Command::Offer | Command::Status { .. } | Command::Run => {
			chain_command(cli.config, cli.command)
		},
		Command::Detect => {
			print!("{}", init::describe(&host::detect_and_measure()).replace("#   ", ""));
			ExitCode::SUCCESS
		},
		Command::Init { endpoints, region, force, operator } => {
			let options =
				init::InitOptions { config: cli.config, endpoints, region, force, operator };
			match init::init(&options, &host::detect_and_measure()) {
				Ok(report) => {
					println!("wrote {}", report.config.display());
					if report.new_keys {
						println!(
							"wrote {} (mode 0600, encrypted): a new worker key",
							report.keys.display()
						);
					} else if report.keys.exists() {
						println!("kept the existing key file {}", report.keys.display());
					}
					println!("worker key: {}", report.worker);
					match report.operator {
						Some(operator) => println!(
							"operator:   {operator} (next: `stratus-worker register`, then send \
							 the registration from the operator's machine)"
						),
						None => println!(
							"operator:   not set (next: `stratus-worker register --operator \
							 <address>`)"
						),
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

fn fail(e: impl std::fmt::Display) -> ExitCode {
	eprintln!("error: {e}");
	ExitCode::FAILURE
}

/// The commands that talk to the chain, on a tokio runtime.
fn chain_command(config_path: PathBuf, command: Command) -> ExitCode {
	let config = match Config::load(&config_path) {
		Ok(config) => config,
		Err(e) => return fail(e),
	};
	let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
		Ok(runtime) => runtime,
		Err(e) => return fail(format!("cannot start the async runtime: {e}")),
	};
	let code = runtime.block_on(async move {
		match command {
			Command::Register { operator, out } => {
				let made = commands::register(
					&config,
					&host::detect(),
					operator.as_deref(),
					out.as_deref(),
				)
				.await;
				match made {
					Ok(report) => report.lines().iter().for_each(|l| println!("{l}")),
					Err(e) => return fail(e),
				}
			},
			Command::Offer => match commands::offer(&config, &host::detect()).await {
				Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
				Err(e) => return fail(e),
			},
			Command::Status { json } => match commands::status(&config).await {
				Ok(status) if json => match serde_json::to_string_pretty(&status) {
					Ok(text) => println!("{text}"),
					Err(e) => return fail(e),
				},
				Ok(status) => print!("{}", status.text()),
				Err(e) => return fail(e),
			},
			Command::Run => return run(config).await,
			Command::Init { .. } | Command::Detect => unreachable!("handled before"),
		}
		ExitCode::SUCCESS
	});
	// A WASM job still running on a blocking thread is not waited for: its record and checkpoint
	// are on disk and the next start resumes it.
	runtime.shutdown_timeout(std::time::Duration::from_secs(1));
	code
}

async fn run(config: Config) -> ExitCode {
	// The worker key, and nothing else: the operator's secret is never on this host.
	let worker_key = match stratus_worker::config::WorkerKey::load(&config.keys.file) {
		Ok(key) => key,
		Err(e) => return fail(e),
	};
	let running = match daemon::start(config, worker_key).await {
		Ok(running) => running,
		Err(e) => return fail(e),
	};
	let mut terminate =
		match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
			Ok(signal) => signal,
			Err(e) => return fail(format!("cannot listen for SIGTERM: {e}")),
		};
	tokio::select! {
		_ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
		_ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
		_ = running.cancel.cancelled() => tracing::error!("stopping after a fatal error"),
	}
	let fatal = running.cancel.is_cancelled();
	running.shutdown(std::time::Duration::from_secs(10)).await;
	tracing::info!("stopped");
	if fatal {
		ExitCode::FAILURE
	} else {
		ExitCode::SUCCESS
	}
}

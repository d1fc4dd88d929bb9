//! `stratus`: the requester's command line. See `stratus --help` and `docs/requester-guide.md`.

mod cli {
	pub mod account;
	pub mod gov;
	pub mod job;
	pub mod market;
	pub mod program;
	pub mod provider;
	pub mod session;
}

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use cli::{account, job, market};

const EXAMPLES: &str = "\
Examples:
  echo //Alice | stratus account import alice     keys come from stdin, never the command line
  stratus program register sha256.wasm            check a program, register it, print its hash
  stratus job submit job.toml                     post a job from a manifest and follow it
  stratus job why 7                               why job 7 has no provider yet
  stratus job result 7 -o out.bin                 download job 7's output, checked against the chain
  stratus market --json                           the order book, for scripts
  stratus gov propose param market.ProtocolFee 3%  a referendum on a market parameter
  stratus gov vote 4 aye \"100 STRAT\"            vote on referendum 4 with conviction 1

Every command talks to ws://127.0.0.1:9944 unless --endpoint (or STRATUS_ENDPOINTS) says otherwise.
The requester's guide: docs/requester-guide.md";

/// Stratus for requesters: register programs, post jobs, follow them to settlement and download
/// their verified results.
#[derive(Parser, Debug)]
#[command(name = "stratus", version, after_help = EXAMPLES)]
pub struct Cli {
	/// Node endpoints (WebSocket JSON-RPC), tried in order until one answers; comma-separated in
	/// the environment.
	#[arg(
		long = "endpoint",
		short = 'e',
		env = "STRATUS_ENDPOINTS",
		value_delimiter = ',',
		default_value = "ws://127.0.0.1:9944",
		global = true
	)]
	pub endpoints: Vec<String>,
	/// The keystore: a directory of encrypted polkadot-js JSON key files, one per account
	/// (default: $XDG_CONFIG_HOME/stratus/keys). Their passphrase comes from STRATUS_PASSPHRASE
	/// or is asked on the terminal.
	#[arg(long, env = "STRATUS_KEYSTORE", global = true)]
	pub keystore: Option<PathBuf>,
	/// The keystore account that signs (needed when the keystore holds several).
	#[arg(long, short = 'a', env = "STRATUS_ACCOUNT", global = true)]
	pub account: Option<String>,
	/// Print machine-readable JSON instead of text.
	#[arg(long, global = true)]
	pub json: bool,
	#[command(subcommand)]
	pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
	/// Manage the keys in the keystore.
	#[command(subcommand)]
	Account(account::AccountCommand),
	/// Register programs.
	#[command(subcommand)]
	Program(ProgramCommand),
	/// Post, follow, cancel and explain jobs; download their results.
	#[command(subcommand)]
	Job(job::JobCommand),
	/// The order book: open offers per resource class, their depth and best prices.
	Market,
	/// Providers.
	#[command(subcommand)]
	Provider(ProviderCommand),
	/// Governance: referenda on parameters, upgrades and slashes; votes, delegation, unlocking.
	#[command(subcommand)]
	Gov(cli::gov::GovCommand),
	/// Print a file's blake2-256 hash (what a manifest's `input.hash` names for a URL input).
	Hash {
		/// The file.
		file: PathBuf,
	},
}

#[derive(Subcommand, Debug)]
pub enum ProgramCommand {
	/// Check a program (a WASM module, or a CUDA job manifest in JSON), register it and print its
	/// hash. A program the chain already has is not registered again.
	#[command(after_help = "Example:\n  stratus program register sha256.wasm")]
	Register {
		/// The program file.
		file: PathBuf,
	},
	/// Remove a program you registered and get its deposit back, in two steps: the first run
	/// retires it (no new job may use it; jobs already submitted keep it until their deadlines,
	/// at most `MaxJobDuration`), a run from the block it names on deletes it.
	#[command(
		after_help = "Example:\n  stratus program remove 0x3f1c…(the hash `register` printed)"
	)]
	Remove {
		/// The program's hash.
		program: String,
	},
}

#[derive(Subcommand, Debug)]
pub enum ProviderCommand {
	/// Registered providers: capability profiles, stakes and offers.
	List,
	/// Register the signing account as a provider from the file `stratus-worker register` wrote
	/// on the worker host (profile, worker key and its proof of consent, stake), and fund the
	/// worker key's fees. The operator's key stays on this machine. Run again, it bonds what the
	/// file's stake adds.
	#[command(
		after_help = "Example (on the operator's machine, after copying the file over):\n  \
		              stratus --account operator provider register registration.json"
	)]
	Register {
		/// The registration file.
		file: PathBuf,
	},
}

#[tokio::main]
async fn main() -> ExitCode {
	let cli = Cli::parse();
	match run(&cli).await {
		Ok(code) => code,
		Err(e) => {
			eprintln!("error: {e:#}");
			ExitCode::FAILURE
		},
	}
}

async fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
	match &cli.command {
		Command::Account(command) => account::run(cli, command),
		Command::Program(ProgramCommand::Register { file }) => {
			cli::program::register_program(cli, file).await?;
			Ok(ExitCode::SUCCESS)
		},
		Command::Program(ProgramCommand::Remove { program }) => {
			cli::program::remove_program(cli, program).await?;
			Ok(ExitCode::SUCCESS)
		},
		Command::Job(command) => job::run(cli, command).await,
		Command::Market => market::market(cli).await,
		Command::Gov(command) => cli::gov::run(cli, command).await,
		Command::Provider(ProviderCommand::List) => market::providers(cli).await,
		Command::Provider(ProviderCommand::Register { file }) => {
			cli::provider::register(cli, file).await
		},
		Command::Hash { file } => {
			let bytes = std::fs::read(file)
				.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
			let hash = format!("0x{}", hex::encode(stratus_client::blake2_256(&bytes)));
			if cli.json {
				println!("{}", serde_json::json!({ "hash": hash, "size": bytes.len() }));
			} else {
				println!("{hash}  {} bytes  {}", bytes.len(), file.display());
			}
			Ok(ExitCode::SUCCESS)
		},
	}
}

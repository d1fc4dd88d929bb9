//! `stratus account new|import|export|list|migrate`.

use std::{io::BufRead, path::PathBuf, process::ExitCode};

use clap::Subcommand;

use crate::{
	cli::session::{keystore, print_json},
	Cli,
};
use stratus_client::{
	keyfile::passphrase,
	keystore::{Keystore, PASSPHRASE_ENV},
};

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
	/// Create an account with a new 12-word secret phrase, print its address and the phrase (once:
	/// write it down).
	#[command(after_help = "Example:\n  stratus account new requester")]
	New {
		/// The account's name in the keystore.
		name: String,
	},
	/// Import an account from a secret phrase or URI read from standard input (never from the
	/// command line, where other users of the machine could read it), or from a polkadot-js JSON
	/// key file (polkadot.js apps: Accounts → Export account).
	#[command(
		after_help = "Examples:\n  stratus account import mine < phrase.txt\n  echo //Alice | \
	                        stratus account import alice     (development chains only)\n  \
	                        stratus account import mine --from-json exported.json\n\nThe keystore \
	                        encrypts the key with a passphrase, asked on the terminal or taken \
	                        from STRATUS_PASSPHRASE. An imported JSON file keeps the passphrase \
	                        it was exported with."
	)]
	Import {
		/// The account's name in the keystore.
		name: String,
		/// A polkadot-js JSON key file to import instead of a secret on standard input.
		#[arg(long, value_name = "FILE")]
		from_json: Option<PathBuf>,
	},
	/// Print an account's key file (encrypted, polkadot-js JSON: polkadot.js apps' "Restore
	/// JSON" reads it).
	#[command(after_help = "Example:\n  stratus account export requester > requester.json")]
	Export {
		/// The account's name (default: the keystore's only account).
		name: Option<String>,
	},
	/// The keystore's accounts and addresses.
	List,
	/// Encrypt the accounts of an earlier CLI's unencrypted keystore file into the keystore, then
	/// delete that file.
	Migrate {
		/// The old keystore file (default: $XDG_CONFIG_HOME/stratus/keystore.toml).
		#[arg(long, value_name = "FILE")]
		from: Option<PathBuf>,
	},
}

/// The passphrase for a new key file (asked twice on a terminal).
fn new_passphrase(store: &Keystore) -> anyhow::Result<zeroize::Zeroizing<String>> {
	Ok(passphrase(PASSPHRASE_ENV, &format!("the keystore {}", store.path().display()), true)?)
}

fn imported(cli: &Cli, entry: &stratus_client::keystore::Entry) -> anyhow::Result<()> {
	if cli.json {
		print_json(&serde_json::json!({ "name": entry.name, "address": entry.address }))?;
	} else {
		println!("imported {}: {}", entry.name, entry.address);
	}
	Ok(())
}

pub fn run(cli: &Cli, command: &AccountCommand) -> anyhow::Result<ExitCode> {
	let mut store = match command {
		AccountCommand::Migrate { .. } => Keystore::open_for_migration(
			&cli.keystore.clone().unwrap_or_else(Keystore::default_path),
		)?,
		_ => keystore(cli)?,
	};
	match command {
		AccountCommand::New { name } => {
			let (_, phrase, _) =
				<sp_core::sr25519::Pair as sp_core::Pair>::generate_with_phrase(None);
			let entry = store.add(name, &phrase, &new_passphrase(&store)?)?.clone();
			if cli.json {
				print_json(&serde_json::json!({
					"name": entry.name, "address": entry.address, "phrase": phrase,
					"keystore": store.path(),
				}))?;
			} else {
				println!("created {}: {}", entry.name, entry.address);
				println!(
					"secret phrase (write it down: it is shown only now; {} holds it encrypted):",
					entry.path.display()
				);
				println!("  {phrase}");
			}
		},
		AccountCommand::Import { name, from_json: Some(file) } => {
			let json = std::fs::read_to_string(file)
				.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
			let what = format!("the key file {}", file.display());
			let entry = store.add_json(name, &json, &passphrase(PASSPHRASE_ENV, &what, false)?)?;
			imported(cli, entry)?;
		},
		AccountCommand::Import { name, from_json: None } => {
			let mut secret = zeroize::Zeroizing::new(String::new());
			std::io::stdin().lock().read_line(&mut secret)?;
			if secret.trim().is_empty() {
				anyhow::bail!(
					"no secret on standard input: pipe the phrase or URI in, e.g. `stratus account \
					 import {name} < phrase.txt` (or import a polkadot-js JSON file with --from-json)"
				);
			}
			// Checked before a passphrase is asked for.
			stratus_client::keypair(secret.trim())?;
			imported(cli, store.add(name, &secret, &new_passphrase(&store)?)?)?;
		},
		AccountCommand::Export { name } => print!("{}", store.export(name.as_deref())?),
		AccountCommand::Migrate { from } => {
			let legacy = from.clone().unwrap_or_else(Keystore::legacy_path);
			if !legacy.is_file() {
				anyhow::bail!("no old keystore at {} (--from names one)", legacy.display());
			}
			let moved = store.migrate(&legacy, &new_passphrase(&store)?)?;
			if cli.json {
				let list: Vec<_> = moved
					.iter()
					.map(|a| serde_json::json!({ "name": a.name, "address": a.address }))
					.collect();
				print_json(&list)?;
			} else {
				for a in &moved {
					println!("encrypted {:<16} {} into {}", a.name, a.address, a.path.display());
				}
				println!("deleted {}", legacy.display());
			}
		},
		AccountCommand::List => {
			if cli.json {
				let list: Vec<_> = store
					.accounts()
					.iter()
					.map(|a| serde_json::json!({ "name": a.name, "address": a.address }))
					.collect();
				print_json(&list)?;
			} else if store.accounts().is_empty() {
				println!(
					"no accounts in {} (stratus account new <name> creates one)",
					store.path().display()
				);
			} else {
				for a in store.accounts() {
					println!("{:<16} {}", a.name, a.address);
				}
			}
		},
	}
	Ok(ExitCode::SUCCESS)
}

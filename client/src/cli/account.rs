//! `stratus account new|import|list`.

use std::{io::BufRead, process::ExitCode};

use clap::Subcommand;

use crate::{
	cli::session::{keystore, print_json},
	Cli,
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
	/// command line, where other users of the machine could read it).
	#[command(
		after_help = "Examples:\n  stratus account import mine < phrase.txt\n  echo //Alice | \
	                        stratus account import alice     (development chains only)"
	)]
	Import {
		/// The account's name in the keystore.
		name: String,
	},
	/// The keystore's accounts and addresses.
	List,
}

pub fn run(cli: &Cli, command: &AccountCommand) -> anyhow::Result<ExitCode> {
	let mut store = keystore(cli)?;
	match command {
		AccountCommand::New { name } => {
			let (_, phrase, _) =
				<sp_core::sr25519::Pair as sp_core::Pair>::generate_with_phrase(None);
			let entry = store.add(name, &phrase)?.clone();
			if cli.json {
				print_json(&serde_json::json!({
					"name": entry.name, "address": entry.address, "phrase": phrase,
					"keystore": store.path(),
				}))?;
			} else {
				println!("created {}: {}", entry.name, entry.address);
				println!(
					"secret phrase (write it down; it is also in {}):",
					store.path().display()
				);
				println!("  {phrase}");
			}
		},
		AccountCommand::Import { name } => {
			let mut secret = String::new();
			std::io::stdin().lock().read_line(&mut secret)?;
			if secret.trim().is_empty() {
				anyhow::bail!(
					"no secret on standard input: pipe the phrase or URI in, e.g. `stratus account \
					 import {name} < phrase.txt`"
				);
			}
			let entry = store.add(name, &secret)?.clone();
			if cli.json {
				print_json(&serde_json::json!({ "name": entry.name, "address": entry.address }))?;
			} else {
				println!("imported {}: {}", entry.name, entry.address);
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

//! Files only their owner may read (key files, the CLI's keystore), and the CLI's keystore.
//!
//! The keystore is a directory (mode 0700) of named accounts, one polkadot-js JSON key file each
//! (`<name>.json`, mode 0600, encrypted with a passphrase: [`crate::keyfile`]), so an account
//! moves to polkadot.js by its file and back. Secrets enter through a file or standard input, and
//! passphrases through `STRATUS_PASSPHRASE` or the terminal, never the command line, where every
//! user of the machine could read them. Files others may read are refused.
//!
//! An earlier CLI kept the secret URIs themselves in a TOML file (`keystore.toml`); `stratus
//! account migrate` encrypts such a file's accounts into the directory and then deletes it.

use std::{
	io::Write,
	path::{Path, PathBuf},
};

use serde::Deserialize;

/// Environment variable naming the keystore directory.
pub const KEYSTORE_ENV: &str = "STRATUS_KEYSTORE";
/// Environment variable holding the keystore's passphrase (else it is asked on the terminal).
pub const PASSPHRASE_ENV: &str = "STRATUS_PASSPHRASE";

/// Why a private file or the keystore cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
	#[error("cannot read {path}: {source}")]
	Read { path: PathBuf, source: std::io::Error },
	#[error("cannot write {path}: {source}")]
	Write { path: PathBuf, source: std::io::Error },
	#[error(
		"{path} may be read by other users (mode {mode:o}); run `chmod 600 {path}` — secret keys \
		 must be readable by their owner only"
	)]
	Mode { path: PathBuf, mode: u32 },
	#[error("{path} is not a valid keystore: {message}")]
	Parse { path: PathBuf, message: String },
	#[error(
		"the keystore {path} has no account named {name:?}; `stratus account list` shows the names"
	)]
	Unknown { path: PathBuf, name: String },
	#[error("the keystore {path} already has an account named {name:?}")]
	Exists { path: PathBuf, name: String },
	#[error(
		"no account to sign with: the keystore {path} is empty; create one with `stratus account \
		 new <name>` or `stratus account import <name>`"
	)]
	Empty { path: PathBuf },
	#[error(
		"the keystore {path} has several accounts ({names}); pick one with --account <name> (or \
		 STRATUS_ACCOUNT)"
	)]
	Ambiguous { path: PathBuf, names: String },
	#[error("an account name is 1 to 32 letters, digits, '-' or '_': {0:?}")]
	BadName(String),
	#[error(transparent)]
	Key(#[from] crate::ClientError),
	#[error("{path}: {source}")]
	KeyFile { path: PathBuf, source: crate::keyfile::KeyFileError },
	#[error(
		"{path} is an unencrypted keystore of an earlier stratus CLI; encrypt its accounts into \
		 {dir} with `stratus account migrate --from {path}` (it asks a passphrase, then deletes \
		 the old file)"
	)]
	Legacy { path: PathBuf, dir: PathBuf },
}

/// Reads a file that must be readable by its owner only.
pub fn read_private(path: &Path) -> Result<String, KeystoreError> {
	let read = |source| KeystoreError::Read { path: path.to_owned(), source };
	let meta = std::fs::metadata(path).map_err(read)?;
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		let mode = meta.permissions().mode() & 0o777;
		if mode & 0o077 != 0 {
			return Err(KeystoreError::Mode { path: path.to_owned(), mode });
		}
	}
	let _ = meta;
	std::fs::read_to_string(path).map_err(read)
}

/// Writes `contents` to `path` with mode 0600: a new file only when `create_new`, else replacing
/// the file whole: written to a temporary file of its own beside it (`tempfile`: a fresh name,
/// created exclusively with mode 0600, so nothing planted at a known name is followed), then
/// renamed over it, so a crash leaves the old one.
pub fn write_private(path: &Path, contents: &str, create_new: bool) -> std::io::Result<()> {
	let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
	std::fs::create_dir_all(dir)?;
	if create_new {
		let mut options = std::fs::OpenOptions::new();
		options.write(true).create_new(true);
		#[cfg(unix)]
		{
			use std::os::unix::fs::OpenOptionsExt;
			options.mode(0o600);
		}
		let mut file = options.open(path)?;
		file.write_all(contents.as_bytes())?;
		return file.sync_all();
	}
	let mut file =
		tempfile::Builder::new().prefix(".keystore.").suffix(".partial").tempfile_in(dir)?;
	file.write_all(contents.as_bytes())?;
	file.as_file().sync_all()?;
	file.persist(path).map_err(|e| e.error)?;
	Ok(())
}

/// One account in the keystore: its name, address and key file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
	/// The name commands use (`--account <name>`).
	pub name: String,
	/// The account's SS58 address (Stratus's prefix).
	pub address: String,
	/// Its key file.
	pub path: PathBuf,
}

/// The keystore of an earlier CLI: secret URIs in TOML.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyFile {
	#[serde(default, rename = "account")]
	accounts: Vec<LegacyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyEntry {
	name: String,
	#[allow(dead_code)]
	address: String,
	secret: String,
}

/// The CLI's keystore.
#[derive(Debug)]
pub struct Keystore {
	dir: PathBuf,
	accounts: Vec<Entry>,
}

fn valid_name(name: &str) -> Result<(), KeystoreError> {
	let valid = (1..=32).contains(&name.len())
		&& name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
	if valid {
		Ok(())
	} else {
		Err(KeystoreError::BadName(name.to_owned()))
	}
}

fn config_dir() -> PathBuf {
	std::env::var_os("XDG_CONFIG_HOME")
		.filter(|p| !p.is_empty())
		.map(PathBuf::from)
		.or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
		.unwrap_or_else(|| PathBuf::from("."))
		.join("stratus")
}

impl Keystore {
	/// The default keystore: `$STRATUS_KEYSTORE`, else `$XDG_CONFIG_HOME/stratus/keys`, else
	/// `~/.config/stratus/keys`.
	pub fn default_path() -> PathBuf {
		if let Some(path) = std::env::var_os(KEYSTORE_ENV).filter(|p| !p.is_empty()) {
			return PathBuf::from(path);
		}
		config_dir().join("keys")
	}

	/// Where an earlier CLI kept its unencrypted keystore by default.
	pub fn legacy_path() -> PathBuf {
		config_dir().join("keystore.toml")
	}

	/// Opens the keystore directory `dir`; a missing one is an empty keystore. An unencrypted
	/// keystore of an earlier CLI (at `dir` itself, or at the old default place while the new
	/// one does not exist yet) is refused with the command that migrates it.
	pub fn open(dir: &Path) -> Result<Self, KeystoreError> {
		let legacy = |path: PathBuf| KeystoreError::Legacy { path, dir: dir.to_owned() };
		if !dir.exists() && *dir == Self::default_path() && Self::legacy_path().is_file() {
			return Err(legacy(Self::legacy_path()));
		}
		Self::open_for_migration(dir)
	}

	/// Opens the keystore directory `dir` as [`Keystore::open`] does, but without refusing it
	/// for an old keystore file at the old default place (which `migrate` is about to move).
	pub fn open_for_migration(dir: &Path) -> Result<Self, KeystoreError> {
		if dir.is_file() {
			return Err(KeystoreError::Legacy { path: dir.to_owned(), dir: dir.to_owned() });
		}
		if !dir.exists() {
			return Ok(Self { dir: dir.to_owned(), accounts: Vec::new() });
		}
		let read = |source| KeystoreError::Read { path: dir.to_owned(), source };
		let mut accounts = Vec::new();
		for item in std::fs::read_dir(dir).map_err(read)? {
			let path = item.map_err(read)?.path();
			let Some(name) = path
				.file_name()
				.and_then(|n| n.to_str())
				.and_then(|n| n.strip_suffix(".json"))
				.filter(|n| valid_name(n).is_ok())
			else {
				continue;
			};
			let text = read_private(&path)?;
			let (account, _) = crate::keyfile::public_part(&text)
				.map_err(|source| KeystoreError::KeyFile { path: path.clone(), source })?;
			accounts.push(Entry { name: name.to_owned(), address: crate::ss58(&account), path });
		}
		accounts.sort_by(|a, b| a.name.cmp(&b.name));
		Ok(Self { dir: dir.to_owned(), accounts })
	}

	/// Where it lives.
	pub fn path(&self) -> &Path {
		&self.dir
	}

	/// Its accounts, by name.
	pub fn accounts(&self) -> &[Entry] {
		&self.accounts
	}

	fn check_new(&self, name: &str) -> Result<PathBuf, KeystoreError> {
		valid_name(name)?;
		if self.accounts.iter().any(|a| a.name == name) {
			return Err(KeystoreError::Exists { path: self.dir.clone(), name: name.to_owned() });
		}
		Ok(self.dir.join(format!("{name}.json")))
	}

	fn write(&mut self, name: &str, path: PathBuf, json: &str) -> Result<&Entry, KeystoreError> {
		let write = |source| KeystoreError::Write { path: path.clone(), source };
		std::fs::create_dir_all(&self.dir).map_err(write)?;
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
				.map_err(write)?;
		}
		write_private(&path, json, true).map_err(write)?;
		let key_file = |source| KeystoreError::KeyFile { path: path.clone(), source };
		let (account, _) = crate::keyfile::public_part(json).map_err(key_file)?;
		self.accounts.push(Entry { name: name.to_owned(), address: crate::ss58(&account), path });
		self.accounts.sort_by(|a, b| a.name.cmp(&b.name));
		self.entry(Some(name))
	}

	/// Adds an account under `name` from a secret URI, encrypted with `passphrase`.
	pub fn add(
		&mut self,
		name: &str,
		secret: &str,
		passphrase: &str,
	) -> Result<&Entry, KeystoreError> {
		let path = self.check_new(name)?;
		let key_file = |source| KeystoreError::KeyFile { path: path.clone(), source };
		let json = crate::keyfile::encrypt(secret.trim(), passphrase, name).map_err(key_file)?;
		self.write(name, path, &json)
	}

	/// Adds an account under `name` from a polkadot-js JSON key file (an export of polkadot.js),
	/// kept as it is: it opens with the passphrase it was exported with, which is checked here.
	pub fn add_json(
		&mut self,
		name: &str,
		json: &str,
		passphrase: &str,
	) -> Result<&Entry, KeystoreError> {
		let path = self.check_new(name)?;
		let key_file = |source| KeystoreError::KeyFile { path: path.clone(), source };
		crate::keyfile::decrypt(json, passphrase, PASSPHRASE_ENV).map_err(key_file)?;
		self.write(name, path, json)
	}

	/// The account named `name`, or — with no name — the keystore's only account.
	pub fn entry(&self, name: Option<&str>) -> Result<&Entry, KeystoreError> {
		match name {
			Some(name) => self.accounts.iter().find(|a| a.name == name).ok_or_else(|| {
				KeystoreError::Unknown { path: self.dir.clone(), name: name.into() }
			}),
			None => match self.accounts.as_slice() {
				[] => Err(KeystoreError::Empty { path: self.dir.clone() }),
				[only] => Ok(only),
				many => Err(KeystoreError::Ambiguous {
					path: self.dir.clone(),
					names: many.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
				}),
			},
		}
	}

	/// The key file of the account named `name` (see [`Keystore::entry`]), as polkadot.js
	/// imports it.
	pub fn export(&self, name: Option<&str>) -> Result<String, KeystoreError> {
		read_private(&self.entry(name)?.path)
	}

	/// The signing key of the account named `name` (see [`Keystore::entry`]), opened with the
	/// passphrase from `STRATUS_PASSPHRASE` or the terminal.
	pub fn key(&self, name: Option<&str>) -> Result<crate::Keypair, KeystoreError> {
		let entry = self.entry(name)?;
		let passphrase =
			crate::keyfile::passphrase(PASSPHRASE_ENV, &format!("account {}", entry.name), false)
				.map_err(|source| KeystoreError::KeyFile { path: entry.path.clone(), source })?;
		self.key_with(name, &passphrase)
	}

	/// The signing key of the account named `name`, opened with `passphrase`.
	pub fn key_with(
		&self,
		name: Option<&str>,
		passphrase: &str,
	) -> Result<crate::Keypair, KeystoreError> {
		let entry = self.entry(name)?;
		let key_file = |source| KeystoreError::KeyFile { path: entry.path.clone(), source };
		let text = read_private(&entry.path)?;
		crate::keyfile::decrypt(&text, passphrase, PASSPHRASE_ENV).map_err(key_file)
	}

	/// Encrypts the accounts of an earlier CLI's unencrypted keystore file `legacy` into this
	/// keystore with `passphrase`, then deletes the old file — only once every account is
	/// written and reads back. Accounts already here under the same name and address are
	/// skipped; a name taken by another address stops it before anything is written.
	pub fn migrate(
		&mut self,
		legacy: &Path,
		passphrase: &str,
	) -> Result<Vec<Entry>, KeystoreError> {
		let text = read_private(legacy)?;
		let parse = |message: String| KeystoreError::Parse { path: legacy.to_owned(), message };
		let file: LegacyFile = toml::from_str(&text).map_err(|e| parse(e.to_string()))?;
		let mut todo = Vec::new();
		for old in &file.accounts {
			let address = crate::ss58(&crate::account_of(&crate::keypair(&old.secret)?));
			match self.accounts.iter().find(|a| a.name == old.name) {
				Some(here) if here.address == address => {},
				Some(_) => {
					return Err(KeystoreError::Exists {
						path: self.dir.clone(),
						name: old.name.clone(),
					})
				},
				None => {
					valid_name(&old.name)?;
					todo.push((old, address));
				},
			}
		}
		let mut moved = Vec::new();
		for (old, address) in todo {
			let entry = self.add(&old.name, &old.secret, passphrase)?.clone();
			let back =
				crate::ss58(&crate::account_of(&self.key_with(Some(&old.name), passphrase)?));
			if back != address {
				return Err(parse(format!("{} did not read back as {address}", old.name)));
			}
			moved.push(entry);
		}
		std::fs::remove_file(legacy)
			.map_err(|source| KeystoreError::Write { path: legacy.to_owned(), source })?;
		Ok(moved)
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
	use super::*;

	const PASS: &str = "test passphrase";

	#[test]
	fn accounts_are_kept_encrypted_privately_and_found_by_name() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("nested").join("keys");
		let mut store = Keystore::open(&path).unwrap();
		assert!(matches!(store.entry(None), Err(KeystoreError::Empty { .. })));
		let alice = store.add("alice", "//Alice\n", PASS).unwrap().clone();
		assert_eq!(
			crate::parse_account(&alice.address).unwrap(),
			crate::account_of(&crate::keypair("//Alice").unwrap())
		);
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = std::fs::metadata(&alice.path).unwrap().permissions().mode() & 0o777;
			assert_eq!(mode, 0o600);
			let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
			assert_eq!(mode, 0o700);
		}
		// The file is a polkadot-js key file: no secret URI in it.
		let text = store.export(Some("alice")).unwrap();
		assert!(!text.contains("Alice\"") && text.contains("xsalsa20-poly1305"), "{text}");
		assert_eq!(store.entry(None).unwrap().name, "alice");
		store.add("bob", "//Bob", PASS).unwrap();
		assert!(matches!(store.add("bob", "//Bob", PASS), Err(KeystoreError::Exists { .. })));
		assert!(matches!(store.add("no spaces", "//Bob", PASS), Err(KeystoreError::BadName(_))));
		assert!(store.add("carol", "not a key ///", PASS).is_err());
		assert!(!path.join("carol.json").exists());

		let reopened = Keystore::open(&path).unwrap();
		assert_eq!(reopened.accounts().len(), 2);
		assert!(matches!(reopened.entry(None), Err(KeystoreError::Ambiguous { .. })));
		assert_eq!(reopened.entry(Some("bob")).unwrap().name, "bob");
		assert!(matches!(reopened.entry(Some("eve")), Err(KeystoreError::Unknown { .. })));
		let key = reopened.key_with(Some("alice"), PASS).unwrap();
		assert_eq!(crate::ss58(&crate::account_of(&key)), alice.address);
		assert!(matches!(
			reopened.key_with(Some("alice"), "not it"),
			Err(KeystoreError::KeyFile {
				source: crate::keyfile::KeyFileError::WrongPassphrase(_),
				..
			})
		));

		// A key file exported elsewhere (here: alice's, under its own passphrase) imports as it
		// is; a wrong passphrase imports nothing.
		let mut other = Keystore::open(&dir.path().join("other")).unwrap();
		assert!(other.add_json("mine", &text, "not it").is_err());
		assert!(other.accounts().is_empty());
		assert_eq!(other.add_json("mine", &text, PASS).unwrap().address, alice.address);
		assert!(other.add_json("x", "{\"no\": 1}", PASS).is_err());
	}

	#[test]
	fn an_unencrypted_keystore_of_an_earlier_cli_is_migrated_and_deleted() {
		let dir = tempfile::tempdir().unwrap();
		let legacy = dir.path().join("keystore.toml");
		let bob = crate::ss58(&crate::account_of(&crate::keypair("//Bob").unwrap()));
		let text = format!(
			"[[account]]\nname = \"bob\"\naddress = \"{bob}\"\nsecret = \"//Bob\"\n\n\
			 [[account]]\nname = \"eve\"\naddress = \"x\"\nsecret = \"//Eve\"\n"
		);
		write_private(&legacy, &text, true).unwrap();
		// Opened as a keystore, it is refused with the command that migrates it.
		let refused = Keystore::open(&legacy).unwrap_err().to_string();
		assert!(refused.contains("stratus account migrate --from"), "{refused}");
		let keys = dir.path().join("keys");
		let mut store = Keystore::open(&keys).unwrap();
		// A name taken by another account stops it before anything is written.
		store.add("eve", "//Ferdie", PASS).unwrap();
		assert!(matches!(store.migrate(&legacy, PASS), Err(KeystoreError::Exists { .. })));
		assert!(legacy.exists());
		assert_eq!(store.accounts().len(), 1);
		let mut store = Keystore::open(&dir.path().join("fresh")).unwrap();
		let moved = store.migrate(&legacy, PASS).unwrap();
		assert_eq!(moved.len(), 2);
		assert!(!legacy.exists());
		let key = store.key_with(Some("bob"), PASS).unwrap();
		assert_eq!(crate::ss58(&crate::account_of(&key)), bob);
	}

	#[cfg(unix)]
	/// A file planted where a fixed temporary name would be (`keystore.tmp`, a link to another
	/// file) is neither followed nor overwritten when the keystore is rewritten.
	#[test]
	fn rewriting_follows_nothing_planted_beside_the_keystore() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("keystore.toml");
		let victim = dir.path().join("victim");
		std::fs::write(&victim, "untouched").unwrap();
		std::os::unix::fs::symlink(&victim, dir.path().join("keystore.tmp")).unwrap();
		write_private(&path, "first", false).unwrap();
		write_private(&path, "second", false).unwrap();
		assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
		assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
		use std::os::unix::fs::PermissionsExt;
		assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
		let leftovers = std::fs::read_dir(dir.path())
			.unwrap()
			.filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".partial"))
			.count();
		assert_eq!(leftovers, 0);
	}

	#[test]
	fn a_key_file_others_may_read_is_refused() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let entry =
			Keystore::open(dir.path()).unwrap().add("alice", "//Alice", PASS).unwrap().clone();
		std::fs::set_permissions(&entry.path, std::fs::Permissions::from_mode(0o644)).unwrap();
		assert!(matches!(Keystore::open(dir.path()), Err(KeystoreError::Mode { mode: 0o644, .. })));
	}
}

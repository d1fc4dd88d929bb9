//! Files only their owner may read (key files, the CLI's keystore), and the CLI's keystore.
//!
//! The keystore is a TOML file of named accounts, each a secret URI (a 12/24-word phrase with
//! optional `//derivations`, or `//Alice`-style development keys) and its SS58 address. It is
//! written with mode 0600 and refused when other users may read it. Secrets enter through a file
//! or standard input, never the command line, where every user of the machine could read them.

use std::{
	io::Write,
	path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// Environment variable naming the keystore file.
pub const KEYSTORE_ENV: &str = "STRATUS_KEYSTORE";

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

/// One account in the keystore.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
	/// The name commands use (`--account <name>`).
	pub name: String,
	/// The account's SS58 address (Stratus's prefix).
	pub address: String,
	/// The secret URI.
	pub secret: String,
}

impl std::fmt::Debug for Entry {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("Entry").field("name", &self.name).field("address", &self.address).finish()
	}
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
	#[serde(default, rename = "account")]
	accounts: Vec<Entry>,
}

/// The CLI's keystore.
#[derive(Debug)]
pub struct Keystore {
	path: PathBuf,
	accounts: Vec<Entry>,
}

impl Keystore {
	/// The default keystore: `$STRATUS_KEYSTORE`, else `$XDG_CONFIG_HOME/stratus/keystore.toml`,
	/// else `~/.config/stratus/keystore.toml`.
	pub fn default_path() -> PathBuf {
		if let Some(path) = std::env::var_os(KEYSTORE_ENV).filter(|p| !p.is_empty()) {
			return PathBuf::from(path);
		}
		let config = std::env::var_os("XDG_CONFIG_HOME")
			.filter(|p| !p.is_empty())
			.map(PathBuf::from)
			.or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
			.unwrap_or_else(|| PathBuf::from("."));
		config.join("stratus").join("keystore.toml")
	}

	/// Opens the keystore at `path`; a missing file is an empty keystore.
	pub fn open(path: &Path) -> Result<Self, KeystoreError> {
		if !path.exists() {
			return Ok(Self { path: path.to_owned(), accounts: Vec::new() });
		}
		let text = read_private(path)?;
		let file: File = toml::from_str(&text)
			.map_err(|e| KeystoreError::Parse { path: path.to_owned(), message: e.to_string() })?;
		Ok(Self { path: path.to_owned(), accounts: file.accounts })
	}

	/// Where it lives.
	pub fn path(&self) -> &Path {
		&self.path
	}

	/// Its accounts, in the order they were added.
	pub fn accounts(&self) -> &[Entry] {
		&self.accounts
	}

	/// Adds an account under `name` from a secret URI, and saves the keystore.
	pub fn add(&mut self, name: &str, secret: &str) -> Result<&Entry, KeystoreError> {
		let valid = (1..=32).contains(&name.len())
			&& name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
		if !valid {
			return Err(KeystoreError::BadName(name.to_owned()));
		}
		if self.accounts.iter().any(|a| a.name == name) {
			return Err(KeystoreError::Exists { path: self.path.clone(), name: name.to_owned() });
		}
		let secret = secret.trim();
		let key = crate::keypair(secret)?;
		let address = crate::ss58(&crate::account_of(&key));
		self.accounts.push(Entry { name: name.to_owned(), address, secret: secret.to_owned() });
		self.save()?;
		self.accounts.last().ok_or(KeystoreError::Empty { path: self.path.clone() })
	}

	fn save(&self) -> Result<(), KeystoreError> {
		let mut text = String::from(
			"# Stratus keystore: secret keys of your accounts. Keep this file mode 0600 and back up\n\
			 # the phrases elsewhere; anyone who reads them controls the accounts.\n\n",
		);
		let body = toml::to_string(&File { accounts: self.accounts.clone() }).map_err(|e| {
			KeystoreError::Parse { path: self.path.clone(), message: e.to_string() }
		})?;
		text.push_str(&body);
		write_private(&self.path, &text, false)
			.map_err(|source| KeystoreError::Write { path: self.path.clone(), source })
	}

	/// The account named `name`, or — with no name — the keystore's only account.
	pub fn entry(&self, name: Option<&str>) -> Result<&Entry, KeystoreError> {
		match name {
			Some(name) => self.accounts.iter().find(|a| a.name == name).ok_or_else(|| {
				KeystoreError::Unknown { path: self.path.clone(), name: name.into() }
			}),
			None => match self.accounts.as_slice() {
				[] => Err(KeystoreError::Empty { path: self.path.clone() }),
				[only] => Ok(only),
				many => Err(KeystoreError::Ambiguous {
					path: self.path.clone(),
					names: many.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
				}),
			},
		}
	}

	/// The signing key of the account named `name` (see [`Keystore::entry`]).
	pub fn key(&self, name: Option<&str>) -> Result<crate::Keypair, KeystoreError> {
		Ok(crate::keypair(&self.entry(name)?.secret)?)
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
	use super::*;

	#[test]
	fn accounts_are_kept_privately_and_found_by_name() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("nested").join("keystore.toml");
		let mut store = Keystore::open(&path).unwrap();
		assert!(matches!(store.entry(None), Err(KeystoreError::Empty { .. })));
		let alice = store.add("alice", "//Alice\n").unwrap().clone();
		assert_eq!(alice.secret, "//Alice");
		assert_eq!(
			crate::parse_account(&alice.address).unwrap(),
			crate::account_of(&crate::keypair("//Alice").unwrap())
		);
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
			assert_eq!(mode, 0o600);
		}
		assert_eq!(store.entry(None).unwrap().name, "alice");
		store.add("bob", "//Bob").unwrap();
		assert!(matches!(store.add("bob", "//Bob"), Err(KeystoreError::Exists { .. })));
		assert!(matches!(store.add("no spaces", "//Bob"), Err(KeystoreError::BadName(_))));
		assert!(matches!(store.add("carol", "not a key ///"), Err(KeystoreError::Key(_))));

		let reopened = Keystore::open(&path).unwrap();
		assert_eq!(reopened.accounts().len(), 2);
		assert!(matches!(reopened.entry(None), Err(KeystoreError::Ambiguous { .. })));
		assert_eq!(reopened.entry(Some("bob")).unwrap().name, "bob");
		assert!(matches!(reopened.entry(Some("eve")), Err(KeystoreError::Unknown { .. })));
		let key = reopened.key(Some("alice")).unwrap();
		assert_eq!(crate::ss58(&crate::account_of(&key)), alice.address);
		// The secret never shows in debug output.
		assert!(!format!("{:?}", reopened).contains("//Alice"));
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
	fn a_keystore_others_may_read_is_refused() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("keystore.toml");
		Keystore::open(&path).unwrap().add("alice", "//Alice").unwrap();
		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
		assert!(matches!(Keystore::open(&path), Err(KeystoreError::Mode { mode: 0o644, .. })));
	}
}

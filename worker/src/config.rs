//! The worker's configuration file (TOML) and its key file.
//!
//! `stratus-worker init` writes a commented config from what it detects on the host
//! ([`Config::template`]); every other command reads it ([`Config::load`]). The worker host holds
//! one secret: the worker key, in an encrypted polkadot-js JSON key file only its owner may read
//! (mode 0600, [`WorkerKey::load`]), opened with a passphrase from the environment or the
//! terminal. The operator account's secret never comes here: the config names only its address.

use serde::{Deserialize, Serialize};
use std::{
	net::SocketAddr,
	path::{Path, PathBuf},
};

/// Environment variable holding the worker key file's passphrase (else it is asked on the
/// terminal).
pub const WORKER_PASSPHRASE_ENV: &str = "STRATUS_WORKER_PASSPHRASE";
/// Environment variable holding the worker key's secret URI instead of the key file (development
/// chains' well-known keys).
pub const WORKER_SURI_ENV: &str = "STRATUS_WORKER_SURI";

/// Why a config or key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
	#[error("cannot read {path}: {source}")]
	Read { path: PathBuf, source: std::io::Error },
	#[error("{path} is not a valid worker config: {message}")]
	Parse { path: PathBuf, message: String },
	#[error("{path}: {message}")]
	Invalid { path: PathBuf, message: String },
	#[error(
		"{path} may be read by other users (mode {mode:o}); run `chmod 600 {path}` — secret keys \
		 must be readable by their owner only"
	)]
	KeyFileMode { path: PathBuf, mode: u32 },
	#[error(
		"{path} is the key file of an earlier stratus-worker, unencrypted and holding the \
		 operator's secret. Move the operator's phrase to your own machine (`stratus account \
		 import`), delete this file, run `stratus-worker init --force` for an encrypted worker \
		 key and register it (`stratus-worker register`; a registered provider changes its \
		 worker key with providerStaking.rotateWorkerKey)"
	)]
	LegacyKeyFile { path: PathBuf },
	#[error("{path}: {source}")]
	KeyFile { path: PathBuf, source: stratus_client::keyfile::KeyFileError },
	#[error("the config's keys.operator is not an account: {0}")]
	BadOperator(String),
}

pub use stratus_client::amount::Amount;
use stratus_client::keystore::{read_private, write_private, KeystoreError};
pub use stratus_primitives::PLANCK_PER_STRAT;

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
	pub chain: Chain,
	pub keys: KeysConfig,
	pub worker: Worker,
	pub offers: Offers,
	pub results: Results,
}

/// Where the chain is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
	/// WebSocket endpoints of Stratus nodes, tried in turn; the worker reconnects with backoff.
	pub endpoints: Vec<String>,
	/// Which blocks the daemon acts on: the best chain (the default: a job is run at once and
	/// committed in the block after the one that matched it, the commit acknowledging it) or
	/// finalized blocks only (the worker of earlier releases: acknowledge, see it finalized, run,
	/// commit; a few blocks more per step; kept for comparison, `scripts/bench-latency`).
	/// Either way an output is served only once the job's settlement is finalized.
	#[serde(default)]
	pub follow: Follow,
}

/// Which blocks the daemon acts on (`[chain] follow`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Follow {
	/// The best chain, safe on reorgs (docs/provider-guide.md, "Reorgs").
	#[default]
	Best,
	/// Finalized blocks only.
	Finalized,
}

/// Where the keys are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
	/// The worker key file (polkadot-js JSON, encrypted, mode 0600).
	pub file: PathBuf,
	/// The operator account's address (never its secret): whom `register` makes the
	/// registration for.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub operator: Option<String>,
}

impl ConfigError {
	/// An operator address that does not parse.
	pub fn from_operator(e: stratus_client::ClientError) -> Self {
		Self::BadOperator(e.to_string())
	}
}

impl KeysConfig {
	/// The operator account, when the config names one.
	pub fn operator(&self) -> Result<Option<stratus_client::AccountId>, ConfigError> {
		self.operator
			.as_deref()
			.map(|text| stratus_client::parse_account(text).map_err(ConfigError::from_operator))
			.transpose()
	}
}

/// What this machine offers and where the worker keeps its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Worker {
	/// Job state, results, checkpoints and the module cache live here.
	pub data_dir: PathBuf,
	/// The region code the provider registers (a number the network agrees on, e.g. an ISO 3166
	/// numeric country code: 276 = Germany, 840 = United States).
	pub region: u16,
	/// CPU cores offered to jobs.
	pub cpu_cores: u16,
	/// Memory offered to jobs, in MiB.
	pub memory_mib: u32,
	/// Stake to bond at registration.
	pub stake: Amount,
	/// What `register` moves from the operator account to the worker key so that the worker can
	/// pay its transaction fees (topped up to this much).
	#[serde(default = "default_fee_allowance")]
	pub fee_allowance: Amount,
	/// WASM compute units this host runs per second, for deciding whether a job can finish before
	/// its commit deadline (`init` writes half the rate it measures; `stratus-worker detect`
	/// measures it again).
	#[serde(default = "default_units_per_second")]
	pub units_per_second: u64,
	/// Largest remote input the worker downloads, in MiB.
	#[serde(default = "default_max_input_mib")]
	pub max_input_mib: u32,
	/// Largest output a job may write, in MiB: a job allowed more is declined (its output is
	/// kept on disk for its requester, and in memory while it runs).
	#[serde(default = "default_max_output_mib")]
	pub max_output_mib: u32,
	/// Whether remote inputs may come from loopback, link-local, private, CGNAT and other
	/// special-use addresses: the provider's own machine and networks (`fetch::forbidden`).
	/// Off unless the provider serves inputs itself on such a network.
	#[serde(default)]
	pub allow_private_inputs: bool,
	/// Days an ended replica (settled, lost, declined) is kept — its record and its output, which
	/// requesters download — before the worker forgets it. 0: kept for ever.
	#[serde(default = "default_keep_ended_days")]
	pub keep_ended_days: u32,
}

pub(crate) fn default_keep_ended_days() -> u32 {
	7
}

pub(crate) fn default_fee_allowance() -> Amount {
	Amount(10 * PLANCK_PER_STRAT)
}

/// The WASM unit rate when none was measured: cautious for a 2-core cloud VM, which runs the
/// calibration program at about 1e10 units per second and the benchmark kernels faster
/// (docs/performance.md).
pub(crate) fn default_units_per_second() -> u64 {
	2_000_000_000
}

/// The rate `init` writes for a measured one: half of it, for programs that miss the cache or
/// copy more through host calls than the calibration program, and for jobs running side by side.
pub(crate) fn units_per_second_from(measured: u64) -> u64 {
	(measured / 2).max(1)
}

pub(crate) fn default_max_input_mib() -> u32 {
	64
}

pub(crate) fn default_max_output_mib() -> u32 {
	64
}

/// The price policy `stratus-worker offer` posts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offers {
	/// Concurrent WASM jobs (CPU slots) to offer; 0 offers none.
	pub cpu_slots: u32,
	/// Price per WASM compute unit (about one wasm instruction).
	pub cpu_price: Amount,
	/// Concurrent CUDA jobs per GPU class to offer; 0 offers none.
	pub gpu_slots: u32,
	/// Price per CUDA compute unit (one GPU millisecond).
	pub gpu_price: Amount,
	/// Offers expire this many blocks after they are posted (3 s blocks).
	pub lifetime_blocks: u32,
}

/// How results are served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Results {
	/// The address the result server listens on.
	pub listen: SocketAddr,
	/// The URL requesters reach it at, registered in the provider's profile; empty registers none.
	pub public_url: String,
	/// Where `/metrics` is served instead of on `listen` (e.g. `127.0.0.1:9617`, for a Prometheus
	/// on this machine); unset: on `listen`.
	#[serde(default)]
	pub metrics_listen: Option<SocketAddr>,
	/// Connections the result server serves at once (more wait in the backlog).
	#[serde(default = "default_max_connections")]
	pub max_connections: u32,
}

pub(crate) fn default_max_connections() -> u32 {
	1024
}

impl Config {
	/// Reads and checks the config at `path`.
	pub fn load(path: &Path) -> Result<Self, ConfigError> {
		let text = std::fs::read_to_string(path)
			.map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
		let config: Config = toml::from_str(&text)
			.map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?;
		config
			.check()
			.map_err(|message| ConfigError::Invalid { path: path.to_owned(), message })?;
		Ok(config)
	}

	fn check(&self) -> Result<(), String> {
		if self.chain.endpoints.is_empty() {
			return Err("[chain] endpoints is empty: name at least one node, e.g. \
			            \"ws://127.0.0.1:9944\""
				.into());
		}
		for endpoint in &self.chain.endpoints {
			if !(endpoint.starts_with("ws://") || endpoint.starts_with("wss://")) {
				return Err(format!("[chain] endpoint {endpoint:?} is not a ws:// or wss:// URL"));
			}
		}
		if self.offers.cpu_slots > 0 && self.offers.cpu_price.0 == 0 {
			return Err("[offers] cpu_price is 0: the chain refuses offers at price zero".into());
		}
		if self.offers.gpu_slots > 0 && self.offers.gpu_price.0 == 0 {
			return Err("[offers] gpu_price is 0: the chain refuses offers at price zero".into());
		}
		if self.offers.lifetime_blocks == 0 {
			return Err("[offers] lifetime_blocks is 0".into());
		}
		let url = &self.results.public_url;
		if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
			return Err(format!("[results] public_url {url:?} is not an http(s) URL"));
		}
		if url.len() > stratus_primitives::MAX_ENDPOINT_LEN as usize {
			return Err(format!(
				"[results] public_url is longer than {} bytes",
				stratus_primitives::MAX_ENDPOINT_LEN
			));
		}
		Ok(())
	}

	/// The commented config `stratus-worker init` writes, filled with what was detected.
	pub fn template(&self, detected: &str) -> String {
		let endpoints =
			self.chain.endpoints.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>().join(", ");
		format!(
			r#"# stratus-worker configuration, written by `stratus-worker init`.
#
# Detected on this host:
{detected}
# Edit freely; `stratus-worker run` reads it at start.

[chain]
# WebSocket endpoints of Stratus nodes, tried in turn; the worker reconnects with backoff.
endpoints = [{endpoints}]
# Act on the best chain ("best", safe on reorgs) or on finalized blocks only ("finalized").
follow = "best"

[keys]
# The worker key file: the key the worker signs acknowledgements, commits, reveals and offers
# with, and this host's only secret. A polkadot-js JSON key file, encrypted with a passphrase
# that `run` takes from STRATUS_WORKER_PASSPHRASE or asks on the terminal. Mode 0600: the worker
# refuses a key file others can read.
file = {keys:?}
# The operator account (the one that registers, stakes and is paid): its address only. Its
# secret stays on the operator's own machine, where `stratus provider register` signs.
{operator}

[worker]
# Job state, results, checkpoints and the compiled-module cache.
data_dir = {data_dir:?}
# Region code registered with the provider (e.g. ISO 3166 numeric: 276 Germany, 840 USA).
region = {region}
# CPU cores and memory (MiB) offered to jobs; detected values, lower them to keep some back.
cpu_cores = {cpu_cores}
memory_mib = {memory_mib}
# Stake the registration bonds ("100 STRAT", or planck: 1 STRAT = 10^12 planck).
# The chain needs a minimum stake per concurrent slot on offer.
stake = "{stake}"
# Moved from the operator account to the worker key by `stratus provider register`, for fees.
fee_allowance = "{fee_allowance}"
# WASM units (about one per instruction) this host runs per second: a job is acknowledged only if
# its max units fit before its commit deadline at this rate. `init` writes half the rate it
# measured (see above). Largest remote input downloaded, in MiB.
units_per_second = {units_per_second}
max_input_mib = {max_input_mib}
# Largest output a job may write, in MiB; jobs allowed more are declined.
max_output_mib = {max_output_mib}
# Remote inputs from loopback, link-local, private or CGNAT addresses (this machine and its
# networks, e.g. a cloud metadata service): refused unless true.
allow_private_inputs = {allow_private_inputs}
# Days an ended job's record and output are kept for its requester to download (0: for ever).
keep_ended_days = {keep_ended_days}

[offers]
# What `stratus-worker offer` posts. WASM jobs: price per unit (≈ one wasm instruction).
cpu_slots = {cpu_slots}
cpu_price = "{cpu_price}"
# CUDA jobs, per GPU class: price per GPU millisecond. No GPU detected → leave gpu_slots at 0.
gpu_slots = {gpu_slots}
gpu_price = "{gpu_price}"
# Offers expire after this many 3-second blocks (28800 = one day).
lifetime_blocks = {lifetime}

[results]
# Where the result server listens, and the URL requesters use to reach it (registered on chain;
# empty: none registered).
listen = "{listen}"
public_url = {public_url:?}
# Connections served at once; each also has 10 s to send its request's headers, and each client
# address may make 20 requests a second.
max_connections = {max_connections}
# Serve /metrics apart from the public listener, e.g. to localhost only:
# metrics_listen = "127.0.0.1:9617"
"#,
			keys = self.keys.file,
			operator = match &self.keys.operator {
				Some(address) => format!("operator = {address:?}"),
				None => "# operator = \"<the operator account's address>\"".into(),
			},
			data_dir = self.worker.data_dir,
			region = self.worker.region,
			cpu_cores = self.worker.cpu_cores,
			memory_mib = self.worker.memory_mib,
			stake = self.worker.stake,
			fee_allowance = self.worker.fee_allowance,
			units_per_second = self.worker.units_per_second,
			max_input_mib = self.worker.max_input_mib,
			max_output_mib = self.worker.max_output_mib,
			allow_private_inputs = self.worker.allow_private_inputs,
			keep_ended_days = self.worker.keep_ended_days,
			cpu_slots = self.offers.cpu_slots,
			cpu_price = self.offers.cpu_price,
			gpu_slots = self.offers.gpu_slots,
			gpu_price = self.offers.gpu_price,
			lifetime = self.offers.lifetime_blocks,
			listen = self.results.listen,
			public_url = self.results.public_url,
			max_connections = self.results.max_connections,
		)
	}
}

/// The worker key: the one secret on the worker host.
pub struct WorkerKey;

impl WorkerKey {
	/// Reads the worker key: `STRATUS_WORKER_SURI` when set (development chains), else the key
	/// file, which must have mode 0600, opened with the passphrase from
	/// `STRATUS_WORKER_PASSPHRASE` or the terminal.
	pub fn load(path: &Path) -> Result<stratus_client::Keypair, ConfigError> {
		if let Some(key) = Self::from_env() {
			return key;
		}
		let text = Self::read(path)?;
		let key_file = |source| ConfigError::KeyFile { path: path.to_owned(), source };
		let what = format!("the worker key {}", path.display());
		let passphrase = stratus_client::keyfile::passphrase(WORKER_PASSPHRASE_ENV, &what, false)
			.map_err(key_file)?;
		stratus_client::keyfile::decrypt(&text, &passphrase, WORKER_PASSPHRASE_ENV)
			.map_err(key_file)
	}

	/// The worker key's address, without the passphrase (as the key file declares it).
	pub fn address(path: &Path) -> Result<stratus_client::AccountId, ConfigError> {
		if let Some(suri) = std::env::var(WORKER_SURI_ENV).ok().filter(|v| !v.is_empty()) {
			return stratus_client::keypair(&suri)
				.map(|key| stratus_client::account_of(&key))
				.map_err(|e| ConfigError::Invalid {
					path: PathBuf::from(WORKER_SURI_ENV),
					message: e.to_string(),
				});
		}
		let text = Self::read(path)?;
		stratus_client::keyfile::public_part(&text)
			.map(|(account, _)| account)
			.map_err(|source| ConfigError::KeyFile { path: path.to_owned(), source })
	}

	/// The key `STRATUS_WORKER_SURI` names, when it is set.
	pub fn from_env() -> Option<Result<stratus_client::Keypair, ConfigError>> {
		let suri = std::env::var(WORKER_SURI_ENV).ok().filter(|v| !v.is_empty())?;
		Some(stratus_client::keypair(&suri).map_err(|e| ConfigError::Invalid {
			path: PathBuf::from(WORKER_SURI_ENV),
			message: e.to_string(),
		}))
	}

	fn read(path: &Path) -> Result<String, ConfigError> {
		let text = read_private(path).map_err(|e| match e {
			KeystoreError::Mode { path, mode } => ConfigError::KeyFileMode { path, mode },
			KeystoreError::Read { path, source } => ConfigError::Read { path, source },
			other => ConfigError::Invalid { path: path.to_owned(), message: other.to_string() },
		})?;
		if !text.trim_start().starts_with('{') && text.contains("operator") {
			return Err(ConfigError::LegacyKeyFile { path: path.to_owned() });
		}
		Ok(text)
	}

	/// Writes a new worker key (independent of every other key: fresh randomness) to `path`,
	/// encrypted with `passphrase`, mode 0600, refusing to overwrite a file. Returns its address.
	pub fn write_new(
		path: &Path,
		passphrase: &str,
	) -> Result<stratus_client::AccountId, ConfigError> {
		use sp_core::Pair;
		let (_, seed) = sp_core::sr25519::Pair::generate();
		let suri = zeroize::Zeroizing::new(format!("0x{}", hex::encode(seed)));
		let json = stratus_client::keyfile::encrypt(&suri, passphrase, "stratus worker")
			.map_err(|source| ConfigError::KeyFile { path: path.to_owned(), source })?;
		write_private(path, &json, true)
			.map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
		Self::address(path)
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used)]
	use super::*;

	fn sample(dir: &Path) -> Config {
		Config {
			chain: Chain { endpoints: vec!["ws://127.0.0.1:9944".into()], follow: Follow::Best },
			keys: KeysConfig {
				file: dir.join("worker-key.json"),
				operator: Some("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY".into()),
			},
			worker: Worker {
				data_dir: dir.join("data"),
				region: 276,
				cpu_cores: 2,
				memory_mib: 2048,
				stake: Amount(100 * PLANCK_PER_STRAT),
				fee_allowance: default_fee_allowance(),
				units_per_second: default_units_per_second(),
				max_input_mib: default_max_input_mib(),
				max_output_mib: default_max_output_mib(),
				allow_private_inputs: false,
				keep_ended_days: default_keep_ended_days(),
			},
			offers: Offers {
				cpu_slots: 2,
				cpu_price: Amount(1),
				gpu_slots: 0,
				gpu_price: Amount(1000),
				lifetime_blocks: 28_800,
			},
			results: Results {
				listen: "127.0.0.1:8620".parse().unwrap(),
				public_url: "http://127.0.0.1:8620".into(),
				metrics_listen: None,
				max_connections: default_max_connections(),
			},
		}
	}

	fn tempdir(name: &str) -> PathBuf {
		let dir = std::env::temp_dir()
			.join(format!("stratus-worker-config-{name}-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		std::fs::create_dir_all(&dir).unwrap();
		dir
	}

	#[test]
	fn the_template_loads_back_as_the_same_config() {
		let dir = tempdir("template");
		let config = sample(&dir);
		let path = dir.join("worker.toml");
		std::fs::write(&path, config.template("#   CPU: 2 cores\n")).unwrap();
		assert_eq!(Config::load(&path).unwrap(), config);
	}

	#[test]
	fn bad_configs_are_refused_with_the_reason() {
		let dir = tempdir("bad");
		let path = dir.join("worker.toml");
		let mut config = sample(&dir);
		config.chain.endpoints = vec!["http://127.0.0.1:9944".into()];
		std::fs::write(&path, config.template("")).unwrap();
		let err = Config::load(&path).unwrap_err().to_string();
		assert!(err.contains("not a ws:// or wss:// URL"), "{err}");

		let mut config = sample(&dir);
		config.offers.cpu_price = Amount(0);
		std::fs::write(&path, config.template("")).unwrap();
		let err = Config::load(&path).unwrap_err().to_string();
		assert!(err.contains("cpu_price is 0"), "{err}");

		std::fs::write(&path, "[chain]\nendpoints = [\"ws://x\"]\nsurprise = 1\n").unwrap();
		assert!(matches!(Config::load(&path), Err(ConfigError::Parse { .. })));
		assert!(matches!(Config::load(&dir.join("missing.toml")), Err(ConfigError::Read { .. })));
	}

	#[test]
	fn a_worker_key_file_is_encrypted_private_and_never_overwritten() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempdir("keys");
		let path = dir.join("worker-key.json");
		std::env::set_var(WORKER_PASSPHRASE_ENV, "worker test passphrase");
		let address = WorkerKey::write_new(&path, "worker test passphrase").unwrap();
		let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode, 0o600);
		let key = WorkerKey::load(&path).unwrap();
		assert_eq!(stratus_client::account_of(&key), address);
		// Two new keys are unrelated.
		let other =
			WorkerKey::write_new(&dir.join("other.json"), "worker test passphrase").unwrap();
		assert_ne!(other, address);
		// Never overwritten.
		assert!(WorkerKey::write_new(&path, "worker test passphrase").is_err());
		assert_eq!(WorkerKey::address(&path).unwrap(), address);

		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
		assert!(matches!(
			WorkerKey::load(&path),
			Err(ConfigError::KeyFileMode { mode: 0o644, .. })
		));

		// An earlier worker's plain key file with the operator's secret is refused, naming why.
		let legacy = dir.join("keys.toml");
		write_private(&legacy, "operator = \"//Alice\"\nworker = \"//Alice//worker\"\n", true)
			.unwrap();
		let err = WorkerKey::load(&legacy).unwrap_err();
		assert!(matches!(err, ConfigError::LegacyKeyFile { .. }), "{err}");
	}
}

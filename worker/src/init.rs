//! `stratus-worker init`: detect the host and write a commented config and a key file.

use crate::{
	config::{self, Amount, Config, WorkerKey},
	host::HostInfo,
};
use std::path::{Path, PathBuf};

/// What `init` was asked for.
#[derive(Clone, Debug)]
pub struct InitOptions {
	/// Where the config goes.
	pub config: PathBuf,
	/// Node endpoints.
	pub endpoints: Vec<String>,
	/// Region code.
	pub region: u16,
	/// Overwrite an existing config (never an existing key file).
	pub force: bool,
	/// The operator account's address, when known (`register` needs it).
	pub operator: Option<String>,
}

/// What `init` did, for the user.
#[derive(Clone, Debug)]
pub struct InitReport {
	pub config: PathBuf,
	pub keys: PathBuf,
	/// Whether a new key file was written (an existing one is kept).
	pub new_keys: bool,
	/// The operator account's address, as the config names it.
	pub operator: Option<String>,
	/// The worker key's address.
	pub worker: String,
}

/// Why `init` stopped.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
	#[error(
		"{0} exists; pass --force to overwrite it (the key file next to it is never overwritten)"
	)]
	ConfigExists(PathBuf),
	#[error("cannot write {path}: {source}")]
	Write { path: PathBuf, source: std::io::Error },
	#[error(transparent)]
	Config(#[from] config::ConfigError),
	#[error(transparent)]
	Passphrase(#[from] stratus_client::keyfile::KeyFileError),
}

/// A human summary of the host, as comment lines for the config.
pub fn describe(host: &HostInfo) -> String {
	let mut lines =
		vec![format!("#   CPU: {} cores, memory: {} MiB", host.cpu_cores, host.memory_mib)];
	lines.push(match host.wasm_units_per_second {
		Some(rate) => format!(
			"#   WASM: {:.1e} units per second measured (calibration program, one job at a time)",
			rate as f64
		),
		None => "#   WASM: unit rate not measured".into(),
	});
	if host.gpus.is_empty() {
		lines.push("#   GPUs: none (no NVIDIA driver or no device): WASM jobs only".into());
	}
	for gpu in &host.gpus {
		lines.push(format!(
			"#   GPU {}: {}, {} MiB, compute capability {}.{}, driver {}, CUDA {}.{}",
			gpu.ordinal,
			gpu.name,
			gpu.vram_mib,
			gpu.compute_major,
			gpu.compute_minor,
			gpu.driver_version.as_deref().unwrap_or("unknown"),
			gpu.cuda_major,
			gpu.cuda_minor
		));
		if gpu.pageable_memory_access {
			lines.push(format!(
				"#   GPU {}: NOT OFFERED: it can access the host's pageable memory (HMM/ATS), so \
				 a job's kernel could read the worker's memory; see docs/provider-guide.md, \
				 \"The CUDA sandbox\"",
				gpu.ordinal
			));
		}
	}
	lines.join("\n") + "\n"
}

/// Detects nothing itself: writes the config for `host` and, when there is none, a worker key
/// file with a fresh worker key (independent of the operator's and of every other key),
/// encrypted with the passphrase from `STRATUS_WORKER_PASSPHRASE` or the terminal. With
/// `STRATUS_WORKER_SURI` set (development chains) no key file is written.
pub fn init(options: &InitOptions, host: &HostInfo) -> Result<InitReport, InitError> {
	let dir = options.config.parent().map(Path::to_path_buf).unwrap_or_default();
	if options.config.exists() && !options.force {
		return Err(InitError::ConfigExists(options.config.clone()));
	}
	std::fs::create_dir_all(&dir)
		.map_err(|source| InitError::Write { path: dir.clone(), source })?;
	if let Some(operator) = &options.operator {
		stratus_client::parse_account(operator).map_err(config::ConfigError::from_operator)?;
	}
	let keys_path = dir.join("worker-key.json");
	let new_keys = WorkerKey::from_env().is_none() && !keys_path.exists();
	if new_keys {
		let what = format!("the new worker key {}", keys_path.display());
		let passphrase =
			stratus_client::keyfile::passphrase(config::WORKER_PASSPHRASE_ENV, &what, true)?;
		WorkerKey::write_new(&keys_path, &passphrase)?;
	}
	let gpus = host.gpus.iter().any(|gpu| !gpu.pageable_memory_access);
	let config = Config {
		chain: config::Chain { endpoints: options.endpoints.clone(), follow: config::Follow::Best },
		keys: config::KeysConfig { file: keys_path.clone(), operator: options.operator.clone() },
		worker: config::Worker {
			data_dir: dir.join("data"),
			region: options.region,
			cpu_cores: u16::try_from(host.cpu_cores).unwrap_or(u16::MAX),
			memory_mib: u32::try_from(host.memory_mib).unwrap_or(u32::MAX),
			stake: Amount(stratus_primitives::PLANCK_PER_STRAT.saturating_mul(100)),
			fee_allowance: config::default_fee_allowance(),
			units_per_second: host
				.wasm_units_per_second
				.map_or_else(config::default_units_per_second, config::units_per_second_from),
			max_input_mib: config::default_max_input_mib(),
			max_output_mib: config::default_max_output_mib(),
			allow_private_inputs: false,
			keep_ended_days: config::default_keep_ended_days(),
		},
		offers: config::Offers {
			cpu_slots: host.cpu_cores.max(1),
			cpu_price: Amount(1),
			gpu_slots: if gpus { 1 } else { 0 },
			gpu_price: Amount(1_000_000),
			lifetime_blocks: 28_800,
		},
		results: config::Results {
			listen: std::net::SocketAddr::from(([0, 0, 0, 0], 8620)),
			public_url: String::new(),
			metrics_listen: None,
			max_connections: config::default_max_connections(),
		},
	};
	let text = config.template(&describe(host));
	std::fs::write(&options.config, text)
		.map_err(|source| InitError::Write { path: options.config.clone(), source })?;
	// What was written must load back.
	Config::load(&options.config)?;
	let worker = stratus_client::ss58(&WorkerKey::address(&keys_path)?);
	Ok(InitReport {
		config: options.config.clone(),
		keys: keys_path,
		new_keys,
		operator: options.operator.clone(),
		worker,
	})
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used)]
	use super::*;

	fn host(gpus: usize) -> HostInfo {
		HostInfo {
			cpu_cores: 8,
			memory_mib: 32_000,
			gpus: (0..gpus)
				.map(|i| crate::host::test_gpu(i as u32, "NVIDIA H100 80GB HBM3", 81_559))
				.collect(),
			wasm_units_per_second: Some(12_000_000_000),
		}
	}

	fn options(name: &str) -> InitOptions {
		let dir = std::env::temp_dir().join(format!("stratus-init-{name}-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		InitOptions {
			config: dir.join("worker.toml"),
			endpoints: vec!["ws://127.0.0.1:9944".into()],
			region: 276,
			force: false,
			operator: Some("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY".into()),
		}
	}

	#[test]
	fn init_writes_a_config_that_loads_and_a_private_key_file() {
		use std::os::unix::fs::PermissionsExt;
		std::env::set_var(config::WORKER_PASSPHRASE_ENV, "worker test passphrase");
		let options = options("fresh");
		let report = init(&options, &host(1)).unwrap();
		assert!(report.new_keys);
		let config = Config::load(&report.config).unwrap();
		assert_eq!(config.worker.cpu_cores, 8);
		assert_eq!(config.offers.gpu_slots, 1);
		// Half the measured WASM unit rate; the default when none was measured.
		assert_eq!(config.worker.units_per_second, 6_000_000_000);
		let text = std::fs::read_to_string(&report.config).unwrap();
		assert!(text.contains("WASM: 1.2e10 units per second measured"), "{text}");
		assert!(text.contains("GPU 0: NVIDIA H100 80GB HBM3, 81559 MiB, compute capability 9.0"));
		let mode = std::fs::metadata(&report.keys).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode, 0o600);
		// The config names the operator by its address; the worker key is encrypted, and its
		// address is its own (no derivation of the operator's).
		assert_eq!(config.keys.operator, options.operator);
		let key = WorkerKey::load(&report.keys).unwrap();
		assert_eq!(stratus_client::ss58(&stratus_client::account_of(&key)), report.worker);
		assert!(std::fs::read_to_string(&report.keys).unwrap().contains("xsalsa20-poly1305"));
		assert_ne!(report.operator.as_deref(), Some(report.worker.as_str()));
		// A bad operator address is refused before anything is written.
		let bad = InitOptions { operator: Some("not an address".into()), ..self::options("bad") };
		assert!(init(&bad, &host(0)).is_err());
		assert!(!bad.config.exists());

		// A second init refuses to overwrite, and --force keeps the keys.
		assert!(matches!(init(&options, &host(0)), Err(InitError::ConfigExists(_))));
		let again = init(&InitOptions { force: true, ..options }, &host(0)).unwrap();
		assert!(!again.new_keys);
		assert_eq!(again.worker, report.worker);
		assert_eq!(Config::load(&again.config).unwrap().offers.gpu_slots, 0);
		let unmeasured = HostInfo { wasm_units_per_second: None, ..host(0) };
		let third =
			init(&InitOptions { force: true, ..self::options("unmeasured") }, &unmeasured).unwrap();
		let config = Config::load(&third.config).unwrap();
		assert_eq!(config.worker.units_per_second, config::default_units_per_second());
	}

	#[test]
	fn a_host_without_gpus_is_described_as_such() {
		assert!(describe(&host(0)).contains("GPUs: none"));
	}
}

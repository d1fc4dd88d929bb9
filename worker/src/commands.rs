//! The one-shot commands: `register`, `offer`, `status`.

use std::time::Duration;

use stratus_client::{provider::Registration, runtime as rt, Connection, Keypair};
use stratus_primitives::ResourceClass;
use tokio::sync::watch;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
	chain::{Chain, ChainError},
	config::{Amount, Config, ConfigError, WorkerKey},
	host::{gpu_classes, profile, HostInfo},
	metrics::Metrics,
	submitter::{Submitter, Tx, TxError},
};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
	#[error(transparent)]
	Config(#[from] ConfigError),
	#[error(transparent)]
	Client(#[from] stratus_client::ClientError),
	#[error(transparent)]
	Chain(#[from] ChainError),
	#[error("{call}: {error}")]
	Tx { call: &'static str, error: TxError },
	#[error("{0}")]
	Refused(String),
}

/// A connection and a signer for one command.
struct Session {
	conn: Connection,
	chain: Chain,
	tracker: TaskTracker,
	cancel: CancellationToken,
}

impl Session {
	async fn open(config: &Config) -> Result<Self, CommandError> {
		let conn =
			stratus_client::connect(&config.chain.endpoints, 0, Duration::from_secs(15)).await?;
		let chain = Chain { client: conn.client.clone() };
		Ok(Self { conn, chain, tracker: TaskTracker::new(), cancel: CancellationToken::new() })
	}

	fn signer(&self, key: Keypair) -> Submitter {
		let (_, rx) = watch::channel(Some(self.conn.clone()));
		Submitter::spawn(key, true, rx, None, Metrics::new(), self.cancel.clone(), &self.tracker)
	}

	async fn submit(&self, signer: &Submitter, tx: Tx) -> Result<(), CommandError> {
		let call = tx.name();
		signer.submit(tx).await.map_err(|error| CommandError::Tx { call, error })
	}

	fn close(self) {
		self.cancel.cancel();
	}
}

/// What `stratus-worker register` made.
#[derive(Debug)]
pub struct RegistrationReport {
	/// Where the registration file went.
	pub file: std::path::PathBuf,
	/// Its contents.
	pub registration: Registration,
	/// Whether the operator is registered already (the file then bonds what its stake adds and
	/// tops the worker key up).
	pub registered: bool,
}

/// `stratus-worker register`: the worker host's half of a registration. Writes `out` (by default
/// `registration.json` beside the config): the operator (`operator`, else the config's
/// `keys.operator`), this host's profile, the configured stake and fee allowance, and the worker
/// key's proof of consent, which the operator signs and sends from its own machine with `stratus
/// provider register` (or pastes into polkadot.js). The operator's secret is never needed here.
pub async fn register(
	config: &Config,
	host: &HostInfo,
	operator: Option<&str>,
	out: Option<&std::path::Path>,
) -> Result<RegistrationReport, CommandError> {
	let operator = match operator {
		Some(text) => {
			Some(stratus_client::parse_account(text).map_err(ConfigError::from_operator)?)
		},
		None => config.keys.operator()?,
	};
	let Some(operator) = operator else {
		return Err(CommandError::Refused(
			"which account operates this worker? Pass `--operator <address>` or set \
			 keys.operator in the config (its address only: its secret stays on your own machine)"
				.into(),
		));
	};
	let worker_key = WorkerKey::load(&config.keys.file)?;
	let session = Session::open(config).await?;
	let genesis = session.conn.client.genesis_hash().0;
	let at = session.chain.finalized().await?;
	let registered = Chain::provider(&at, &operator).await?.is_some();
	let worker = stratus_client::account_of(&worker_key);
	let profile = profile(config, host);
	let stake = config.worker.stake.0;
	let proof = stratus_client::provider::consent(&worker_key, &operator, &genesis);
	let register = rt::tx().provider_staking().register(
		worker,
		profile.clone().into(),
		stake,
		proof.map(rt::runtime_types::sp_runtime::MultiSignature::Sr25519),
	);
	let call = at
		.transactions()
		.call_data(&register)
		.map_err(|e| CommandError::Refused(format!("encoding the register call: {e}")))?;
	session.close();
	let registration = Registration::new(
		genesis,
		&operator,
		&worker,
		proof,
		&profile,
		stake,
		config.worker.fee_allowance.0,
		&call,
	);
	let file = out.map(std::path::Path::to_path_buf).unwrap_or_else(|| {
		config.keys.file.parent().unwrap_or(std::path::Path::new(".")).join("registration.json")
	});
	let text = serde_json::to_string_pretty(&registration)
		.map_err(|e| CommandError::Refused(e.to_string()))?;
	std::fs::write(&file, text + "\n")
		.map_err(|e| CommandError::Refused(format!("cannot write {}: {e}", file.display())))?;
	Ok(RegistrationReport { file, registration, registered })
}

impl RegistrationReport {
	/// What to do next, in words.
	pub fn lines(&self) -> Vec<String> {
		let r = &self.registration;
		let mut lines = vec![format!(
			"wrote {}: operator {} registers worker key {} with {} stake{} (no secret in it)",
			self.file.display(),
			r.operator,
			r.worker,
			r.stake,
			if self.registered { "; it is registered already" } else { "" }
		)];
		lines.push("on the operator's machine, with its account in the stratus keystore:".into());
		lines.push(format!(
			"  stratus provider register {}",
			self.file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
		));
		if !self.registered {
			lines.push(format!(
				"or in polkadot.js apps (Developer → Extrinsics → Decode), send from {} the call",
				r.operator
			));
			lines.push(format!("  {}", r.call));
			lines.push(format!("and transfer {} to {} for its fees", r.fee_allowance, r.worker));
		}
		lines
	}
}

/// `stratus-worker offer`: posts (or renews) the configured offers, signed by the worker key.
pub async fn offer(config: &Config, host: &HostInfo) -> Result<Vec<String>, CommandError> {
	let worker_key = WorkerKey::load(&config.keys.file)?;
	let worker = stratus_client::account_of(&worker_key);
	let session = Session::open(config).await?;
	let at = session.chain.finalized().await?;
	if Chain::operator_of(&at, &worker).await?.is_none() {
		return Err(CommandError::Refused(format!(
			"the worker key {} belongs to no registered provider: run `stratus-worker register` and \
			 send the registration from the operator's machine first",
			stratus_client::ss58(&worker)
		)));
	}
	let signer = session.signer(worker_key);
	let now = at.block_number() as u32;
	let expires_at = now.saturating_add(config.offers.lifetime_blocks);
	let existing = Chain::offers(&at, &worker).await?;
	let policy = &config.offers;
	let mut wanted = Vec::new();
	if policy.cpu_slots > 0 {
		wanted.push((ResourceClass::Cpu, policy.cpu_price.0, policy.cpu_slots));
	}
	if policy.gpu_slots > 0 {
		for class in 0..gpu_classes(host).len() {
			wanted.push((ResourceClass::Gpu(class as u8), policy.gpu_price.0, policy.gpu_slots));
		}
	}
	let mut report = Vec::new();
	for (class, price, slots) in wanted {
		let open = existing.iter().find(|o| o.open && o.class == class && o.expires_at > now);
		let tx = match open {
			Some(o) => {
				Tx::UpdateOffer { offer: o.offer, price, slots: slots.max(o.in_use), expires_at }
			},
			None => Tx::PostOffer { class, price, slots, expires_at },
		};
		let verb = if open.is_some() { "renewed" } else { "posted" };
		session.submit(&signer, tx).await?;
		report.push(format!(
			"{verb} {class:?} offer: {slots} slots at {} per unit until block {expires_at}",
			Amount(price)
		));
	}
	if report.is_empty() {
		report.push("nothing to offer: cpu_slots and gpu_slots are 0".into());
	}
	session.close();
	Ok(report)
}

/// What `stratus-worker status` shows.
#[derive(Debug, serde::Serialize)]
pub struct Status {
	pub operator: String,
	pub worker: String,
	pub block: u64,
	pub registered: bool,
	pub stake: String,
	pub reserved_slots: u32,
	pub operator_free: String,
	pub worker_free: String,
	pub offers: Vec<serde_json::Value>,
	pub replicas: Vec<serde_json::Value>,
	/// Paid to the provider for the jobs in this worker's store whose records are still on chain.
	pub earned: String,
	pub jobs_in_store: usize,
	/// Stake frozen by pending slashes, and taken by applied ones over the provider's life.
	pub frozen: String,
	pub slashed: String,
	pub reputation: Vec<serde_json::Value>,
	pub pending_slashes: Vec<serde_json::Value>,
	pub applied_slashes: Vec<serde_json::Value>,
	/// The same, in words.
	pub standing: Vec<String>,
}

/// `stratus-worker status`.
pub async fn status(config: &Config) -> Result<Status, CommandError> {
	let worker = WorkerKey::address(&config.keys.file)?;
	let session = Session::open(config).await?;
	let at = session.chain.finalized().await?;
	// The operator the chain knows for this worker key, else the one the config names.
	let operator = match Chain::operator_of(&at, &worker).await? {
		Some(operator) => operator,
		None => config.keys.operator()?.unwrap_or(worker),
	};
	let provider = Chain::provider(&at, &operator).await?;
	let offers = Chain::offers(&at, &worker).await?;
	let replicas = Chain::provider_replicas(&at, &worker).await?;
	let store = crate::store::Store::open(&config.worker.data_dir).ok();
	let records = store.map(|s| s.all()).unwrap_or_default();
	let mut earned = 0u128;
	let mut jobs = std::collections::BTreeSet::new();
	for record in &records {
		jobs.insert(record.job);
	}
	for job in &jobs {
		if let Some(view) = Chain::job(&at, *job).await? {
			let paid = view
				.replicas
				.iter()
				.filter(|r| crate::chain::account(&r.provider) == operator)
				.map(|r| r.paid);
			earned = paid.fold(earned, u128::saturating_add);
		}
	}
	let reputation = Chain::reputation(&at, &operator).await?;
	let pending = Chain::pending_slashes(&at, &operator).await?;
	let applied = Chain::applied_slashes(&at, &operator).await?;
	let standing = stratus_client::chain::standing_lines(&reputation, &pending, &applied);
	let status = Status {
		frozen: Amount(provider.as_ref().map_or(0, |p| p.frozen)).to_string(),
		slashed: Amount(provider.as_ref().map_or(0, |p| p.slashed)).to_string(),
		reputation: reputation
			.iter()
			.map(|r| {
				serde_json::json!({
					"kind": format!("{:?}", *r.kind), "score_ppb": r.score.0,
					"consecutive_valid": r.consecutive_valid, "best_streak": r.best_streak,
					"agreed": r.agreed, "failed": r.failed,
				})
			})
			.collect(),
		pending_slashes: pending
			.iter()
			.map(|s| {
				serde_json::json!({
					"id": s.id, "job": s.job, "replica": s.replica,
					"offence": format!("{:?}", s.offence), "amount": Amount(s.amount).to_string(),
					"apply_at": s.apply_at,
				})
			})
			.collect(),
		applied_slashes: applied
			.iter()
			.map(|s| {
				serde_json::json!({
					"id": s.id, "job": s.job, "replica": s.replica,
					"offence": format!("{:?}", s.offence), "amount": Amount(s.amount).to_string(),
					"applied_at": s.applied_at,
				})
			})
			.collect(),
		standing,
		operator: stratus_client::ss58(&operator),
		worker: stratus_client::ss58(&worker),
		block: at.block_number(),
		registered: provider.is_some(),
		stake: Amount(provider.as_ref().map_or(0, |p| p.stake)).to_string(),
		reserved_slots: provider.as_ref().map_or(0, |p| p.reserved_slots),
		operator_free: Amount(Chain::free_balance(&at, &operator).await?).to_string(),
		worker_free: Amount(Chain::free_balance(&at, &worker).await?).to_string(),
		offers: offers
			.iter()
			.map(|o| {
				serde_json::json!({
					"offer": o.offer, "class": format!("{:?}", o.class), "price": Amount(o.price).to_string(),
					"slots": o.slots, "in_use": o.in_use, "expires_at": o.expires_at, "open": o.open,
				})
			})
			.collect(),
		replicas: replicas
			.iter()
			.map(|r| {
				serde_json::json!({
					"job": r.job, "replica": r.replica, "state": format!("{:?}", r.state),
					"price": Amount(r.price).to_string(), "ack_by": r.ack_by, "commit_by": r.commit_by,
				})
			})
			.collect(),
		earned: Amount(earned).to_string(),
		jobs_in_store: records.len(),
	};
	session.close();
	Ok(status)
}

impl Status {
	/// The status as text for a terminal.
	pub fn text(&self) -> String {
		let mut out = String::new();
		out += &format!("block {}\n", self.block);
		out += &format!("operator {} (free {})\n", self.operator, self.operator_free);
		out += &format!("worker   {} (free {})\n", self.worker, self.worker_free);
		if self.registered {
			out += &format!("stake {} ({} slots reserved)\n", self.stake, self.reserved_slots);
		} else {
			out += "not registered: run `stratus-worker register`\n";
		}
		out += &format!("offers ({}):\n", self.offers.len());
		for o in &self.offers {
			out += &format!(
				"  #{} {} {} slots ({} in use) at {} per unit, until block {}{}\n",
				o["offer"],
				o["class"].as_str().unwrap_or(""),
				o["slots"],
				o["in_use"],
				o["price"].as_str().unwrap_or(""),
				o["expires_at"],
				if o["open"] == true { "" } else { " (closed)" }
			);
		}
		out += &format!("replicas ({}):\n", self.replicas.len());
		for a in &self.replicas {
			out += &format!(
				"  job {} replica {}: {} at {} per unit\n",
				a["job"],
				a["replica"],
				a["state"].as_str().unwrap_or(""),
				a["price"].as_str().unwrap_or("")
			);
		}
		out += &format!("earned (jobs in this worker's store still on chain): {}\n", self.earned);
		if self.registered {
			out += &format!(
				"stake frozen by pending slashes {}, slashed {}\n",
				self.frozen, self.slashed
			);
		}
		for line in &self.standing {
			out += &format!("{line}\n");
		}
		out
	}
}

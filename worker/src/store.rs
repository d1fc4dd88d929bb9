//! The crash-safe job store: one record per replica the worker took on, and its output.
//!
//! Every step that the chain must never see twice is written here *before* it is submitted: the
//! commit salt, digest, units and the output are on disk (written to a temporary file of its own,
//! `fsync`ed, renamed, directory `fsync`ed) before the commit transaction leaves the worker. A worker killed at
//! any point and started again reads the records back and carries on from the chain's view of each
//! replica: it re-runs work it had not finished (resuming from the job's checkpoint), commits what
//! it computed with the *same* salt, reveals what it committed, and never computes a second result
//! for a replica it committed.
//!
//! Layout under the data directory:
//!
//! ```text
//! jobs/<job>-<replica>.json         the record (JSON, human readable)
//! outputs/<job>-<replica>.bin       the output bytes served to the requester
//! checkpoints/<job>-<replica>.ckpt  the WASM job's last checkpoint (executor::wasm::Checkpoint)
//! checkpoints/<job>-<replica>.out   the output it counts, appended at each save
//! <dir>/.<name>.<random>.partial     a write in progress (`tempfile`); removed on open
//! ```
//!
//! Each record has one writer at a time: every change of a record (a stage, a note, a result, its
//! removal) reads and writes it under the record's own lock, so two tasks (the reconciler, the
//! submitter, a job) that change the same record at once cannot undo each other's change.

use std::{
	collections::BTreeMap,
	fs,
	io::{self, Read, Seek, Write},
	path::{Path, PathBuf},
	sync::{Arc, Mutex},
	time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use stratus_primitives::JobKind;

use crate::executor::wasm::{Checkpoint, CheckpointStore};

/// A replica: `(job, replica index)`.
pub type ReplicaKey = (u64, u8);

/// Where a replica is, as far as this worker knows. Ordered: a record only moves forward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
	/// Declined: the worker cannot finish it in time or cannot run it (see `note`).
	Declined,
	/// Accepted; the acknowledgement is being submitted. Where a new record starts.
	#[default]
	Acknowledging,
	/// Acknowledged on chain; the program runs (or will run again after a restart).
	Running,
	/// Ran: output, digest, units and salt are on disk; the commit may be submitted.
	Computed,
	/// The commit is on chain.
	Committed,
	/// The reveal is on chain.
	Revealed,
	/// The job ended (settled, disputed, cancelled or expired; see `note`).
	Finished,
	/// The replica was lost (missed a deadline, or the job ended without it).
	Lost,
}

/// One replica the worker took on. `..Record::default()` fills what is known only later (digest,
/// salt, units, failure, note, end time) with nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
	pub job: u64,
	pub replica: u8,
	/// The requester: the only account the output is served to (32-byte account id, hex).
	#[serde(with = "hex32")]
	pub requester: [u8; 32],
	/// The replica's provider (this worker's operator account), which the commitment binds.
	#[serde(default, with = "hex32")]
	pub provider: [u8; 32],
	/// The program's hash.
	#[serde(with = "hex32")]
	pub program: [u8; 32],
	/// The program's kind (written by its name, `"wasm"` or `"cuda"`).
	#[serde(with = "job_kind_by_name")]
	pub kind: JobKind,
	/// The offer the replica uses (re-offered when the replica ends).
	pub offer: u64,
	/// The job's budget and bounds.
	pub max_units: u64,
	pub max_output_bytes: u32,
	/// The job's memory limit in MiB (WASM: [`stratus_primitives::job_memory_mib`] of its
	/// requirements); 0 in records from before it was kept, read as the default.
	#[serde(default)]
	pub memory_mib: u32,
	/// A CUDA job's device memory limit in MiB (its `min_vram_mib`); 0: the slot's share of the
	/// GPU.
	#[serde(default)]
	pub vram_mib: u32,
	/// What identifies its job across forks ([`crate::daemon::job_fingerprint`]: requester,
	/// program, terms and input): a reorg may put another job under the same id, and then this
	/// record is not that job's. `None` in records from before it was kept.
	#[serde(default, with = "hex32_opt")]
	pub fingerprint: Option<[u8; 32]>,
	/// Where the replica is.
	pub stage: Stage,
	/// The output digest, once computed.
	#[serde(default, with = "hex32_opt")]
	pub digest: Option<[u8; 32]>,
	/// The commit salt, drawn once when the output is stored and never replaced.
	#[serde(default, with = "hex32_opt")]
	pub salt: Option<[u8; 32]>,
	/// Units the result used, bound by the commitment and revealed.
	#[serde(default)]
	pub units: Option<u64>,
	/// Why the job failed, when it did (the output is then the failure record).
	#[serde(default)]
	pub failure: Option<String>,
	/// A note for the operator: why declined, how it ended.
	#[serde(default)]
	pub note: Option<String>,
	/// When the worker stopped having anything to do for it (Unix seconds): the start of its
	/// retention ([`Store::prune`]). Set by the store.
	#[serde(default)]
	pub ended_at: Option<u64>,
	/// The chain settled the job with this record's digest as the canonical one and paid this
	/// replica: the only case in which the result server hands the output out.
	#[serde(default)]
	pub paid: bool,
}

impl Record {
	/// The commitment on the chain with `genesis` hash, once the result is computed: the
	/// chain's own rule ([`stratus_primitives::commitment`]), binding the job, the replica, its
	/// provider, the units and the digest.
	pub fn commitment(&self, genesis: &[u8; 32]) -> Option<[u8; 32]> {
		let (digest, salt, units) = (self.digest?, self.salt?, self.units?);
		let digest = sp_core::H256(digest);
		let commitment = stratus_primitives::commitment(
			genesis,
			self.job,
			self.replica,
			&self.provider,
			units,
			&digest,
			&salt,
		);
		Some(commitment.0)
	}

	/// Whether `other` is a record of the same job and replica.
	pub fn same_job(&self, other: &Record) -> bool {
		(self.job, self.replica, self.fingerprint) == (other.job, other.replica, other.fingerprint)
			&& (self.requester, self.program) == (other.requester, other.program)
	}

	/// Whether the job whose fingerprint is `fingerprint` is the job this record was made for
	/// (a record from before fingerprints were kept is taken to be).
	pub fn is_for(&self, fingerprint: [u8; 32]) -> bool {
		self.fingerprint.is_none_or(|mine| mine == fingerprint)
	}

	/// Whether the worker still has something to do for it: run it, commit, reveal, or — once
	/// revealed — see how the job ends (settled on its digest and paid, the output then served;
	/// the chain still counts the replica against its offer's slots until then).
	pub fn is_live(&self) -> bool {
		matches!(
			self.stage,
			Stage::Acknowledging
				| Stage::Running
				| Stage::Computed
				| Stage::Committed
				| Stage::Revealed
		)
	}
}

/// Errors of the job store: the disk. Not fatal for the worker: what failed is retried at the next
/// block, and nothing the store does not hold is ever sent to the chain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	#[error("job store {path}: {source}")]
	Io { path: PathBuf, source: io::Error },
	#[error("job store record {path} is corrupt: {message}")]
	Corrupt { path: PathBuf, message: String },
}

/// The job store. Cheap to clone; every write is durable when the call returns.
#[derive(Clone)]
pub struct Store {
	root: PathBuf,
	records: Arc<Mutex<BTreeMap<ReplicaKey, Record>>>,
	/// Each record's writer lock (see the module's documentation).
	writers: Arc<Mutex<BTreeMap<ReplicaKey, Arc<Mutex<()>>>>>,
}

/// Seconds since the Unix epoch (0 on a clock set before it).
fn unix_now() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
	move |source| StoreError::Io { path: path.to_owned(), source }
}

/// Writes `bytes` to `path` durably: see [`write_durably_with`].
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
	write_durably_with(path, |file| file.write_all(bytes))
}

/// The suffix of a write in progress.
const PARTIAL: &str = "partial";

/// Writes `path` durably with `write`: into a temporary file of its own next to it (`tempfile`:
/// a unique name, so concurrent writes of one path never share one), `fsync`ed, renamed over
/// `path`, and the directory `fsync`ed. A crash leaves either the old file or the new one, and
/// at most a `*.partial` file that [`Store::open`] removes.
pub fn write_durably_with(
	path: &Path,
	write: impl FnOnce(&mut fs::File) -> io::Result<()>,
) -> Result<(), StoreError> {
	let dir = path.parent().unwrap_or(Path::new("."));
	let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
	let mut tmp = tempfile::Builder::new()
		.prefix(&format!(".{name}."))
		.suffix(&format!(".{PARTIAL}"))
		.tempfile_in(dir)
		.map_err(io_err(dir))?;
	let tmp_path = tmp.path().to_owned();
	write(tmp.as_file_mut()).map_err(io_err(&tmp_path))?;
	tmp.as_file().sync_all().map_err(io_err(&tmp_path))?;
	tmp.persist(path).map_err(|e| StoreError::Io { path: path.to_owned(), source: e.error })?;
	fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))?;
	Ok(())
}

/// The environment variable naming a stage at which the worker crashes on purpose, for the
/// crash-safety test (`tests/js/worker.test.mjs`, "killed at each stage"): `running`, `computed`,
/// `committed` or `revealed`. Unset in production.
pub const CRASH_AT_ENV: &str = "STRATUS_WORKER_CRASH_AT";

/// Aborts the process, as a power cut or a SIGKILL would end it (no destructors, no flushing),
/// right after a record reached the stage [`CRASH_AT_ENV`] names and is on disk.
fn crash_point(stage: Stage) {
	static CRASH_AT: std::sync::OnceLock<Option<Stage>> = std::sync::OnceLock::new();
	let at = CRASH_AT.get_or_init(|| {
		let name = std::env::var(CRASH_AT_ENV).ok()?;
		serde_json::from_value(serde_json::Value::String(name)).ok()
	});
	if *at == Some(stage) {
		eprintln!("{CRASH_AT_ENV}: crashing at stage {stage:?}");
		// No core file for a crash asked for.
		let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
		std::process::abort();
	}
}

/// Removes the writes a crash left unfinished in `dir` (`*.partial`, and the `*.tmp` of earlier
/// versions).
fn remove_partial_writes(dir: &Path) -> Result<(), StoreError> {
	for entry in fs::read_dir(dir).map_err(io_err(dir))? {
		let path = entry.map_err(io_err(dir))?.path();
		if path.extension().is_some_and(|e| e == PARTIAL || e == "tmp") {
			// A write that did not finish: the file before it is still there.
			let _ = fs::remove_file(&path);
		}
	}
	Ok(())
}

impl Store {
	/// Opens (creating) the store under `data_dir` and reads every record back.
	pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
		let root = data_dir.to_owned();
		for sub in ["jobs", "outputs", "checkpoints"] {
			let dir = root.join(sub);
			fs::create_dir_all(&dir).map_err(io_err(&dir))?;
			remove_partial_writes(&dir)?;
		}
		let mut records = BTreeMap::new();
		let jobs = root.join("jobs");
		for entry in fs::read_dir(&jobs).map_err(io_err(&jobs))? {
			let path = entry.map_err(io_err(&jobs))?.path();
			if path.extension().is_none_or(|e| e != "json") {
				continue;
			}
			let text = fs::read_to_string(&path).map_err(io_err(&path))?;
			let record: Record = serde_json::from_str(&text)
				.map_err(|e| StoreError::Corrupt { path: path.clone(), message: e.to_string() })?;
			records.insert((record.job, record.replica), record);
		}
		// Records from before retention existed: their retention starts now.
		let undated: Vec<Record> =
			records.values().filter(|r| !r.is_live() && r.ended_at.is_none()).cloned().collect();
		let store = Self {
			root,
			records: Arc::new(Mutex::new(records)),
			writers: Arc::new(Mutex::new(BTreeMap::new())),
		};
		for record in undated {
			store.put(record)?;
		}
		Ok(store)
	}

	fn name(key: ReplicaKey) -> String {
		format!("{}-{}", key.0, key.1)
	}

	fn record_path(&self, key: ReplicaKey) -> PathBuf {
		self.root.join("jobs").join(format!("{}.json", Self::name(key)))
	}

	/// Where a replica's output lives.
	pub fn output_path(&self, key: ReplicaKey) -> PathBuf {
		self.root.join("outputs").join(format!("{}.bin", Self::name(key)))
	}

	fn checkpoint_path(&self, key: ReplicaKey) -> PathBuf {
		self.root.join("checkpoints").join(format!("{}.ckpt", Self::name(key)))
	}

	/// The output a WASM job had written at its checkpoints, appended at each save.
	fn checkpoint_output_path(&self, key: ReplicaKey) -> PathBuf {
		self.root.join("checkpoints").join(format!("{}.out", Self::name(key)))
	}

	/// The record of a replica.
	pub fn get(&self, key: ReplicaKey) -> Option<Record> {
		crate::lock(&self.records).get(&key).cloned()
	}

	/// Every record.
	pub fn all(&self) -> Vec<Record> {
		crate::lock(&self.records).values().cloned().collect()
	}

	/// The records the worker still has something to do for ([`Record::is_live`]); what each
	/// finalized block looks at, however many finished records the store keeps.
	pub fn live(&self) -> Vec<Record> {
		crate::lock(&self.records).values().filter(|r| r.is_live()).cloned().collect()
	}

	/// The records of one job.
	pub fn of_job(&self, job: u64) -> Vec<Record> {
		crate::lock(&self.records)
			.range((job, 0)..=(job, u8::MAX))
			.map(|(_, r)| r.clone())
			.collect()
	}

	/// The writer lock of a record: held while the record is read, changed and written.
	fn writer(&self, key: ReplicaKey) -> Arc<Mutex<()>> {
		crate::lock(&self.writers).entry(key).or_default().clone()
	}

	/// Writes `record` durably, replacing the replica's previous record (a new record; a change
	/// of one goes through [`Self::advance`] or [`Self::store_result`], which read it under its
	/// lock). A record that is no longer live gets its end time, once.
	pub fn put(&self, record: Record) -> Result<(), StoreError> {
		let writer = self.writer((record.job, record.replica));
		let _writing = crate::lock(&writer);
		self.write_record(record)
	}

	/// [`Self::put`], the record's writer lock held.
	fn write_record(&self, mut record: Record) -> Result<(), StoreError> {
		if record.is_live() {
			record.ended_at = None;
		} else if record.ended_at.is_none() {
			record.ended_at = Some(unix_now());
		}
		let key = (record.job, record.replica);
		let path = self.record_path(key);
		let bytes = serde_json::to_vec_pretty(&record)
			.map_err(|e| StoreError::Corrupt { path: path.clone(), message: e.to_string() })?;
		write_durably(&path, &bytes)?;
		let stage = record.stage;
		crate::lock(&self.records).insert(key, record);
		crash_point(stage);
		Ok(())
	}

	/// Changes a replica's record under its writer lock: `change` edits it and says whether it
	/// changed (only then is it written). Returns the record (`None`: the store has none).
	fn update(
		&self,
		key: ReplicaKey,
		change: impl FnOnce(&mut Record) -> bool,
	) -> Result<Option<Record>, StoreError> {
		let writer = self.writer(key);
		let _writing = crate::lock(&writer);
		let Some(mut record) = self.get(key) else { return Ok(None) };
		if change(&mut record) {
			self.write_record(record.clone())?;
		}
		Ok(Some(record))
	}

	/// Records that the chain settled the replica's job on its digest and paid it: its output may
	/// be served from now on.
	pub fn mark_paid(&self, key: ReplicaKey) -> Result<Option<Record>, StoreError> {
		self.update(key, |record| !std::mem::replace(&mut record.paid, true))
	}

	/// Moves a replica to `stage` (never backwards), with an optional note.
	pub fn advance(
		&self,
		key: ReplicaKey,
		stage: Stage,
		note: Option<String>,
	) -> Result<Option<Record>, StoreError> {
		self.update(key, |record| {
			if record.stage >= stage && note.is_none() {
				return false;
			}
			record.stage = record.stage.max(stage);
			if note.is_some() {
				record.note = note;
			}
			true
		})
	}

	/// Stores a replica's result: the output file first, then the record with digest, units and
	/// a fresh salt. A replica that already has a result keeps it (same digest, same salt): what
	/// was computed once is what gets committed.
	///
	/// `ran_for` is the record the job ran from: a record replaced meanwhile by another job's
	/// (a reorg put another job under the id) does not get this result.
	pub fn store_result(
		&self,
		ran_for: &Record,
		output: &[u8],
		digest: [u8; 32],
		units: u64,
		failure: Option<String>,
	) -> Result<Record, StoreError> {
		let key = (ran_for.job, ran_for.replica);
		let writer = self.writer(key);
		let _writing = crate::lock(&writer);
		let record = self.get(key).filter(|r| r.same_job(ran_for));
		let Some(mut record) = record else {
			return Err(StoreError::Corrupt {
				path: self.record_path(key),
				message: "a result for a replica without a record (or whose record is now \
				          another job's, after a reorg)"
					.into(),
			});
		};
		if record.stage >= Stage::Computed {
			return Ok(record);
		}
		write_durably(&self.output_path(key), output)?;
		record.digest = Some(digest);
		record.salt = Some(rand::random());
		record.units = Some(units);
		record.failure = failure;
		record.stage = Stage::Computed;
		self.write_record(record.clone())?;
		let _ = fs::remove_file(self.checkpoint_path(key));
		let _ = fs::remove_file(self.checkpoint_output_path(key));
		Ok(record)
	}

	/// The output of a replica, if stored, opened for reading (the result server streams it).
	pub fn open_output(&self, key: ReplicaKey) -> io::Result<fs::File> {
		fs::File::open(self.output_path(key))
	}

	/// The on-disk checkpoint store of a replica (for [`crate::executor::wasm`]).
	pub fn checkpoints(&self, key: ReplicaKey) -> Arc<dyn CheckpointStore> {
		Arc::new(FileCheckpoints {
			checkpoint: self.checkpoint_path(key),
			output: self.checkpoint_output_path(key),
			synced: Mutex::new(0),
		})
	}

	/// Forgets the replicas that ended more than `keep` ago — record, output and checkpoint — and
	/// returns how many. Live replicas are never touched.
	pub fn prune(&self, keep: Duration) -> Result<usize, StoreError> {
		let cutoff = unix_now().saturating_sub(keep.as_secs());
		let due: Vec<ReplicaKey> = crate::lock(&self.records)
			.values()
			.filter(|r| !r.is_live() && r.ended_at.is_some_and(|at| at < cutoff))
			.map(|r| (r.job, r.replica))
			.collect();
		for key in &due {
			self.remove(*key)?;
		}
		Ok(due.len())
	}

	/// Forgets a replica: its record, output and checkpoint.
	pub fn remove(&self, key: ReplicaKey) -> Result<(), StoreError> {
		let writer = self.writer(key);
		let _writing = crate::lock(&writer);
		for path in [
			self.record_path(key),
			self.output_path(key),
			self.checkpoint_path(key),
			self.checkpoint_output_path(key),
		] {
			match fs::remove_file(&path) {
				Ok(()) => {},
				Err(e) if e.kind() == io::ErrorKind::NotFound => {},
				Err(source) => return Err(StoreError::Io { path, source }),
			}
		}
		crate::lock(&self.records).remove(&key);
		crate::lock(&self.writers).remove(&key);
		Ok(())
	}
}

/// A WASM job's checkpoint on disk: the checkpoint in one file, written durably (replaced whole at
/// each save), and the output it counts in another, to which each save appends what the job
/// wrote since the last one. The output file's first `output_len` bytes are the checkpoint's:
/// whatever lies past them (a save that crashed between the two writes) is cut off before the
/// next append.
struct FileCheckpoints {
	checkpoint: PathBuf,
	output: PathBuf,
	/// How many bytes of the output file are known to be the job's output: those of the
	/// checkpoint loaded, or of the last save.
	synced: Mutex<u64>,
}

impl CheckpointStore for FileCheckpoints {
	fn load(&self) -> Option<(Checkpoint, Vec<u8>)> {
		let checkpoint = Checkpoint::decode(&fs::read(&self.checkpoint).ok()?)?;
		let mut output = Vec::new();
		let file = fs::File::open(&self.output);
		match file {
			Ok(file) => {
				file.take(checkpoint.output_len).read_to_end(&mut output).ok()?;
			},
			Err(e) if e.kind() == io::ErrorKind::NotFound => {},
			Err(_) => return None,
		}
		if output.len() as u64 != checkpoint.output_len {
			return None;
		}
		*crate::lock(&self.synced) = checkpoint.output_len;
		Some((checkpoint, output))
	}

	fn save(&self, checkpoint: Checkpoint, output: &[u8]) -> io::Result<()> {
		let mut synced = crate::lock(&self.synced);
		let mut file =
			fs::OpenOptions::new().create(true).truncate(false).write(true).open(&self.output)?;
		let from = (*synced).min(output.len() as u64);
		if file.metadata()?.len() != from {
			file.set_len(from)?;
		}
		file.seek(io::SeekFrom::Start(from))?;
		file.write_all(output.get(from as usize..).unwrap_or_default())?;
		file.sync_data()?;
		*synced = output.len() as u64;
		write_durably(&self.checkpoint, &checkpoint.encode()).map_err(|e| match e {
			StoreError::Io { source, .. } => source,
			StoreError::Corrupt { message, .. } => io::Error::other(message),
		})
	}
}

mod hex32 {
	use serde::{de::Error, Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&format!("0x{}", hex::encode(bytes)))
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
		let text = String::deserialize(d)?;
		let raw = hex::decode(text.trim_start_matches("0x")).map_err(D::Error::custom)?;
		raw.try_into().map_err(|_| D::Error::custom("expected 32 bytes"))
	}
}

/// A job kind by its name ([`JobKind::name`]), as records have always written it.
mod job_kind_by_name {
	use serde::{de::Error, Deserialize, Deserializer, Serializer};
	use stratus_primitives::JobKind;

	pub fn serialize<S: Serializer>(kind: &JobKind, s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(kind.name())
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<JobKind, D::Error> {
		let text = String::deserialize(d)?;
		JobKind::from_name(&text)
			.ok_or_else(|| D::Error::custom(format!("unknown job kind `{text}`")))
	}
}

mod hex32_opt {
	use serde::{Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(bytes: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
		match bytes {
			Some(b) => super::hex32::serialize(b, s),
			None => s.serialize_none(),
		}
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
		#[derive(Deserialize)]
		struct Wrap(#[serde(with = "super::hex32")] [u8; 32]);
		Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(b)| b))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn record(job: u64, replica: u8) -> Record {
		Record {
			job,
			replica,
			requester: [7; 32],
			program: [9; 32],
			kind: JobKind::Wasm,
			offer: 3,
			max_units: 1000,
			max_output_bytes: 64,
			stage: Stage::Acknowledging,
			..Record::default()
		}
	}

	#[test]
	fn ended_replicas_are_pruned_after_their_retention() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		store.put(record(1, 0)).unwrap();
		store.advance((1, 0), Stage::Running, None).unwrap();
		store.store_result(&store.get((1, 0)).unwrap(), b"out", [5; 32], 42, None).unwrap();
		assert_eq!(store.get((1, 0)).unwrap().ended_at, None, "live: no end time");
		// Revealed, the job's end (and its pay) still to be seen: still live, never pruned.
		store.advance((1, 0), Stage::Revealed, None).unwrap();
		assert!(store.get((1, 0)).unwrap().is_live());
		assert_eq!(store.get((1, 0)).unwrap().ended_at, None);
		// Ended a day ago (a record written before retention existed gets its end time at open).
		let day_old = Record { ended_at: Some(unix_now() - 86_400), ..store.get((1, 0)).unwrap() };
		let day_old = Record { stage: Stage::Finished, ..day_old };
		store.put(day_old).unwrap();
		store.put(record(2, 0)).unwrap();
		store.advance((2, 0), Stage::Lost, Some("missed".into())).unwrap();
		let undated = Record { stage: Stage::Declined, ..record(3, 0) };
		write_durably(&store.record_path((3, 0)), &serde_json::to_vec(&undated).unwrap()).unwrap();
		store.put(record(4, 0)).unwrap();

		let store = Store::open(dir.path()).unwrap();
		assert!(store.get((3, 0)).unwrap().ended_at.is_some(), "dated at open");
		assert_eq!(store.prune(Duration::from_secs(3_600)).unwrap(), 1);
		assert_eq!(store.get((1, 0)), None);
		assert!(store.open_output((1, 0)).is_err(), "the output went with the record");
		assert!(store.get((2, 0)).is_some() && store.get((3, 0)).is_some());
		assert_eq!(store.get((4, 0)).unwrap().stage, Stage::Acknowledging, "live: kept");
		// Gone for good: not back after a reopen.
		assert_eq!(Store::open(dir.path()).unwrap().get((1, 0)), None);
	}

	#[test]
	fn a_record_writes_its_kind_by_name_as_records_always_have() {
		let cuda = Record { kind: JobKind::Cuda, ..record(1, 0) };
		let json = serde_json::to_value(&cuda).unwrap();
		assert_eq!(json["kind"], "cuda");
		assert_eq!(serde_json::from_value::<Record>(json.clone()).unwrap(), cuda);
		let mut other = json;
		other["kind"] = "opencl".into();
		let error = serde_json::from_value::<Record>(other).unwrap_err().to_string();
		assert!(error.contains("unknown job kind `opencl`"), "{error}");
	}

	#[test]
	fn records_survive_a_reopen() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		store.put(record(1, 0)).unwrap();
		store.put(record(2, 1)).unwrap();
		store.advance((1, 0), Stage::Running, None).unwrap();
		let stored =
			store.store_result(&store.get((1, 0)).unwrap(), b"out", [5; 32], 42, None).unwrap();
		let reopened = Store::open(dir.path()).unwrap();
		assert_eq!(reopened.get((1, 0)), Some(stored.clone()));
		assert_eq!(reopened.get((2, 1)).unwrap().stage, Stage::Acknowledging);
		assert_eq!(fs::read(reopened.output_path((1, 0))).unwrap(), b"out");
		assert_eq!(reopened.of_job(1).len(), 1);
		assert!(stored.commitment(&[0; 32]).is_some());
	}

	#[test]
	fn a_result_is_stored_once_and_its_salt_never_changes() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		store.put(record(1, 0)).unwrap();
		let first =
			store.store_result(&store.get((1, 0)).unwrap(), b"first", [1; 32], 10, None).unwrap();
		// A second run after a restart (or a bug) must not produce a second commitment.
		let second =
			store.store_result(&store.get((1, 0)).unwrap(), b"second", [2; 32], 20, None).unwrap();
		assert_eq!(first, second);
		assert_eq!(fs::read(store.output_path((1, 0))).unwrap(), b"first");
		let reopened = Store::open(dir.path()).unwrap();
		assert_eq!(reopened.get((1, 0)).unwrap().commitment(&[0; 32]), first.commitment(&[0; 32]));
	}

	/// A job task's result goes only to the record it ran from: after a reorg replaced the record
	/// with another job's (another fingerprint under the same id), the result is refused and the
	/// new record keeps no digest or salt of the old job's.
	#[test]
	fn a_result_is_stored_only_for_the_job_it_was_computed_for() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let old = Record { fingerprint: Some([1; 32]), ..record(5, 0) };
		store.put(old.clone()).unwrap();
		assert!(old.is_for([1; 32]) && !old.is_for([2; 32]));
		assert!(Record { fingerprint: None, ..record(5, 0) }.is_for([2; 32]), "an old record");
		// The reconciler replaces it with the new chain's job under the same id.
		store.remove((5, 0)).unwrap();
		let new = Record { fingerprint: Some([2; 32]), ..record(5, 0) };
		store.put(new).unwrap();
		let refused = store.store_result(&old, b"old job's output", [7; 32], 1, None);
		assert!(matches!(refused, Err(StoreError::Corrupt { .. })), "{refused:?}");
		let kept = store.get((5, 0)).unwrap();
		assert_eq!((kept.digest, kept.salt, kept.fingerprint), (None, None, Some([2; 32])));
		assert!(store.open_output((5, 0)).is_err(), "no output of the old job");
		// Its own task's result is stored.
		let mine = store.store_result(&kept, b"new", [8; 32], 2, None).unwrap();
		assert_eq!(mine.digest, Some([8; 32]));
	}

	#[test]
	fn stages_only_move_forward_and_leftover_temporary_files_are_ignored() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		store.put(record(4, 0)).unwrap();
		store.advance((4, 0), Stage::Committed, None).unwrap();
		let back = store.advance((4, 0), Stage::Running, None).unwrap().unwrap();
		assert_eq!(back.stage, Stage::Committed);
		fs::write(dir.path().join("jobs/4-0.tmp"), b"{ half a rec").unwrap();
		let reopened = Store::open(dir.path()).unwrap();
		assert_eq!(reopened.get((4, 0)).unwrap().stage, Stage::Committed);
		assert!(!dir.path().join("jobs/4-0.tmp").exists());
	}

	#[test]
	fn writes_a_crash_left_unfinished_are_removed_on_open() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		store.put(record(5, 0)).unwrap();
		for sub in ["jobs", "outputs", "checkpoints"] {
			fs::write(dir.path().join(sub).join(".5-0.json.AbCdEf.partial"), b"half").unwrap();
		}
		let store = Store::open(dir.path()).unwrap();
		assert_eq!(store.get((5, 0)).unwrap().stage, Stage::Acknowledging);
		for sub in ["jobs", "outputs", "checkpoints"] {
			assert_eq!(
				fs::read_dir(dir.path().join(sub)).unwrap().count(),
				usize::from(sub == "jobs")
			);
		}
	}

	/// Tasks that change one record at once (the reconciler, the submitter, a job) each see the
	/// other's change: the record ends at the furthest stage any of them set, never behind it,
	/// and no write fails for another's temporary file.
	#[test]
	fn concurrent_changes_of_one_record_lose_nothing() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		store.put(record(6, 1)).unwrap();
		let stages = [Stage::Running, Stage::Computed, Stage::Committed, Stage::Revealed];
		std::thread::scope(|scope| {
			for (i, stage) in stages.iter().enumerate() {
				let store = store.clone();
				scope.spawn(move || {
					for round in 0..20 {
						let note = (round % 2 == 0).then(|| format!("task {i} round {round}"));
						store.advance((6, 1), *stage, note).unwrap();
					}
				});
			}
		});
		assert_eq!(store.get((6, 1)).unwrap().stage, Stage::Revealed);
		let reopened = Store::open(dir.path()).unwrap();
		assert_eq!(reopened.get((6, 1)).unwrap().stage, Stage::Revealed);
	}

	#[test]
	fn a_corrupt_record_is_an_error_naming_the_file() {
		let dir = tempfile::tempdir().unwrap();
		fs::create_dir_all(dir.path().join("jobs")).unwrap();
		fs::write(dir.path().join("jobs/1-0.json"), b"not json").unwrap();
		let err = Store::open(dir.path()).err().unwrap().to_string();
		assert!(err.contains("1-0.json"), "{err}");
	}

	#[test]
	fn checkpoints_live_on_disk_until_the_result_is_stored() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		store.put(record(6, 0)).unwrap();
		let at = |units, state: &[u8], output_len| Checkpoint {
			program_hash: [9; 32],
			units,
			state: state.to_vec(),
			output_len,
		};
		let checkpoints = store.checkpoints((6, 0));
		checkpoints.save(at(5, &[1, 2], 1), b"a").unwrap();
		checkpoints.save(at(9, &[3], 3), b"abc").unwrap();
		// Each save appended what was new: the output is on disk once, not in every checkpoint.
		let out = dir.path().join("checkpoints/6-0.out");
		assert_eq!(fs::read(&out).unwrap(), b"abc");
		assert!(fs::metadata(dir.path().join("checkpoints/6-0.ckpt")).unwrap().len() < 70);
		let reopened = Store::open(dir.path()).unwrap();
		let resumed = reopened.checkpoints((6, 0));
		assert_eq!(resumed.load(), Some((at(9, &[3], 3), b"abc".to_vec())));
		// A save that crashed after appending and before its checkpoint left bytes past the
		// checkpoint's output: they are not read, and the next save cuts them off.
		fs::write(&out, b"abcJUNK").unwrap();
		let resumed = reopened.checkpoints((6, 0));
		assert_eq!(resumed.load(), Some((at(9, &[3], 3), b"abc".to_vec())));
		resumed.save(at(12, &[4], 5), b"abcde").unwrap();
		assert_eq!(fs::read(&out).unwrap(), b"abcde");
		// An output shorter than its checkpoint says is no checkpoint: the job starts over.
		fs::write(&out, b"ab").unwrap();
		assert_eq!(reopened.checkpoints((6, 0)).load(), None);
		// A fresh run (no checkpoint loaded) starts the output file over.
		reopened.checkpoints((6, 0)).save(at(1, &[], 2), b"xy").unwrap();
		assert_eq!(fs::read(&out).unwrap(), b"xy");
		reopened.store_result(&reopened.get((6, 0)).unwrap(), b"x", [0; 32], 1, None).unwrap();
		assert_eq!(reopened.checkpoints((6, 0)).load(), None);
		assert!(!out.exists());
	}
}

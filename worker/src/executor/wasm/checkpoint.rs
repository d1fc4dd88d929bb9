//! A job's checkpoints: the saved state, its encoding and where it is kept.

use std::{
	io,
	sync::{Mutex, PoisonError},
};

/// A job's saved state: what `stratus::checkpoint_save` stored, with the units used and the length
/// of the output written up to that point. The output itself is not part of it: it only grows,
/// so the store keeps it beside the checkpoint and appends what is new at each save, instead of
/// copying all of it into every checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
	/// The program that saved it; a checkpoint of another program is ignored.
	pub program_hash: [u8; 32],
	/// Units used by the job up to the save, over every run of it so far.
	pub units: u64,
	/// The bytes the program saved.
	pub state: Vec<u8>,
	/// How many output bytes the job had written at the save.
	pub output_len: u64,
}

const CHECKPOINT_MAGIC: &[u8; 5] = b"STCK\x02";

impl Checkpoint {
	/// A self-describing encoding for storing the checkpoint on disk: `STCK`, version 2, the
	/// program hash, the units and the output's length (u64 LE each), then the state as a u64 LE
	/// length followed by the bytes. (Version 1 held the output too; such a file is not read,
	/// and its job starts over, which is always correct.)
	pub fn encode(&self) -> Vec<u8> {
		let mut bytes = Vec::with_capacity(61_usize.saturating_add(self.state.len()));
		bytes.extend_from_slice(CHECKPOINT_MAGIC);
		bytes.extend_from_slice(&self.program_hash);
		bytes.extend_from_slice(&self.units.to_le_bytes());
		bytes.extend_from_slice(&self.output_len.to_le_bytes());
		bytes.extend_from_slice(&(self.state.len() as u64).to_le_bytes());
		bytes.extend_from_slice(&self.state);
		bytes
	}

	/// The checkpoint `bytes` encode ([`Checkpoint::encode`]), or `None` if they are not one.
	pub fn decode(bytes: &[u8]) -> Option<Self> {
		let mut reader = Reader(bytes);
		if reader.take(CHECKPOINT_MAGIC.len())? != CHECKPOINT_MAGIC {
			return None;
		}
		let program_hash = reader.take(32)?.try_into().ok()?;
		let units = reader.u64()?;
		let output_len = reader.u64()?;
		let state = reader.part()?;
		reader.0.is_empty().then_some(Self { program_hash, units, state, output_len })
	}
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
	fn take(&mut self, n: usize) -> Option<&'a [u8]> {
		let (head, rest) = self.0.split_at_checked(n)?;
		self.0 = rest;
		Some(head)
	}

	fn u64(&mut self) -> Option<u64> {
		Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
	}

	fn part(&mut self) -> Option<Vec<u8>> {
		let len = usize::try_from(self.u64()?).ok()?;
		Some(self.take(len)?.to_vec())
	}
}

/// Where a job's checkpoint lives between runs; the worker keeps one per job (on disk, so that a
/// restarted worker resumes the job; [`Checkpoint::encode`] is a ready file format). Called from
/// the thread running the job, inside the job's time: a slow `save` uses up its wall clock.
pub trait CheckpointStore: Send + Sync {
	/// The job's last saved checkpoint, if any, with the output it counted (its first
	/// `output_len` bytes). A store that cannot read them returns `None`: the job then starts
	/// over, which is always correct.
	fn load(&self) -> Option<(Checkpoint, Vec<u8>)>;
	/// Replaces the job's checkpoint. `output` is the job's whole output so far (`output_len`
	/// bytes), which only ever grows from what the store holds: a store on disk appends the new
	/// bytes. An error is reported to the program (`checkpoint_save` returns -1), which goes on.
	fn save(&self, checkpoint: Checkpoint, output: &[u8]) -> io::Result<()>;
}

/// No checkpoints: nothing to resume from, and saves fail (`checkpoint_save` returns -1).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCheckpoints;

impl CheckpointStore for NoCheckpoints {
	fn load(&self) -> Option<(Checkpoint, Vec<u8>)> {
		None
	}

	fn save(&self, _: Checkpoint, _: &[u8]) -> io::Result<()> {
		Err(io::Error::new(io::ErrorKind::Unsupported, "this job keeps no checkpoints"))
	}
}

/// Checkpoints kept in memory (they do not survive the process).
#[derive(Debug, Default)]
pub struct MemoryCheckpoints(Mutex<Option<(Checkpoint, Vec<u8>)>>);

impl MemoryCheckpoints {
	/// A store holding `checkpoint` and its output.
	pub fn new(checkpoint: Option<(Checkpoint, Vec<u8>)>) -> Self {
		Self(Mutex::new(checkpoint))
	}

	/// The checkpoint held and its output, if any.
	pub fn get(&self) -> Option<(Checkpoint, Vec<u8>)> {
		self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
	}
}

impl CheckpointStore for MemoryCheckpoints {
	fn load(&self) -> Option<(Checkpoint, Vec<u8>)> {
		self.get()
	}

	fn save(&self, checkpoint: Checkpoint, output: &[u8]) -> io::Result<()> {
		*self.0.lock().unwrap_or_else(PoisonError::into_inner) =
			Some((checkpoint, output.to_vec()));
		Ok(())
	}
}

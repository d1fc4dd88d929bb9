//! The job manifest: a small TOML file that says what to run, on what, for how much and by when
//! (`stratus job submit job.toml`; the format is documented in `docs/requester-guide.md`).
//!
//! ```toml
//! program = "sha256.wasm"          # a program file, or the hash of a registered one ("0x…")
//! input = { file = "input.bin" }   # or { text = "…" }, or { url = "https://…", hash = "0x…", size = 1048576 }
//! max_price = "0.000001 STRAT"     # per compute unit, at most
//! max_units = 500_000_000          # per replica, at most
//! policy = "adaptive"              # how the result is verified (default "adaptive"):
//!                                  # "unverified", "replicated(3)" or "adaptive"
//! deadline = "10m"                 # from submission: "90s", "10m", "2h" or "200 blocks"
//! commit_window = "2m"             # from acknowledgement to commit (default "1m")
//! max_output = "1 MiB"             # largest output accepted (default "1 MiB")
//!
//! [requirements]                   # all optional
//! min_cpu_cores = 2
//! min_memory_mib = 1024
//! regions_allowed = [276, 250]     # allowed region codes; `regions_denied` refuses some
//! ```
//!
//! [`Manifest::load`] reads the file — unknown keys and missing fields are refused by name — and
//! [`Manifest::plan`] checks it against the chain's limits ([`Limits`]) without sending anything,
//! so every error says what to change in the file.

use std::path::{Path, PathBuf};

use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
pub use stratus_primitives::VerificationPolicy;

use crate::{
	amount::{int_or_text, Amount},
	program::ProgramKind,
};

/// A manifest that cannot be used, and what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}: {problem}")]
pub struct ManifestError {
	/// The manifest file.
	pub path: PathBuf,
	/// What is wrong and how to fix it.
	pub problem: String,
}

/// The manifest as written.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
	/// A program file (relative to the manifest) or a registered program's hash.
	pub program: String,
	/// The job's input.
	pub input: InputSource,
	/// Highest price per compute unit.
	pub max_price: Amount,
	/// Most compute units one replica may charge.
	pub max_units: u64,
	/// How its result is verified: `"adaptive"` (the default), `"unverified"` or
	/// `"replicated(n)"`.
	#[serde(default)]
	pub policy: Option<String>,
	/// Replaced by `policy`; named only to say so.
	#[serde(default)]
	pub replication: Option<i64>,
	/// Time from submission to the job's last block.
	pub deadline: Span,
	/// Time a replica has from acknowledging to committing.
	#[serde(default = "default_commit_window")]
	pub commit_window: Span,
	/// Largest output accepted.
	#[serde(default = "default_max_output")]
	pub max_output: Size,
	/// What a provider must have.
	#[serde(default)]
	pub requirements: Requirements,
	#[serde(skip)]
	dir: PathBuf,
	#[serde(skip)]
	path: PathBuf,
}

fn default_commit_window() -> Span {
	Span::Seconds(60)
}

fn default_max_output() -> Size {
	Size(1 << 20)
}

/// Where the input comes from.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, untagged)]
pub enum InputSource {
	/// A local file, sent with the job.
	File { file: PathBuf },
	/// Text, sent with the job.
	Text { text: String },
	/// Fetched by the worker over HTTP(S), checked against `hash` (blake2-256) and `size`.
	Url { url: String, hash: String, size: u64 },
}

/// What a provider must have. Empty lists and zeros impose nothing.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
	#[serde(default)]
	pub min_cpu_cores: u16,
	/// The least memory a provider must have, and the job's memory limit
	/// (`stratus_primitives::job_memory_mib`: 256 MiB when 0).
	#[serde(default)]
	pub min_memory_mib: u32,
	#[serde(default)]
	pub min_vram_mib: u32,
	/// `"8.0"` style.
	#[serde(default)]
	pub min_compute_capability: Option<String>,
	#[serde(default)]
	pub gpu_models: Vec<String>,
	#[serde(default)]
	pub regions_allowed: Vec<u16>,
	#[serde(default)]
	pub regions_denied: Vec<u16>,
	#[serde(default)]
	pub min_stake: Amount,
	/// Least provider reputation for the job's kind: `"80%"` or `"0.8"` (a newcomer has 50%).
	#[serde(default)]
	pub min_reputation: Option<String>,
}

/// A length of time: seconds, or blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
	Seconds(u64),
	Blocks(u32),
}

impl Span {
	/// Reads `"90s"`, `"10m"`, `"2h"`, `"1h 30m"` (`humantime`; a fraction of a second rounds up),
	/// `"200 blocks"`, or a bare number of seconds.
	pub fn parse(text: &str) -> Result<Self, String> {
		let text = text.trim();
		let bad = || {
			format!("{text:?} is not a time: write e.g. \"90s\", \"10m\", \"2h\" or \"200 blocks\"")
		};
		let digits = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
		if let Some(n) = text.strip_suffix("blocks").or_else(|| text.strip_suffix("block")) {
			let n = n.trim();
			return if digits(n) {
				n.parse().map(Span::Blocks).map_err(|_| bad())
			} else {
				Err(bad())
			};
		}
		if digits(text) {
			return text.parse().map(Span::Seconds).map_err(|_| bad());
		}
		let time = humantime::parse_duration(text).map_err(|_| bad())?;
		let seconds = time.as_secs().saturating_add(u64::from(time.subsec_nanos() > 0));
		Ok(Span::Seconds(seconds))
	}

	/// In blocks of `block_ms`, rounded up.
	pub fn blocks(&self, block_ms: u64) -> u32 {
		match *self {
			Span::Blocks(n) => n,
			Span::Seconds(s) => {
				let blocks = s.saturating_mul(1000).div_ceil(block_ms.max(1));
				u32::try_from(blocks).unwrap_or(u32::MAX)
			},
		}
	}
}

impl<'de> Deserialize<'de> for Span {
	fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
		int_or_text(d, Span::Seconds, Span::parse)
	}
}

/// A size in bytes: `"1 MiB"`, `"64 KiB"`, `"512 B"` or a number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl Size {
	/// Reads `"<n> B|KiB|MiB|GiB"` (and the decimal `kB`, `MB`, `GB`; `bytesize`) or a bare number
	/// of bytes.
	pub fn parse(text: &str) -> Result<Self, String> {
		let text = text.trim();
		let bad =
			|| format!("{text:?} is not a size: write e.g. \"1 MiB\", \"64 KiB\" or \"512 B\"");
		if !text.starts_with(|c: char| c.is_ascii_digit()) {
			return Err(bad());
		}
		text.parse::<bytesize::ByteSize>().map(|size| Size(size.as_u64())).map_err(|_| bad())
	}
}

impl<'de> Deserialize<'de> for Size {
	fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
		int_or_text(d, Size, Size::parse)
	}
}

/// Blocks a posted job may take to be included, counted into the shortest deadline accepted.
pub const INCLUSION_SLACK_BLOCKS: u32 = 3;

/// The chain's limits a job must respect (the market's constants, and the block time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
	pub block_ms: u64,
	pub max_inline_input: u32,
	/// Largest `max_output` a job may allow, in bytes.
	pub max_output_bytes: u32,
	pub max_url_length: u32,
	pub max_replication: u8,
	/// Referee replicas a dispute calls (counted into the escrow).
	pub referees: u8,
	/// The storage deposit every job holds until its record is reaped.
	pub job_deposit: u128,
	pub max_requirement_items: u32,
	pub ack_window: u32,
	pub reveal_window: u32,
	pub max_job_duration: u32,
	pub max_program_size: u32,
}

impl Limits {
	/// Refuses a program the chain would not store (`Market::ProgramTooLarge`), before any fee is
	/// paid for sending it.
	pub fn check_program_size(&self, len: usize) -> Result<(), String> {
		if len > self.max_program_size as usize {
			return Err(format!(
				"it is {len} bytes; the chain stores programs of at most {} bytes",
				self.max_program_size
			));
		}
		Ok(())
	}
}

/// The program a plan runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramRef {
	/// A registered program's hash.
	Hash([u8; 32]),
	/// A program file's bytes (registered first if the chain does not have them), its hash, and
	/// what it holds.
	File { code: Vec<u8>, hash: [u8; 32], kind: ProgramKind },
}

impl ProgramRef {
	/// The program's hash.
	pub fn hash(&self) -> [u8; 32] {
		match self {
			ProgramRef::Hash(hash) | ProgramRef::File { hash, .. } => *hash,
		}
	}
}

/// The job's input as it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannedInput {
	Inline(Vec<u8>),
	Remote { url: String, hash: [u8; 32], size: u64 },
}

/// A checked manifest: everything `submit_job` takes, in the chain's units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
	pub program: ProgramRef,
	pub input: PlannedInput,
	pub max_price: u128,
	pub max_units: u64,
	pub policy: VerificationPolicy,
	/// Referee replicas a dispute calls (the chain's `Referees`).
	pub referees: u8,
	/// Blocks from submission to the deadline.
	pub deadline_blocks: u32,
	pub commit_window_blocks: u32,
	pub max_output_bytes: u32,
	pub requirements: Requirements,
	/// `min_compute_capability` as `major * 10 + minor`.
	pub min_compute_capability: u16,
	/// `min_reputation` in parts per billion.
	pub min_reputation: u32,
}

impl Plan {
	/// The escrow the job holds: its worst case, `max_price × max_units` for every replica the
	/// policy can pay ([`VerificationPolicy::most_paid`], referees included).
	pub fn escrow(&self) -> Option<u128> {
		self.max_price
			.checked_mul(u128::from(self.max_units))?
			.checked_mul(u128::from(self.policy.most_paid(self.referees)))
	}

	/// The replicas the job runs when nobody disagrees: `(fewest, most)`. An `adaptive` job runs
	/// one when a trusted provider takes it and is not spot-checked, two otherwise.
	pub fn expected_replicas(&self) -> (u8, u8) {
		match self.policy {
			VerificationPolicy::Unverified => (1, 1),
			// One job in ten gets a spot-check replica (the chain's `ReplicatedSpotCheck`).
			VerificationPolicy::Replicated(n) => (n, n.saturating_add(1)),
			VerificationPolicy::Adaptive => (1, 2),
		}
	}
}

/// How a policy reads in a manifest and on screen: `unverified`, `replicated(3)`, `adaptive`.
pub fn policy_name(policy: &VerificationPolicy) -> String {
	match policy {
		VerificationPolicy::Unverified => "unverified".to_owned(),
		VerificationPolicy::Replicated(n) => format!("replicated({n})"),
		VerificationPolicy::Adaptive => "adaptive".to_owned(),
	}
}

/// Reads a manifest's `policy`: `"adaptive"`, `"unverified"`, or `"replicated(n)"`.
pub fn parse_policy(text: &str) -> Option<VerificationPolicy> {
	let text = text.trim().to_ascii_lowercase();
	match text.as_str() {
		"adaptive" => return Some(VerificationPolicy::Adaptive),
		"unverified" => return Some(VerificationPolicy::Unverified),
		_ => {},
	}
	let n = text.strip_prefix("replicated")?.trim().strip_prefix('(')?.strip_suffix(')')?;
	n.trim().parse().ok().map(VerificationPolicy::Replicated)
}

/// `0x` + 64 hex digits → 32 bytes.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
	let bytes = hex::decode(text.trim().strip_prefix("0x")?).ok()?;
	bytes.try_into().ok()
}

impl Manifest {
	/// Reads a manifest file.
	pub fn load(path: &Path) -> Result<Self, ManifestError> {
		let err = |problem: String| ManifestError { path: path.to_owned(), problem };
		let text =
			std::fs::read_to_string(path).map_err(|e| err(format!("cannot read it: {e}")))?;
		Self::parse(&text, path)
	}

	/// Reads a manifest's text; relative paths in it are taken from `path`'s directory.
	pub fn parse(text: &str, path: &Path) -> Result<Self, ManifestError> {
		let mut manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError {
			path: path.to_owned(),
			problem: describe_toml_error(&e, text),
		})?;
		manifest.dir = path.parent().map(Path::to_owned).unwrap_or_default();
		manifest.path = path.to_owned();
		Ok(manifest)
	}

	fn err(&self, problem: impl Into<String>) -> ManifestError {
		ManifestError { path: self.path.clone(), problem: problem.into() }
	}

	fn file(&self, name: &Path) -> PathBuf {
		if name.is_absolute() {
			name.to_owned()
		} else {
			self.dir.join(name)
		}
	}

	/// Checks the manifest against `limits` and reads the files it names.
	pub fn plan(&self, limits: &Limits) -> Result<Plan, ManifestError> {
		let program = match parse_hash(&self.program) {
			Some(hash) => ProgramRef::Hash(hash),
			None if self.program.starts_with("0x") => {
				return Err(self.err(format!(
					"program = {:?} is neither a file nor a program hash (0x + 64 hex digits)",
					self.program
				)))
			},
			None => {
				let path = self.file(Path::new(&self.program));
				let code = std::fs::read(&path).map_err(|e| {
					self.err(format!(
						"program = {:?}: cannot read {}: {e}",
						self.program,
						path.display()
					))
				})?;
				limits
					.check_program_size(code.len())
					.map_err(|e| self.err(format!("program {}: {e}", path.display())))?;
				let kind = crate::program::check_program(&code)
					.map_err(|e| self.err(format!("program {}: {e}", path.display())))?;
				let hash = crate::blake2_256(&code);
				ProgramRef::File { code, hash, kind }
			},
		};
		let input = match &self.input {
			InputSource::File { file } => {
				let path = self.file(file);
				let bytes = std::fs::read(&path).map_err(|e| {
					self.err(format!("input file {}: cannot read it: {e}", path.display()))
				})?;
				self.inline(bytes, limits, Some(&path))?
			},
			InputSource::Text { text } => self.inline(text.as_bytes().to_vec(), limits, None)?,
			InputSource::Url { url, hash, size } => {
				if !(url.starts_with("http://") || url.starts_with("https://")) {
					return Err(
						self.err(format!("input url {url:?} must start with http:// or https://"))
					);
				}
				if url.len() > limits.max_url_length as usize {
					return Err(self.err(format!(
						"input url is {} bytes long; the chain takes URLs of at most {} bytes",
						url.len(),
						limits.max_url_length
					)));
				}
				let hash = parse_hash(hash).ok_or_else(|| {
					self.err(format!(
						"input hash {hash:?} is not 0x + 64 hex digits (the blake2-256 of the \
						 input; `stratus hash <file>` prints it)"
					))
				})?;
				PlannedInput::Remote { url: url.clone(), hash, size: *size }
			},
		};
		if self.max_price.0 == 0 {
			return Err(self.err("max_price is 0: name the most you pay per compute unit"));
		}
		if self.max_units == 0 {
			return Err(self.err("max_units is 0: name the most compute units one replica may use"));
		}
		if let Some(old) = &self.replication {
			return Err(self.err(format!(
				"replication = {old} is replaced by policy: write policy = \"replicated({old})\" \
				 for that many providers, policy = \"unverified\" for one, or leave policy out \
				 for \"adaptive\""
			)));
		}
		let policy = match &self.policy {
			None => VerificationPolicy::Adaptive,
			Some(text) => parse_policy(text).ok_or_else(|| {
				self.err(format!(
					"policy = {text:?}: write \"adaptive\" (the default), \"unverified\" or \
					 \"replicated(n)\" with n from 2 to {}",
					limits.max_replication
				))
			})?,
		};
		if let VerificationPolicy::Replicated(n) = policy {
			if n < 2 || n > limits.max_replication {
				return Err(self.err(format!(
					"policy = \"replicated({n})\": n runs from 2 to {} (one replica is \
					 \"unverified\")",
					limits.max_replication
				)));
			}
		}
		let max_output_bytes = u32::try_from(self.max_output.0)
			.ok()
			.filter(|n| *n > 0)
			.ok_or_else(|| self.err("max_output must be from 1 byte to 4 GiB"))?;
		if max_output_bytes > limits.max_output_bytes {
			return Err(self.err(format!(
				"max_output is too large: the chain allows jobs at most {} bytes of output; write \
				 max_output = \"{} MiB\" or less (a digest or a summary instead of the raw data)",
				limits.max_output_bytes,
				limits.max_output_bytes >> 20
			)));
		}
		let commit_window_blocks = self.commit_window.blocks(limits.block_ms);
		if commit_window_blocks == 0 {
			return Err(self.err("commit_window is 0: give the worker time to run the job"));
		}
		let deadline_blocks = self.deadline.blocks(limits.block_ms);
		// The chain wants the deadline past acknowledgement, commit and reveal windows counted from
		// the block that includes the job; a few blocks of slack cover the way there.
		let shortest = limits
			.ack_window
			.saturating_add(commit_window_blocks)
			.saturating_add(limits.reveal_window)
			.saturating_add(INCLUSION_SLACK_BLOCKS);
		let seconds =
			|blocks: u32| u64::from(blocks).saturating_mul(limits.block_ms).div_ceil(1000);
		if deadline_blocks < shortest {
			return Err(self.err(format!(
				"deadline is too short: {deadline_blocks} blocks, but a replica needs {} to \
				 acknowledge, {commit_window_blocks} to commit (commit_window) and {} to reveal; \
				 write deadline = \"{}s\" or more, or shorten commit_window",
				limits.ack_window,
				limits.reveal_window,
				seconds(shortest)
			)));
		}
		if deadline_blocks > limits.max_job_duration {
			return Err(self.err(format!(
				"deadline is too far: {deadline_blocks} blocks; a job may last at most {} blocks \
				 ({} s)",
				limits.max_job_duration,
				seconds(limits.max_job_duration)
			)));
		}
		let r = &self.requirements;
		let items = limits.max_requirement_items as usize;
		for (name, len) in [
			("gpu_models", r.gpu_models.len()),
			("regions_allowed", r.regions_allowed.len()),
			("regions_denied", r.regions_denied.len()),
		] {
			if len > items {
				return Err(self.err(format!(
					"requirements.{name} lists {len} items; the chain takes at most {items}"
				)));
			}
		}
		let min_compute_capability = match &r.min_compute_capability {
			None => 0,
			Some(text) => parse_compute_capability(text).ok_or_else(|| {
				self.err(format!(
					"requirements.min_compute_capability = {text:?}: write major.minor, e.g. \"8.0\""
				))
			})?,
		};
		let min_reputation = match &r.min_reputation {
			None => 0,
			Some(text) => parse_fraction(text).ok_or_else(|| {
				self.err(format!(
					"requirements.min_reputation = {text:?}: write a share between 0 and 1, as \
					 \"0.8\" or \"80%\""
				))
			})?,
		};
		let plan = Plan {
			program,
			input,
			max_price: self.max_price.0,
			max_units: self.max_units,
			policy,
			referees: limits.referees,
			deadline_blocks,
			commit_window_blocks,
			max_output_bytes,
			requirements: r.clone(),
			min_compute_capability,
			min_reputation,
		};
		if plan.escrow().is_none() {
			return Err(self.err(
				"max_price × max_units × the replicas the policy can pay is too large to escrow",
			));
		}
		Ok(plan)
	}

	fn inline(
		&self,
		bytes: Vec<u8>,
		limits: &Limits,
		file: Option<&Path>,
	) -> Result<PlannedInput, ManifestError> {
		if bytes.len() > limits.max_inline_input as usize {
			let source = file.map_or("the input text".to_owned(), |p| p.display().to_string());
			return Err(self.err(format!(
				"input is too large: {source} is {} bytes; a job carries at most {} bytes inline. \
				 Serve it over HTTP and write input = {{ url = \"https://…\", hash = \"0x{}\", \
				 size = {} }}",
				bytes.len(),
				limits.max_inline_input,
				hex::encode(crate::blake2_256(&bytes)),
				bytes.len()
			)));
		}
		Ok(PlannedInput::Inline(bytes))
	}
}

/// `"8.6"` → 86.
fn parse_compute_capability(text: &str) -> Option<u16> {
	let (major, minor) = text.trim().split_once('.')?;
	let (major, minor): (u16, u16) = (major.parse().ok()?, minor.parse().ok()?);
	(minor < 10).then(|| major.checked_mul(10)?.checked_add(minor)).flatten()
}

/// A share between 0 and 1 in parts per billion, from `"0.8"`, `"80%"` or `"97.5%"` (at most
/// nine decimals of the share; exact decimals, no floating point).
pub fn parse_fraction(text: &str) -> Option<u32> {
	let text = text.trim();
	let (number, per_billion) = match text.strip_suffix('%') {
		Some(percent) => (percent.trim(), 10_000_000u32),
		None => (text, 1_000_000_000u32),
	};
	let share = crate::amount::unsigned_decimal(number)?;
	let parts = share.checked_mul(per_billion.into())?;
	// More digits than a part per billion holds are refused, not rounded.
	if !parts.fract().is_zero() {
		return None;
	}
	parts.to_u32().filter(|p| *p <= 1_000_000_000)
}

/// A TOML error in one line: where (the line and the key, `table.key` inside a table), and what
/// (serde names the missing field or the unknown key).
fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
	let message = e.message().trim().to_owned();
	// A missing field has no line of its own: serde names it.
	let place = match e.span() {
		Some(span) if !message.starts_with("missing field") => place_of(text, span.start),
		_ => String::new(),
	};
	format!("{place}{}", describe_toml_message(message))
}

/// `line N, `key`: ` for the byte `at` of the manifest's text: the line it is on, and the key
/// that line sets, with the `[table]` it is in.
fn place_of(text: &str, at: usize) -> String {
	let before = text.get(..at).unwrap_or(text);
	let number = before.matches('\n').count().saturating_add(1);
	let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
	let line = text.get(line_start..).and_then(|rest| rest.lines().next()).unwrap_or_default();
	let table = before
		.lines()
		.rev()
		.map(str::trim)
		.find(|l| l.starts_with('[') && l.ends_with(']'))
		.map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
	match line.split_once('=').map(|(key, _)| key.trim()).filter(|k| !k.is_empty()) {
		Some(key) => match table {
			Some(table) => format!("line {number}, `{table}.{key}`: "),
			None => format!("line {number}, `{key}`: "),
		},
		None => format!("line {number}: "),
	}
}

/// A TOML error's message with a hint of what to do.
fn describe_toml_message(message: String) -> String {
	let hint = if message.starts_with("missing field") {
		" (see docs/requester-guide.md, \"The job manifest\", for every field)"
	} else if message.starts_with("unknown field") {
		" (a misspelt key? see docs/requester-guide.md, \"The job manifest\")"
	} else if message.contains("did not match any variant of untagged enum InputSource") {
		return "input must be one of { file = \"…\" }, { text = \"…\" } or { url = \"…\", hash = \
		        \"0x…\", size = … }"
			.to_owned();
	} else {
		""
	};
	format!("{message}{hint}")
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
	use super::*;

	#[test]
	fn fractions_parse_without_floating_point() {
		assert_eq!(super::parse_fraction("0.8"), Some(800_000_000));
		assert_eq!(super::parse_fraction("80%"), Some(800_000_000));
		assert_eq!(super::parse_fraction("97.5%"), Some(975_000_000));
		assert_eq!(super::parse_fraction("1"), Some(1_000_000_000));
		assert_eq!(super::parse_fraction("100%"), Some(1_000_000_000));
		assert_eq!(super::parse_fraction(".5"), Some(500_000_000));
		assert_eq!(super::parse_fraction("0.800000000"), Some(800_000_000));
		assert_eq!(super::parse_fraction("12.3456789%"), Some(123_456_789));
		for bad in [
			"",
			"%",
			"1.5",
			"101%",
			"-0.1",
			"0.8.1",
			"abc",
			"0.0000000001",
			"1e-3",
			"+0.5",
			"0.+5",
			"12.34567891%",
			"50 %%",
			"0x1",
		] {
			assert_eq!(super::parse_fraction(bad), None, "{bad:?}");
		}
	}

	const LIMITS: Limits = Limits {
		block_ms: 3000,
		max_inline_input: 1024,
		max_output_bytes: 64 << 20,
		max_url_length: 256,
		max_replication: 5,
		referees: 2,
		job_deposit: 10_000_000_000,
		max_requirement_items: 8,
		ack_window: 10,
		reveal_window: 10,
		max_job_duration: 28_800,
		max_program_size: 4 << 20,
	};

	const GOOD: &str = r#"
program = "0x1111111111111111111111111111111111111111111111111111111111111111"
input = { text = "hello" }
max_price = "1000 planck"
max_units = 1_000_000
deadline = "5m"
"#;

	fn plan(text: &str) -> Result<Plan, ManifestError> {
		Manifest::parse(text, Path::new("/tmp/job.toml"))?.plan(&LIMITS)
	}

	fn problem(text: &str) -> String {
		plan(text).unwrap_err().problem
	}

	/// A value that does not read names its line and its key (inside a table, `table.key`);
	/// an unknown key too; a missing field has no line, and serde names it.
	#[test]
	fn a_value_that_does_not_read_names_its_line_and_key() {
		// GOOD starts with an empty line: max_units is on line 5.
		let units = GOOD.replace("max_units = 1_000_000", "max_units = \"lots\"");
		assert_eq!(
			problem(&units),
			"line 5, `max_units`: invalid type: string \"lots\", expected u64"
		);
		let policy = format!("{GOOD}policy = 7\n");
		assert!(problem(&policy).starts_with("line 7, `policy`: invalid type: integer `7`"));
		let cores =
			format!("{GOOD}[requirements]\nregions_allowed = [276]\nmin_cpu_cores = \"four\"\n");
		assert_eq!(
			problem(&cores),
			"line 9, `requirements.min_cpu_cores`: invalid type: string \"four\", expected u16"
		);
		let unknown = format!("{GOOD}max_unit = 5\n");
		assert!(problem(&unknown).starts_with("line 7, `max_unit`: unknown field `max_unit`"));
		let missing = GOOD.replace("max_units = 1_000_000\n", "");
		assert!(
			problem(&missing).starts_with("missing field `max_units`"),
			"{}",
			problem(&missing)
		);
	}

	#[test]
	fn a_good_manifest_plans_in_blocks_with_defaults() {
		let plan = plan(GOOD).unwrap();
		assert_eq!(plan.program, ProgramRef::Hash([0x11; 32]));
		assert_eq!(plan.input, PlannedInput::Inline(b"hello".to_vec()));
		assert_eq!((plan.max_price, plan.max_units), (1000, 1_000_000));
		assert_eq!(plan.policy, VerificationPolicy::Adaptive);
		assert_eq!(plan.deadline_blocks, 100);
		assert_eq!(plan.commit_window_blocks, 20);
		assert_eq!(plan.max_output_bytes, 1 << 20);
		// The worst case of adaptive: two replicas and two referees.
		assert_eq!(plan.escrow(), Some(4_000_000_000));
		assert_eq!(plan.expected_replicas(), (1, 2));
	}

	#[test]
	fn policies_read_as_written_and_hold_their_worst_case() {
		for (text, policy, escrow) in [
			("unverified", VerificationPolicy::Unverified, 1),
			("replicated(3)", VerificationPolicy::Replicated(3), 6),
			("Replicated( 2 )", VerificationPolicy::Replicated(2), 5),
			("adaptive", VerificationPolicy::Adaptive, 4),
		] {
			let plan = plan(&format!("{GOOD}policy = {text:?}\n")).unwrap();
			assert_eq!(plan.policy, policy, "{text}");
			assert_eq!(plan.escrow(), Some(escrow * 1_000_000_000), "{text}");
			assert_eq!(parse_policy(&policy_name(&policy)), Some(policy));
		}
		for bad in ["replicated", "replicated()", "replicated(x)", "verified", "2"] {
			let p = problem(&format!("{GOOD}policy = {bad:?}\n"));
			assert!(p.contains("write \"adaptive\""), "{bad}: {p}");
		}
		let p = problem(&format!("{GOOD}policy = \"replicated(1)\"\n"));
		assert!(p.contains("from 2 to 5") && p.contains("unverified"), "{p}");
		let p = problem(&format!("{GOOD}replication = 2\n"));
		assert!(p.contains("policy = \"replicated(2)\""), "{p}");
	}

	#[test]
	fn spans_and_sizes_read_as_people_write_them() {
		assert_eq!(Span::parse("90s"), Ok(Span::Seconds(90)));
		assert_eq!(Span::parse("10m"), Ok(Span::Seconds(600)));
		assert_eq!(Span::parse("2h"), Ok(Span::Seconds(7200)));
		assert_eq!(Span::parse("200 blocks"), Ok(Span::Blocks(200)));
		assert_eq!(Span::parse("45"), Ok(Span::Seconds(45)));
		assert_eq!(Span::parse("1h 30m"), Ok(Span::Seconds(5400)));
		assert_eq!(Span::parse("1500ms"), Ok(Span::Seconds(2)));
		for bad in ["soon", "", "+5s", "-5s", "5 parsecs", "1.+5h", "+3 blocks", "1.5 blocks"] {
			assert!(Span::parse(bad).is_err(), "{bad:?}");
		}
		assert_eq!(Span::Seconds(10).blocks(3000), 4);
		assert_eq!(Size::parse("1 MiB"), Ok(Size(1 << 20)));
		assert_eq!(Size::parse("64KiB"), Ok(Size(64 << 10)));
		assert_eq!(Size::parse("512 B"), Ok(Size(512)));
		assert_eq!(Size::parse("1.5 GiB"), Ok(Size(3 << 29)));
		assert_eq!(Size::parse("4096"), Ok(Size(4096)));
		for bad in ["big", "", "+5 KiB", "-1 B", "1 XiB", "1.+5 MiB", "KiB"] {
			assert!(Size::parse(bad).is_err(), "{bad:?}");
		}
		assert_eq!(parse_compute_capability("8.6"), Some(86));
		assert_eq!(parse_compute_capability("9"), None);
	}

	#[test]
	fn missing_fields_and_unknown_keys_are_named() {
		let missing = GOOD.replace("max_units = 1_000_000\n", "");
		assert!(problem(&missing).contains("missing field `max_units`"), "{}", problem(&missing));
		let unknown = format!("{GOOD}max_unit = 5\n");
		assert!(problem(&unknown).contains("unknown field `max_unit`"), "{}", problem(&unknown));
		let unknown_req = format!("{GOOD}[requirements]\nmin_gpus = 1\n");
		assert!(problem(&unknown_req).contains("unknown field `min_gpus`"));
		let bad_input = GOOD.replace(r#"{ text = "hello" }"#, r#"{ path = "x" }"#);
		assert!(problem(&bad_input).contains("input must be one of"), "{}", problem(&bad_input));
	}

	#[test]
	fn bad_values_say_what_to_write() {
		let short = GOOD.replace(r#"deadline = "5m""#, r#"deadline = "30s""#);
		let p = problem(&short);
		assert!(p.contains("deadline is too short") && p.contains("129s"), "{p}");
		let far = GOOD.replace(r#"deadline = "5m""#, r#"deadline = "48h""#);
		assert!(problem(&far).contains("deadline is too far"));
		let big = GOOD
			.replace(r#"{ text = "hello" }"#, &format!("{{ text = \"{}\" }}", "x".repeat(1025)));
		let p = problem(&big);
		assert!(p.contains("input is too large") && p.contains("url ="), "{p}");
		let zero = GOOD.replace(r#""1000 planck""#, "0");
		assert!(problem(&zero).contains("max_price is 0"));
		let huge = format!("{GOOD}max_output = \"65 MiB\"\n");
		let p = problem(&huge);
		assert!(
			p.contains("max_output is too large") && p.contains("max_output = \"64 MiB\""),
			"{p}"
		);
		assert!(plan(&format!("{GOOD}max_output = \"64 MiB\"\n")).is_ok());
		let many = format!("{GOOD}policy = \"replicated(6)\"\n");
		assert!(problem(&many).contains("from 2 to 5"));
		let hash = GOOD.replace("0x1111", "0x11");
		assert!(problem(&hash).contains("neither a file nor a program hash"));
		let missing_file = GOOD.replace(
			"program = \"0x1111111111111111111111111111111111111111111111111111111111111111\"",
			"program = \"no-such.wasm\"",
		);
		assert!(problem(&missing_file).contains("cannot read /tmp/no-such.wasm"));
		let url = GOOD
			.replace(r#"{ text = "hello" }"#, r#"{ url = "ftp://x", hash = "0x00", size = 3 }"#);
		assert!(problem(&url).contains("http:// or https://"));
		let price = GOOD.replace(r#""1000 planck""#, r#""cheap""#);
		assert!(problem(&price).contains("is not an amount"));
	}

	#[test]
	fn program_files_are_checked_before_anything_is_sent() {
		let dir = tempfile::tempdir().unwrap();
		let good = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)
			.unwrap();
		let bad = wat::parse_str(
			r#"(module (import "env" "now" (func)) (memory (export "memory") 1) (func (export "run")))"#,
		)
		.unwrap();
		std::fs::write(dir.path().join("good.wasm"), &good).unwrap();
		std::fs::write(dir.path().join("bad.wasm"), &bad).unwrap();
		let manifest = |name: &str| {
			let text = GOOD.replace(
				"\"0x1111111111111111111111111111111111111111111111111111111111111111\"",
				&format!("{name:?}"),
			);
			Manifest::parse(&text, &dir.path().join("job.toml")).unwrap().plan(&LIMITS)
		};
		let plan = manifest("good.wasm").unwrap();
		assert_eq!(
			plan.program,
			ProgramRef::File {
				code: good.clone(),
				hash: crate::blake2_256(&good),
				kind: ProgramKind::Wasm
			}
		);
		let p = manifest("bad.wasm").unwrap_err().problem;
		assert!(p.contains("imports `env`.`now`"), "{p}");
	}
}

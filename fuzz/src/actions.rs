//! What a fuzz input decodes to: a sequence of [`Action`]s, each a signed call (or a block
//! boundary) chosen by the fuzzer's bytes through `arbitrary`.
//!
//! Most actions name their target indirectly (`pick`: an index, taken modulo the number of jobs,
//! replicas, offers, … that exist at that moment), so that most inputs reach deep states: a job
//! matched, committed, revealed, settled, slashed. `Raw` covers everything else: any call of any
//! pallet but sudo, with arguments decoded straight from the fuzzer's bytes.

use arbitrary::Arbitrary;

/// Who signs a call that acts on a replica or an offer.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum By {
	/// The provider's operator account.
	Provider,
	/// The provider's worker key.
	Worker,
	/// Some other account (its index among the harness's keys).
	Other(u8),
}

/// A verification policy, as a requester would pick it (out-of-range `Replicated` included).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Policy {
	Unverified,
	Replicated(u8),
	Adaptive,
}

/// A job's input.
#[derive(Arbitrary, Debug, Clone)]
pub enum Input {
	/// Inline bytes of this length (a length near the chain's limits included).
	Inline(u16),
	/// A URL the worker fetches, with its hash and size.
	Remote { url_len: u16, size: u64 },
}

/// What a provider's machine offers.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Profile {
	pub gpu: bool,
	pub region: u8,
	pub cpu_cores: u8,
	pub memory_gib: u8,
}

/// How a reveal departs from its commitment (or not).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Tamper {
	/// The digest, units and salt committed.
	None,
	/// Other units than committed (a provider inflating its bill).
	Units(u16),
	/// Another digest.
	Digest,
	/// Another salt.
	Salt,
}

/// How a worker key consents at `register` or `rotate_worker_key`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Proof {
	/// Its signature of the right payload.
	Valid,
	/// No proof.
	Missing,
	/// Another key's signature.
	WrongSigner,
	/// Its signature of another operator's payload.
	WrongPayload,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Action {
	/// End this block and start `1 + n % 4` more (hooks run in each).
	Blocks(u8),
	/// End this block and start one `1 + n % 4096` blocks later (deadlines pass; the hooks catch
	/// up on the blocks between).
	Jump(u16),

	// market
	RegisterProgram {
		who: u8,
		cuda: bool,
		len: u16,
	},
	RemoveProgram {
		who: u8,
		pick: u8,
	},
	PostOffer {
		who: u8,
		by_worker: bool,
		gpu: Option<u8>,
		price: u16,
		slots: u8,
		expires_in: u16,
	},
	UpdateOffer {
		pick: u8,
		by: By,
		price: u16,
		slots: u8,
		expires_in: u16,
	},
	CancelOffer {
		pick: u8,
		by: By,
	},
	ReapOffer {
		pick: u8,
		who: u8,
	},
	SubmitJob {
		who: u8,
		program: u8,
		input: Input,
		policy: Policy,
		max_price: u16,
		max_units: u16,
		commit_window: u8,
		deadline_in: u16,
		max_output_kib: u16,
		regions: u8,
		min_stake: u8,
		min_reputation: u8,
		min_cpu_cores: u8,
		gpu: bool,
	},
	CancelJob {
		pick: u8,
		who: Option<u8>,
	},
	Acknowledge {
		pick: u8,
		by: By,
	},
	Decline {
		pick: u8,
		by: By,
	},
	EndOverdue {
		pick: u8,
		who: u8,
	},
	ReapJob {
		pick: u8,
		who: u8,
	},

	// verification
	/// Commit result `result` (0–2: three outputs replicas may agree or differ on; 3: the
	/// timeout record, an abstention) with `units` used.
	Commit {
		pick: u8,
		by: By,
		result: u8,
		units: u16,
	},
	/// Commit another replica's commitment (the copied-commitment attack) or bytes of its own.
	CommitOther {
		pick: u8,
		by: By,
		copy_from: Option<u8>,
		bytes: [u8; 4],
	},
	Reveal {
		pick: u8,
		by: By,
		tamper: Tamper,
	},

	// provider staking
	Register {
		who: u8,
		worker: Option<u8>,
		proof: Proof,
		stake: u16,
		profile: Profile,
	},
	BondExtra {
		who: u8,
		amount: u16,
	},
	Unbond {
		who: u8,
		amount: u16,
	},
	WithdrawUnbonded {
		who: u8,
	},
	RotateWorkerKey {
		who: u8,
		worker: Option<u8>,
		proof: Proof,
	},
	UpdateProfile {
		who: u8,
		profile: Profile,
	},
	Deregister {
		who: u8,
	},

	// balances
	Transfer {
		from: u8,
		to: u8,
		amount: u64,
		keep_alive: bool,
	},
	TransferAll {
		from: u8,
		to: u8,
		keep_alive: bool,
	},
	Burn {
		who: u8,
		amount: u64,
		keep_alive: bool,
	},

	// slashing, by its origins (Root here, a governance track later) and by a signer (refused)
	CancelSlash {
		pick: u8,
		signed_by: Option<u8>,
	},
	SetSlashParams {
		fractions: [u8; 4],
		defer: u16,
		requester_share: u8,
		honest_share: u8,
		signed_by: Option<u8>,
	},

	/// The next honest step of a live replica, by its worker: acknowledge it, commit `result`
	/// and `units`, or reveal what it committed (the fuzzer would seldom line up the three
	/// separate actions on one replica by chance; this makes every stage of a job reachable).
	Work {
		pick: u8,
		result: u8,
		units: u16,
	},

	/// Any call but sudo's, decoded from the fuzzer's bytes, signed by `who`.
	Raw {
		who: u8,
		call: Vec<u8>,
	},
}

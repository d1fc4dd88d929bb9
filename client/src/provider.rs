//! A provider's registration, made in two places so that the operator's secret never touches the
//! worker host: `stratus-worker register` writes a [`Registration`] on the worker host (the
//! worker key signs its consent to act for the operator, and the host's profile is detected
//! there), and `stratus provider register <file>` checks it, signs it with the operator's account
//! and sends it from the operator's own machine. The file holds no secret.
//!
//! The same file carries the call's bytes for polkadot.js apps (Developer → Extrinsics → Decode),
//! for an operator whose key lives in a browser wallet or a hardware signer.

use codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use stratus_primitives::CapabilityProfile;

use crate::{amount::Amount, AccountId, Keypair};

/// What a registration file says it is, for whoever finds one.
pub const ABOUT: &str = "A Stratus provider registration, made by `stratus-worker register` on \
                         the worker host. It holds no secret. Sign and send it from the \
                         operator's machine: `stratus provider register <this file>`.";

/// Why a registration file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistrationError {
	#[error("the registration's {field} is not valid: {why}")]
	Field { field: &'static str, why: String },
	#[error(
		"the worker key's proof of consent does not verify for operator {operator}: the file was \
		 changed, or made for another operator or chain; run `stratus-worker register --operator \
		 {operator}` on the worker host again"
	)]
	BadProof { operator: String },
}

/// The worker key's consent to act for `operator` on the chain whose genesis is `genesis`: its
/// signature of `stratus_primitives::worker_key_payload`; none when the worker key is the operator.
pub fn consent(worker_key: &Keypair, operator: &AccountId, genesis: &[u8; 32]) -> Option<[u8; 64]> {
	(crate::account_of(worker_key) != *operator)
		.then(|| worker_key.sign(&stratus_primitives::worker_key_payload(operator, genesis)).0)
}

/// A registration request, as the file holds it (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
	/// [`ABOUT`].
	pub about: String,
	/// The chain it is for: its genesis hash (the proof is bound to it).
	pub genesis: String,
	/// The operator account that registers, stakes and is paid.
	pub operator: String,
	/// The worker key that signs the worker's transactions.
	pub worker: String,
	/// Stake to bond.
	pub stake: Amount,
	/// Moved from the operator to the worker key for its fees.
	pub fee_allowance: Amount,
	/// The capability profile, SCALE-encoded.
	pub profile: String,
	/// The worker key's sr25519 signature of `stratus_primitives::worker_key_payload(operator,
	/// genesis)`; none when the worker key is the operator itself.
	pub proof: Option<String>,
	/// The `providerStaking.register` call with these arguments, SCALE-encoded.
	pub call: String,
}

/// A registration whose fields decode and whose proof verifies.
#[derive(Clone, Debug)]
pub struct Checked {
	pub genesis: [u8; 32],
	pub operator: AccountId,
	pub worker: AccountId,
	pub stake: u128,
	pub fee_allowance: u128,
	pub profile: CapabilityProfile,
	pub proof: Option<[u8; 64]>,
}

fn hex_bytes(field: &'static str, text: &str) -> Result<Vec<u8>, RegistrationError> {
	let digits = text
		.strip_prefix("0x")
		.ok_or_else(|| RegistrationError::Field { field, why: "expected 0x and hex".into() })?;
	hex::decode(digits).map_err(|e| RegistrationError::Field { field, why: e.to_string() })
}

fn array<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], RegistrationError> {
	hex_bytes(field, text)?.try_into().map_err(|bytes: Vec<u8>| RegistrationError::Field {
		field,
		why: format!("{} bytes, expected {N}", bytes.len()),
	})
}

impl Registration {
	/// The request for `operator` to register `worker_key` with `profile`, bonding `stake`, on
	/// the chain whose genesis is `genesis`; `proof` is [`consent`]'s, `call` the encoded
	/// `register` call with these arguments.
	#[allow(clippy::too_many_arguments)]
	pub fn new(
		genesis: [u8; 32],
		operator: &AccountId,
		worker: &AccountId,
		proof: Option<[u8; 64]>,
		profile: &CapabilityProfile,
		stake: u128,
		fee_allowance: u128,
		call: &[u8],
	) -> Self {
		Self {
			about: ABOUT.into(),
			genesis: format!("0x{}", hex::encode(genesis)),
			operator: crate::ss58(operator),
			worker: crate::ss58(worker),
			stake: Amount(stake),
			fee_allowance: Amount(fee_allowance),
			profile: format!("0x{}", hex::encode(profile.encode())),
			proof: proof.map(|p| format!("0x{}", hex::encode(p))),
			call: format!("0x{}", hex::encode(call)),
		}
	}

	/// The proof of the worker key's consent, before it goes to the chain (which checks it
	/// again, refusing `BadWorkerProof`): cheap here, and it costs no fee.
	pub fn check(&self) -> Result<Checked, RegistrationError> {
		let account = |field, text: &str| {
			crate::parse_account(text)
				.map_err(|e| RegistrationError::Field { field, why: e.to_string() })
		};
		let genesis = array::<32>("genesis", &self.genesis)?;
		let operator = account("operator", &self.operator)?;
		let worker = account("worker", &self.worker)?;
		let profile_bytes = hex_bytes("profile", &self.profile)?;
		let profile = CapabilityProfile::decode(&mut profile_bytes.as_slice())
			.map_err(|e| RegistrationError::Field { field: "profile", why: e.to_string() })?;
		let proof = self.proof.as_deref().map(|p| array::<64>("proof", p)).transpose()?;
		let bad = || RegistrationError::BadProof { operator: self.operator.clone() };
		match proof {
			None if worker != operator => return Err(bad()),
			None => {},
			Some(signature) => {
				let payload = stratus_primitives::worker_key_payload(&operator, &genesis);
				let public = subxt_signer::sr25519::PublicKey(worker.0);
				let signature = subxt_signer::sr25519::Signature(signature);
				if !subxt_signer::sr25519::verify(&signature, payload, &public) {
					return Err(bad());
				}
			},
		}
		Ok(Checked {
			genesis,
			operator,
			worker,
			stake: self.stake.0,
			fee_allowance: self.fee_allowance.0,
			profile,
			proof,
		})
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used)]
	use super::*;

	fn profile() -> CapabilityProfile {
		use stratus_primitives::JobKind;
		CapabilityProfile {
			kinds: vec![JobKind::Wasm].try_into().unwrap(),
			cpu_cores: 8,
			memory_mib: 16_384,
			gpus: Default::default(),
			region: 276,
			endpoint: Some(b"https://worker.example".to_vec().try_into().unwrap()),
		}
	}

	#[test]
	fn a_registration_checks_only_as_made_for_its_operator_and_chain() {
		let operator = crate::account_of(&crate::keypair("//Eve").unwrap());
		let worker = crate::keypair("//EveWorker").unwrap();
		let genesis = [7u8; 32];
		let proof = consent(&worker, &operator, &genesis);
		let worker_id = crate::account_of(&worker);
		let made =
			Registration::new(genesis, &operator, &worker_id, proof, &profile(), 5, 6, &[1, 2]);
		let text = serde_json::to_string(&made).unwrap();
		let read: Registration = serde_json::from_str(&text).unwrap();
		let checked = read.check().unwrap();
		assert_eq!(checked.operator, operator);
		assert_eq!(checked.worker, crate::account_of(&worker));
		assert_eq!(checked.profile, profile());
		assert_eq!((checked.stake, checked.fee_allowance), (5, 6));

		// Another operator, another chain, or no proof: refused before any fee is paid.
		let mallory = crate::ss58(&crate::account_of(&crate::keypair("//Mallory").unwrap()));
		let stolen = Registration { operator: mallory.clone(), ..made.clone() };
		assert_eq!(stolen.check().unwrap_err(), RegistrationError::BadProof { operator: mallory });
		let elsewhere = Registration { genesis: format!("0x{}", "08".repeat(32)), ..made.clone() };
		assert!(matches!(elsewhere.check(), Err(RegistrationError::BadProof { .. })));
		let unproven = Registration { proof: None, ..made.clone() };
		assert!(matches!(unproven.check(), Err(RegistrationError::BadProof { .. })));
		let junk = Registration { profile: "0x00ff".into(), ..made.clone() };
		assert!(matches!(junk.check(), Err(RegistrationError::Field { field: "profile", .. })));
		let short = Registration { proof: Some("0x1234".into()), ..made };
		assert!(matches!(short.check(), Err(RegistrationError::Field { field: "proof", .. })));

		// The operator as its own worker key needs no proof.
		let own = crate::keypair("//Eve").unwrap();
		let proof = consent(&own, &operator, &genesis);
		let made = Registration::new(genesis, &operator, &operator, proof, &profile(), 5, 6, &[]);
		assert_eq!(made.proof, None);
		made.check().unwrap();
	}
}

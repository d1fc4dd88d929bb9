//! Key files encrypted at rest, in the polkadot-js JSON keystore format, so keys move to and from
//! polkadot.js wallets ("Restore JSON" reads what this writes; an account exported from
//! polkadot.js is read back here).
//!
//! The format (polkadot-js `@polkadot/keyring`, encoding version 3):
//!
//! ```text
//! { "encoded": base64(salt(32) ‖ N ‖ p ‖ r (u32 LE each) ‖ nonce(24) ‖ secretbox),
//!   "encoding": { "content": ["pkcs8", "sr25519"], "type": ["scrypt", "xsalsa20-poly1305"],
//!                 "version": "3" },
//!   "address": "<SS58>", "meta": { "name": …, "whenCreated": … } }
//! ```
//!
//! where the secretbox's key is the first 32 bytes of scrypt(passphrase, salt, N = 2^15, r = 8,
//! p = 1) and its plaintext the PKCS#8-framed key pair (16-byte header ‖ 64-byte secret key in
//! the ed25519-expanded form ‖ 5-byte divider ‖ 32-byte public key).
//!
//! The cryptography is the libraries': `scrypt` and `crypto_secretbox` (RustCrypto) for writing,
//! and subxt-signer's `polkadot_js_compat::decrypt_json` (Parity's, which also refuses scrypt
//! parameters chosen to burn CPU) for reading; this module only frames the bytes. A file is
//! checked by reading it back before it is written.
//!
//! Passphrases come from an environment variable or a prompt on the terminal, never from the
//! command line (where every user of the machine could read them).

use base64::Engine;
use crypto_secretbox::{
	aead::{Aead, KeyInit},
	XSalsa20Poly1305,
};
use serde::{Deserialize, Serialize};
use sp_core::Pair;
use zeroize::Zeroizing;

/// The PKCS#8 header polkadot-js puts before an sr25519 secret key.
const PKCS8_HEADER: [u8; 16] = [48, 83, 2, 1, 1, 48, 5, 6, 3, 43, 101, 112, 4, 34, 4, 32];
/// The PKCS#8 divider between the secret and the public key.
const PKCS8_DIVIDER: [u8; 5] = [161, 35, 3, 33, 0];
/// polkadot-js's default scrypt parameters: N = 2^15, p = 1, r = 8.
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_P: u32 = 1;
const SCRYPT_R: u32 = 8;

/// Why a key file cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
	#[error("not a polkadot-js key file (JSON with `encoded`, `encoding` and `address`): {0}")]
	Format(String),
	#[error(
		"the passphrase does not open this key file (or the file is damaged); try again, or set \
		 {0} to the right one"
	)]
	WrongPassphrase(&'static str),
	#[error("cannot read the key file: {0}")]
	Decrypt(String),
	#[error(
		"no passphrase: set {0} in the environment, or run this in a terminal to be asked for it \
		 (never pass it on the command line)"
	)]
	NoPassphrase(&'static str),
	#[error("the passphrases differ; nothing was written")]
	Mismatch,
	#[error("an empty passphrase would leave the key readable by anyone who copies the file")]
	Empty,
	#[error(transparent)]
	Key(#[from] crate::ClientError),
}

#[derive(Serialize, Deserialize)]
struct Encoding {
	content: Vec<String>,
	#[serde(rename = "type")]
	kind: Vec<String>,
	version: String,
}

/// A key file's public part, readable without the passphrase.
#[derive(Serialize, Deserialize)]
struct Json {
	encoded: String,
	encoding: Encoding,
	address: String,
	#[serde(default)]
	meta: serde_json::Value,
}

/// The address a key file declares (not yet proven: only decryption proves it), and its name.
pub fn public_part(json: &str) -> Result<(crate::AccountId, Option<String>), KeyFileError> {
	let file: Json = serde_json::from_str(json).map_err(|e| KeyFileError::Format(e.to_string()))?;
	let account = crate::parse_account(&file.address)
		.map_err(|e| KeyFileError::Format(format!("its address: {e}")))?;
	let name = file.meta.get("name").and_then(|n| n.as_str()).map(str::to_owned);
	Ok((account, name))
}

/// The key pair in a key file, with `passphrase`; `env` names the variable a user could set.
pub fn decrypt(
	json: &str,
	passphrase: &str,
	env: &'static str,
) -> Result<crate::Keypair, KeyFileError> {
	use subxt_signer::polkadot_js_compat::{decrypt_json, Error};
	decrypt_json(json, passphrase).map_err(|e| match e {
		Error::Secretbox(_) => KeyFileError::WrongPassphrase(env),
		Error::Json(e) => KeyFileError::Format(e.to_string()),
		other => KeyFileError::Decrypt(other.to_string()),
	})
}

/// A key file holding the key of the secret URI `suri`, encrypted with `passphrase`, named `name`
/// in its metadata (polkadot.js shows it).
pub fn encrypt(suri: &str, passphrase: &str, name: &str) -> Result<String, KeyFileError> {
	let pair = sp_core::sr25519::Pair::from_string(suri, None)
		.map_err(|e| crate::ClientError::BadSecret(format!("{e:?}")))?;
	let raw = Zeroizing::new(pair.to_raw_vec());
	let secret = schnorrkel::SecretKey::from_bytes(&raw)
		.map_err(|e| crate::ClientError::BadSecret(e.to_string()))?;
	let expanded = Zeroizing::new(secret.to_ed25519_bytes());
	let public = pair.public().0;

	let mut plain = Zeroizing::new(Vec::with_capacity(117));
	plain.extend_from_slice(&PKCS8_HEADER);
	plain.extend_from_slice(expanded.as_slice());
	plain.extend_from_slice(&PKCS8_DIVIDER);
	plain.extend_from_slice(&public);

	let salt: [u8; 32] = rand::random();
	let params = scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, 32)
		.map_err(|e| KeyFileError::Decrypt(e.to_string()))?;
	let mut key = Zeroizing::new([0u8; 32]);
	scrypt::scrypt(passphrase.as_bytes(), &salt, &params, key.as_mut_slice())
		.map_err(|e| KeyFileError::Decrypt(e.to_string()))?;
	let nonce: [u8; 24] = rand::random();
	let sealed = XSalsa20Poly1305::new(&(*key).into())
		.encrypt(&nonce.into(), plain.as_slice())
		.map_err(|e| KeyFileError::Decrypt(e.to_string()))?;

	let mut encoded = Vec::with_capacity(68usize.saturating_add(sealed.len()));
	encoded.extend_from_slice(&salt);
	encoded.extend_from_slice(&(1u32 << SCRYPT_LOG_N).to_le_bytes());
	encoded.extend_from_slice(&SCRYPT_P.to_le_bytes());
	encoded.extend_from_slice(&SCRYPT_R.to_le_bytes());
	encoded.extend_from_slice(&nonce);
	encoded.extend_from_slice(&sealed);
	let when = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
	let account = crate::AccountId::from(public);
	let json = Json {
		encoded: base64::engine::general_purpose::STANDARD.encode(encoded),
		encoding: Encoding {
			content: vec!["pkcs8".into(), "sr25519".into()],
			kind: vec!["scrypt".into(), "xsalsa20-poly1305".into()],
			version: "3".into(),
		},
		address: crate::ss58(&account),
		meta: serde_json::json!({ "name": name, "whenCreated": when }),
	};
	let text =
		serde_json::to_string_pretty(&json).map_err(|e| KeyFileError::Format(e.to_string()))?;
	// What was written must read back as the same key.
	let back = decrypt(&text, passphrase, "")?;
	if crate::account_of(&back) != account {
		return Err(KeyFileError::Decrypt("the written key file does not read back".into()));
	}
	Ok(text + "\n")
}

/// A passphrase: from the environment variable `env` when it is set, else asked on the terminal
/// (twice when `confirm`, for a new key file). `what` says what it unlocks.
pub fn passphrase(
	env: &'static str,
	what: &str,
	confirm: bool,
) -> Result<Zeroizing<String>, KeyFileError> {
	if let Some(value) = std::env::var(env).ok().filter(|v| !v.is_empty()) {
		return Ok(Zeroizing::new(value));
	}
	let ask = |prompt: String| {
		rpassword::prompt_password(prompt)
			.map(Zeroizing::new)
			.map_err(|_| KeyFileError::NoPassphrase(env))
	};
	let first = ask(format!("passphrase for {what}: "))?;
	if first.is_empty() {
		return Err(KeyFileError::Empty);
	}
	if confirm && *ask("the same passphrase again: ".to_string())? != *first {
		return Err(KeyFileError::Mismatch);
	}
	Ok(first)
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
	use super::*;

	#[test]
	fn a_key_file_reads_back_only_with_its_passphrase() {
		let suri = "//Alice//worker";
		let text = encrypt(suri, "correct horse", "worker").unwrap();
		let key = decrypt(&text, "correct horse", "X").unwrap();
		let expected = crate::account_of(&crate::keypair(suri).unwrap());
		assert_eq!(crate::account_of(&key), expected);
		// The same key signs the same way (sr25519 signatures are randomised: verify instead).
		let signature = key.sign(b"payload");
		assert!(subxt_signer::sr25519::verify(
			&signature,
			b"payload",
			&crate::keypair(suri).unwrap().public_key()
		));
		assert!(matches!(
			decrypt(&text, "wrong horse", "X"),
			Err(KeyFileError::WrongPassphrase("X"))
		));
		let (account, name) = public_part(&text).unwrap();
		assert_eq!(account, expected);
		assert_eq!(name.as_deref(), Some("worker"));

		// The polkadot-js layout: the parameters it writes, and no secret in the clear.
		let json: serde_json::Value = serde_json::from_str(&text).unwrap();
		assert_eq!(json["encoding"]["type"], serde_json::json!(["scrypt", "xsalsa20-poly1305"]));
		assert_eq!(json["encoding"]["content"], serde_json::json!(["pkcs8", "sr25519"]));
		let encoded = base64::engine::general_purpose::STANDARD
			.decode(json["encoded"].as_str().unwrap())
			.unwrap();
		assert_eq!(encoded.len(), 68 + 16 + 117);
		assert_eq!(&encoded[32..44], &[0, 128, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0]);
		let pair = sp_core::sr25519::Pair::from_string(suri, None).unwrap();
		let secret = schnorrkel::SecretKey::from_bytes(&pair.to_raw_vec()).unwrap();
		let expanded = secret.to_ed25519_bytes();
		assert!(!encoded.windows(32).any(|w| w == &expanded[..32]));

		// A damaged file is refused, not misread.
		let mut damaged = json.clone();
		let mut bytes = encoded.clone();
		bytes[100] ^= 1;
		damaged["encoded"] = base64::engine::general_purpose::STANDARD.encode(bytes).into();
		assert!(decrypt(&damaged.to_string(), "correct horse", "X").is_err());
		// A file whose address is not its key's is refused.
		let mut lying = json;
		lying["address"] =
			crate::ss58(&crate::account_of(&crate::keypair("//Bob").unwrap())).into();
		assert!(decrypt(&lying.to_string(), "correct horse", "X").is_err());
		assert!(matches!(public_part("{}"), Err(KeyFileError::Format(_))));
	}

	#[test]
	fn a_passphrase_comes_from_the_environment_when_set() {
		std::env::set_var("STRATUS_TEST_KEYFILE_PASSPHRASE", "from the environment");
		let got = passphrase("STRATUS_TEST_KEYFILE_PASSPHRASE", "a test", true).unwrap();
		assert_eq!(got.as_str(), "from the environment");
	}
}

//! Outputs encrypted to the requester, when a download asks for it.
//!
//! A download request may carry `x-stratus-box-key: 0x<32 bytes>`, an X25519 public key of the
//! requester's (a fresh one per download is fine), covered by the request's signature
//! ([`crate::auth`]). The worker then answers with
//!
//! ```text
//! ephemeral public key (32) ‖ nonce (24) ‖ XSalsa20-Poly1305 secretbox (16-byte tag ‖ ciphertext)
//! ```
//!
//! and `x-stratus-encryption: x25519-blake2-xsalsa20poly1305`, where the secretbox key is
//! `blake2_256("stratus-output-key" ‖ X25519(ephemeral, requester) ‖ ephemeral public ‖ requester
//! public)`. Only the holder of the X25519 secret key can read the output; the digest header still
//! names the plaintext, so the requester checks it after decrypting.

use crypto_secretbox::{
	aead::{Aead, KeyInit},
	XSalsa20Poly1305,
};
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};

/// The request header carrying the requester's X25519 public key.
pub const BOX_KEY_HEADER: &str = "x-stratus-box-key";
/// The response header naming the scheme.
pub const ENCRYPTION_HEADER: &str = "x-stratus-encryption";
/// The scheme's name.
pub const SCHEME: &str = "x25519-blake2-xsalsa20poly1305";

fn key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32]) -> [u8; 32] {
	let mut material = Vec::with_capacity(18 + 96);
	material.extend_from_slice(b"stratus-output-key");
	material.extend_from_slice(shared);
	material.extend_from_slice(ephemeral);
	material.extend_from_slice(recipient);
	crate::blake2_256(&material)
}

/// Encrypts `output` to the X25519 public key `recipient`.
pub fn seal(output: &[u8], recipient: [u8; 32]) -> Option<Vec<u8>> {
	let ephemeral = EphemeralSecret::random_from_rng(rand::rngs::OsRng);
	let ephemeral_public = PublicKey::from(&ephemeral);
	let shared = ephemeral.diffie_hellman(&PublicKey::from(recipient));
	let key = key(shared.as_bytes(), ephemeral_public.as_bytes(), &recipient);
	let nonce: [u8; 24] = rand::random();
	let sealed = XSalsa20Poly1305::new(&key.into()).encrypt(&nonce.into(), output).ok()?;
	let mut out = Vec::with_capacity(56usize.saturating_add(sealed.len()));
	out.extend_from_slice(ephemeral_public.as_bytes());
	out.extend_from_slice(&nonce);
	out.extend_from_slice(&sealed);
	Some(out)
}

/// Decrypts what [`seal`] produced, with the recipient's X25519 secret key.
pub fn open(sealed: &[u8], secret: [u8; 32]) -> Option<Vec<u8>> {
	let ephemeral: [u8; 32] = sealed.get(..32)?.try_into().ok()?;
	let nonce: [u8; 24] = sealed.get(32..56)?.try_into().ok()?;
	let secret = StaticSecret::from(secret);
	let recipient = PublicKey::from(&secret);
	let shared = secret.diffie_hellman(&PublicKey::from(ephemeral));
	let key = key(shared.as_bytes(), &ephemeral, recipient.as_bytes());
	XSalsa20Poly1305::new(&key.into()).decrypt(&nonce.into(), sealed.get(56..)?).ok()
}

/// The X25519 public key of a secret key.
pub fn public_key(secret: [u8; 32]) -> [u8; 32] {
	PublicKey::from(&StaticSecret::from(secret)).to_bytes()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_the_recipient_opens_a_sealed_output() {
		let secret: [u8; 32] = rand::random();
		let sealed = seal(b"the output", public_key(secret)).unwrap();
		assert_eq!(sealed.len(), 32 + 24 + 16 + 10);
		assert_eq!(open(&sealed, secret).unwrap(), b"the output");
		assert_eq!(open(&sealed, rand::random()), None);
		let mut tampered = sealed.clone();
		*tampered.last_mut().unwrap() ^= 1;
		assert_eq!(open(&tampered, secret), None);
	}
}

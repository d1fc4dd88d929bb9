//! Outputs encrypted to the requester, when a download asks for it.
//!
//! A download request may carry `x-stratus-box-key: 0x<32 bytes>`, an X25519 public key of the
//! requester's (a fresh one per download is fine), covered by the request's signature
//! ([`crate::auth`]). The worker then answers with a libsodium sealed box of the output
//! (`crypto_box_seal`: an ephemeral X25519 key, XSalsa20-Poly1305, the nonce derived with
//! BLAKE2b from both public keys),
//!
//! ```text
//! ephemeral public key (32) ‖ crypto_box (16-byte tag ‖ ciphertext)
//! ```
//!
//! and `x-stratus-encryption: libsodium-sealedbox`. Only the holder of the X25519 secret key can
//! read the output; the digest header still names the plaintext, so the requester checks it
//! after opening. The scheme is the `crypto_box` crate's (RustCrypto), byte for byte what
//! libsodium's `crypto_box_seal_open` opens, so a requester can use any libsodium binding.

use crypto_box::{PublicKey, SecretKey};

/// The request header carrying the requester's X25519 public key.
pub const BOX_KEY_HEADER: &str = "x-stratus-box-key";
/// The response header naming the scheme.
pub const ENCRYPTION_HEADER: &str = "x-stratus-encryption";
/// The scheme's name.
pub const SCHEME: &str = "libsodium-sealedbox";
/// How many bytes sealing adds to the output: the ephemeral key and the tag.
pub const OVERHEAD: usize = 32 + 16;

/// Encrypts `output` to the X25519 public key `recipient` (a sealed box).
pub fn seal(output: &[u8], recipient: [u8; 32]) -> Option<Vec<u8>> {
	PublicKey::from(recipient).seal(&mut rand::rngs::OsRng, output).ok()
}

/// Opens what [`seal`] (or libsodium's `crypto_box_seal`) produced, with the recipient's X25519
/// secret key.
pub fn open(sealed: &[u8], secret: [u8; 32]) -> Option<Vec<u8>> {
	SecretKey::from(secret).unseal(sealed).ok()
}

/// The X25519 public key of a secret key.
pub fn public_key(secret: [u8; 32]) -> [u8; 32] {
	SecretKey::from(secret).public_key().to_bytes()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_the_recipient_opens_a_sealed_output() {
		let secret: [u8; 32] = rand::random();
		let sealed = seal(b"the output", public_key(secret)).unwrap();
		assert_eq!(sealed.len(), OVERHEAD + 10);
		assert_eq!(open(&sealed, secret).unwrap(), b"the output");
		assert_eq!(open(&sealed, rand::random()), None);
		// Every byte is covered: the ephemeral key (it derives the nonce and the key), the tag
		// and the ciphertext.
		for at in [0, 31, 32, 47, 48, sealed.len() - 1] {
			let mut tampered = sealed.clone();
			tampered[at] ^= 1;
			assert_eq!(open(&tampered, secret), None, "byte {at}");
		}
		assert_eq!(open(&sealed[..OVERHEAD - 1], secret), None);
		// Two seals of one output differ (a fresh ephemeral key each time).
		assert_ne!(seal(b"the output", public_key(secret)).unwrap(), sealed);
	}

	/// The well-known X25519 test vector (RFC 7748, section 6.1): the public key is the standard
	/// one, so a requester's libsodium derives the same.
	#[test]
	fn public_keys_are_standard_x25519() {
		let alice: [u8; 32] =
			hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
				.unwrap()
				.try_into()
				.unwrap();
		assert_eq!(
			hex::encode(public_key(alice)),
			"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
		);
	}
}

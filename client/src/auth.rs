//! Requests for a job's output, signed by the job's requester.
//!
//! `GET /jobs/<job>/output` carries three headers:
//!
//! - `x-stratus-account`: the requester's account (SS58, any prefix, or `0x` + 64 hex digits);
//! - `x-stratus-timestamp`: milliseconds since the Unix epoch when the request was signed;
//! - `x-stratus-signature`: `0x` + the sr25519 signature (64 bytes, hex) of the message
//!   `stratus-output:<job>:<timestamp>` (ASCII) by that account's key — or, when the request asks
//!   for the output encrypted to an X25519 key (`x-stratus-box-key: 0x…`, [`crate::seal`]),
//!   `stratus-output:<job>:<timestamp>:0x<that key, lowercase hex>`, so nobody can swap the key. A signature over the same
//!   message wrapped as `<Bytes>…</Bytes>` (what browser wallets' `signRaw` produce) is accepted
//!   too.
//!
//! The worker serves the output only when the account is the job's requester, the signature is
//! valid and the timestamp is within [`MAX_SKEW_MS`] of the worker's clock.

use sp_core::sr25519::{Public, Signature};

/// How far a request's timestamp may be from the worker's clock.
pub const MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// The header names.
pub const ACCOUNT_HEADER: &str = "x-stratus-account";
pub const TIMESTAMP_HEADER: &str = "x-stratus-timestamp";
pub const SIGNATURE_HEADER: &str = "x-stratus-signature";

/// Why a request is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
	#[error("missing header {0}")]
	Missing(&'static str),
	#[error("header {0} is malformed: {1}")]
	Malformed(&'static str, String),
	#[error(
		"the request was signed at {at} ms, more than 5 minutes from the worker's clock ({now} ms)"
	)]
	Stale { at: u64, now: u64 },
	#[error("the signature does not verify for that account")]
	BadSignature,
	#[error("only the job's requester may download its output")]
	NotRequester,
}

/// The message a requester signs to download `job`'s output (encrypted to `box_key`, if given).
pub fn message(job: u64, timestamp_ms: u64, box_key: Option<&[u8; 32]>) -> String {
	match box_key {
		Some(key) => format!("stratus-output:{job}:{timestamp_ms}:0x{}", hex::encode(key)),
		None => format!("stratus-output:{job}:{timestamp_ms}"),
	}
}

/// A parsed, signature-checked request: who signed it, and the X25519 key to encrypt to.
#[derive(Debug, PartialEq, Eq)]
pub struct Signed {
	pub account: [u8; 32],
	pub box_key: Option<[u8; 32]>,
}

/// Checks a request's headers (`get` returns a header's value) for `job` at `now_ms`.
pub fn verify<'a>(
	job: u64,
	now_ms: u64,
	get: impl Fn(&'static str) -> Option<&'a str>,
) -> Result<Signed, AuthError> {
	let field = |name| get(name).ok_or(AuthError::Missing(name));
	let account =
		crate::parse_account(field(ACCOUNT_HEADER)?.trim()).map(|a| a.0).map_err(|_| {
			AuthError::Malformed(ACCOUNT_HEADER, "not an SS58 address or 0x + 64 hex digits".into())
		})?;
	let at: u64 = field(TIMESTAMP_HEADER)?
		.trim()
		.parse()
		.map_err(|_| AuthError::Malformed(TIMESTAMP_HEADER, "not milliseconds".into()))?;
	if at.abs_diff(now_ms) > MAX_SKEW_MS {
		return Err(AuthError::Stale { at, now: now_ms });
	}
	let signature: [u8; 64] = field(SIGNATURE_HEADER)?
		.trim()
		.strip_prefix("0x")
		.and_then(|h| hex::decode(h).ok())
		.and_then(|b| b.try_into().ok())
		.ok_or_else(|| AuthError::Malformed(SIGNATURE_HEADER, "not 0x + 128 hex digits".into()))?;
	let box_key = match get(crate::seal::BOX_KEY_HEADER) {
		None => None,
		Some(text) => Some(
			text.trim()
				.strip_prefix("0x")
				.and_then(|h| hex::decode(h).ok())
				.and_then(|b| <[u8; 32]>::try_from(b).ok())
				.ok_or_else(|| {
					AuthError::Malformed(
						crate::seal::BOX_KEY_HEADER,
						"not 0x + 64 hex digits".into(),
					)
				})?,
		),
	};
	let signature = Signature::from_raw(signature);
	let public = Public::from_raw(account);
	let plain = message(job, at, box_key.as_ref());
	let wrapped = format!("<Bytes>{plain}</Bytes>");
	let ok = [plain.as_bytes(), wrapped.as_bytes()]
		.iter()
		.any(|m| <sp_core::sr25519::Pair as sp_core::Pair>::verify(&signature, m, &public));
	if !ok {
		return Err(AuthError::BadSignature);
	}
	Ok(Signed { account, box_key })
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::{crypto::Ss58Codec, Pair};

	fn headers(
		pair: &sp_core::sr25519::Pair,
		job: u64,
		at: u64,
		wrap: bool,
	) -> Vec<(&'static str, String)> {
		let text = message(job, at, None);
		let signed = if wrap { format!("<Bytes>{text}</Bytes>") } else { text };
		vec![
			(ACCOUNT_HEADER, pair.public().to_ss58check()),
			(TIMESTAMP_HEADER, at.to_string()),
			(SIGNATURE_HEADER, format!("0x{}", hex::encode(pair.sign(signed.as_bytes()).0))),
		]
	}

	fn check(h: &[(&'static str, String)], job: u64, now: u64) -> Result<Signed, AuthError> {
		verify(job, now, |name| h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()))
	}

	#[test]
	fn a_signed_request_verifies_raw_or_wrapped() {
		let pair = sp_core::sr25519::Pair::from_string("//Alice", None).unwrap();
		for wrap in [false, true] {
			let h = headers(&pair, 7, 1_000_000, wrap);
			assert_eq!(check(&h, 7, 1_000_500).unwrap().account, pair.public().0);
		}
	}

	#[test]
	fn other_jobs_stale_times_bad_signatures_and_missing_headers_are_refused() {
		let pair = sp_core::sr25519::Pair::from_string("//Alice", None).unwrap();
		let h = headers(&pair, 7, 1_000_000, false);
		assert_eq!(check(&h, 8, 1_000_000), Err(AuthError::BadSignature));
		assert!(matches!(check(&h, 7, 1_000_000 + MAX_SKEW_MS + 1), Err(AuthError::Stale { .. })));
		let mut forged = h.clone();
		forged[0].1 =
			sp_core::sr25519::Pair::from_string("//Bob", None).unwrap().public().to_ss58check();
		assert_eq!(check(&forged, 7, 1_000_000), Err(AuthError::BadSignature));
		assert_eq!(check(&h[..2], 7, 1_000_000), Err(AuthError::Missing(SIGNATURE_HEADER)));
		let mut junk = h.clone();
		junk[2].1 = "0x1234".into();
		assert!(matches!(check(&junk, 7, 1_000_000), Err(AuthError::Malformed(..))));
	}
}

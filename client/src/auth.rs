//! Requests for a job's output, signed by the job's requester, bound to one chain, one worker and
//! one moment, and good once.
//!
//! `GET /jobs/<job>/output` carries four headers:
//!
//! - `x-stratus-account`: the requester's account (SS58, any prefix, or `0x` + 64 hex digits);
//! - `x-stratus-timestamp`: milliseconds since the Unix epoch when the request was signed;
//! - `x-stratus-nonce`: `0x` + 16 random bytes (32 hex digits), fresh for every request;
//! - `x-stratus-signature`: `0x` + the sr25519 signature (64 bytes, hex) of the message
//!   `stratus-output/2:<genesis>:<endpoint>:<job>:<timestamp>:<nonce>` (ASCII; `<genesis>` the
//!   chain's genesis hash as `0x` + 64 lowercase hex digits, `<endpoint>` the worker's result
//!   endpoint as registered on chain, without a trailing `/`, `<nonce>` as in its header) by that
//!   account's key — or, when the request asks for the output encrypted to an X25519 key
//!   (`x-stratus-box-key: 0x…`, [`crate::seal`]), that message followed by `:0x<that key,
//!   lowercase hex>`, so nobody can swap the key. A signature over the same message wrapped as
//!   `<Bytes>…</Bytes>` (what browser wallets' `signRaw` produce) is accepted too.
//!
//! The worker serves the output only when the account is the job's requester, the timestamp is
//! within [`MAX_SKEW_MS`] of the worker's clock, the nonce was not used before by that account
//! within that window, and the signature is valid for its chain and its endpoint: a request
//! captured on the way (or sent to another worker, or on a test network) cannot be played again.
//! The checks that cost nothing run first ([`parse`]), the signature last ([`Request::verify`]).

use sp_core::sr25519::{Public, Signature};

/// How far a request's timestamp may be from the worker's clock.
pub const MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// The header names.
pub const ACCOUNT_HEADER: &str = "x-stratus-account";
pub const TIMESTAMP_HEADER: &str = "x-stratus-timestamp";
pub const NONCE_HEADER: &str = "x-stratus-nonce";
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
	#[error(
		"the signature does not verify for that account, this chain and this worker's endpoint"
	)]
	BadSignature,
	#[error("only the job's requester may download its output")]
	NotRequester,
	#[error("this request was already used: sign every request with a fresh nonce")]
	Replayed,
}

/// The message a requester signs to download `job`'s output from the worker at `endpoint` on
/// the chain with `genesis` hash (encrypted to `box_key`, if given).
pub fn message(
	genesis: &[u8; 32],
	endpoint: &str,
	job: u64,
	timestamp_ms: u64,
	nonce: &[u8; 16],
	box_key: Option<&[u8; 32]>,
) -> String {
	let base = format!(
		"stratus-output/2:0x{}:{}:{job}:{timestamp_ms}:0x{}",
		hex::encode(genesis),
		endpoint.trim_end_matches('/'),
		hex::encode(nonce)
	);
	match box_key {
		Some(key) => format!("{base}:0x{}", hex::encode(key)),
		None => base,
	}
}

/// The headers of a download request signed by `sign` (the requester's key), with a fresh
/// nonce: what the CLI and tests send.
pub fn signed_headers(
	genesis: &[u8; 32],
	endpoint: &str,
	job: u64,
	timestamp_ms: u64,
	box_key: Option<&[u8; 32]>,
	account: &[u8; 32],
	sign: impl FnOnce(&[u8]) -> [u8; 64],
) -> Vec<(&'static str, String)> {
	let nonce: [u8; 16] = rand::random();
	let text = message(genesis, endpoint, job, timestamp_ms, &nonce, box_key);
	let mut headers = vec![
		(ACCOUNT_HEADER, format!("0x{}", hex::encode(account))),
		(TIMESTAMP_HEADER, timestamp_ms.to_string()),
		(NONCE_HEADER, format!("0x{}", hex::encode(nonce))),
		(SIGNATURE_HEADER, format!("0x{}", hex::encode(sign(text.as_bytes())))),
	];
	if let Some(key) = box_key {
		headers.push((crate::seal::BOX_KEY_HEADER, format!("0x{}", hex::encode(key))));
	}
	headers
}

/// A request's headers, parsed and within the clock's skew; its signature not checked yet.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
	pub account: [u8; 32],
	pub timestamp_ms: u64,
	pub nonce: [u8; 16],
	pub box_key: Option<[u8; 32]>,
	signature: [u8; 64],
}

/// `0x` + `N` bytes of hex.
fn hex_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
	let bytes = hex::decode(text.trim().strip_prefix("0x")?).ok()?;
	bytes.try_into().ok()
}

/// Reads a request's headers (`get` returns a header's value) and checks its timestamp against
/// `now_ms`: everything that costs nothing, before any signature is checked.
pub fn parse<'a>(
	now_ms: u64,
	get: impl Fn(&'static str) -> Option<&'a str>,
) -> Result<Request, AuthError> {
	let field = |name| get(name).ok_or(AuthError::Missing(name));
	let account =
		crate::parse_account(field(ACCOUNT_HEADER)?.trim()).map(|a| a.0).map_err(|_| {
			AuthError::Malformed(ACCOUNT_HEADER, "not an SS58 address or 0x + 64 hex digits".into())
		})?;
	let timestamp_ms: u64 = field(TIMESTAMP_HEADER)?
		.trim()
		.parse()
		.map_err(|_| AuthError::Malformed(TIMESTAMP_HEADER, "not milliseconds".into()))?;
	if timestamp_ms.abs_diff(now_ms) > MAX_SKEW_MS {
		return Err(AuthError::Stale { at: timestamp_ms, now: now_ms });
	}
	let nonce = hex_bytes::<16>(field(NONCE_HEADER)?)
		.ok_or_else(|| AuthError::Malformed(NONCE_HEADER, "not 0x + 32 hex digits".into()))?;
	let signature = hex_bytes::<64>(field(SIGNATURE_HEADER)?)
		.ok_or_else(|| AuthError::Malformed(SIGNATURE_HEADER, "not 0x + 128 hex digits".into()))?;
	let box_key = match get(crate::seal::BOX_KEY_HEADER) {
		None => None,
		Some(text) => Some(hex_bytes::<32>(text).ok_or_else(|| {
			AuthError::Malformed(crate::seal::BOX_KEY_HEADER, "not 0x + 64 hex digits".into())
		})?),
	};
	Ok(Request { account, timestamp_ms, nonce, box_key, signature })
}

impl Request {
	/// Checks the signature for `job` at the worker reached at `endpoint` on the chain with
	/// `genesis` hash.
	pub fn verify(&self, genesis: &[u8; 32], endpoint: &str, job: u64) -> Result<(), AuthError> {
		let signature = Signature::from_raw(self.signature);
		let public = Public::from_raw(self.account);
		let plain =
			message(genesis, endpoint, job, self.timestamp_ms, &self.nonce, self.box_key.as_ref());
		let wrapped = format!("<Bytes>{plain}</Bytes>");
		let ok = [plain.as_bytes(), wrapped.as_bytes()]
			.iter()
			.any(|m| <sp_core::sr25519::Pair as sp_core::Pair>::verify(&signature, m, &public));
		if ok {
			Ok(())
		} else {
			Err(AuthError::BadSignature)
		}
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
	use super::*;
	use sp_core::{crypto::Ss58Codec, Pair};

	const GENESIS: [u8; 32] = [3; 32];
	const ENDPOINT: &str = "https://worker.example:8620";

	fn headers(
		pair: &sp_core::sr25519::Pair,
		job: u64,
		at: u64,
		wrap: bool,
	) -> Vec<(&'static str, String)> {
		let mut h = signed_headers(&GENESIS, ENDPOINT, job, at, None, &pair.public().0, |m| {
			let text = String::from_utf8(m.to_vec()).unwrap();
			let signed = if wrap { format!("<Bytes>{text}</Bytes>") } else { text };
			pair.sign(signed.as_bytes()).0
		});
		h[0].1 = pair.public().to_ss58check();
		h
	}

	fn check(
		h: &[(&'static str, String)],
		job: u64,
		now: u64,
		genesis: &[u8; 32],
		endpoint: &str,
	) -> Result<[u8; 32], AuthError> {
		let request =
			parse(now, |name| h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()))?;
		request.verify(genesis, endpoint, job)?;
		Ok(request.account)
	}

	#[test]
	fn a_signed_request_verifies_raw_or_wrapped() {
		let pair = sp_core::sr25519::Pair::from_string("//Alice", None).unwrap();
		for wrap in [false, true] {
			let h = headers(&pair, 7, 1_000_000, wrap);
			assert_eq!(check(&h, 7, 1_000_500, &GENESIS, ENDPOINT).unwrap(), pair.public().0);
			// The endpoint as registered, with or without its trailing slash.
			assert!(check(&h, 7, 1_000_500, &GENESIS, &format!("{ENDPOINT}/")).is_ok());
		}
	}

	#[test]
	fn other_jobs_chains_endpoints_stale_times_bad_signatures_and_missing_headers_are_refused() {
		let pair = sp_core::sr25519::Pair::from_string("//Alice", None).unwrap();
		let h = headers(&pair, 7, 1_000_000, false);
		let at = |job, genesis: &[u8; 32], endpoint| check(&h, job, 1_000_000, genesis, endpoint);
		assert_eq!(at(8, &GENESIS, ENDPOINT), Err(AuthError::BadSignature));
		assert_eq!(at(7, &[4; 32], ENDPOINT), Err(AuthError::BadSignature), "another chain");
		assert_eq!(
			at(7, &GENESIS, "https://other.example:8620"),
			Err(AuthError::BadSignature),
			"another worker"
		);
		assert!(matches!(
			check(&h, 7, 1_000_000 + MAX_SKEW_MS + 1, &GENESIS, ENDPOINT),
			Err(AuthError::Stale { .. })
		));
		let mut forged = h.clone();
		forged[0].1 =
			sp_core::sr25519::Pair::from_string("//Bob", None).unwrap().public().to_ss58check();
		assert_eq!(check(&forged, 7, 1_000_000, &GENESIS, ENDPOINT), Err(AuthError::BadSignature));
		let mut renonced = h.clone();
		renonced[2].1 = format!("0x{}", hex::encode([9u8; 16]));
		assert_eq!(
			check(&renonced, 7, 1_000_000, &GENESIS, ENDPOINT),
			Err(AuthError::BadSignature)
		);
		let without =
			|name: &str| h.iter().filter(|(n, _)| *n != name).cloned().collect::<Vec<_>>();
		assert_eq!(
			check(&without(SIGNATURE_HEADER), 7, 1_000_000, &GENESIS, ENDPOINT),
			Err(AuthError::Missing(SIGNATURE_HEADER))
		);
		assert_eq!(
			check(&without(NONCE_HEADER), 7, 1_000_000, &GENESIS, ENDPOINT),
			Err(AuthError::Missing(NONCE_HEADER))
		);
		let mut junk = h.clone();
		junk[3].1 = "0x1234".into();
		assert!(matches!(
			check(&junk, 7, 1_000_000, &GENESIS, ENDPOINT),
			Err(AuthError::Malformed(..))
		));
	}
}

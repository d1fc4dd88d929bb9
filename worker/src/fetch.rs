//! Remote job inputs: fetched over HTTP(S), never more than the size the job declares, and used
//! only when their blake2-256 hash is the one the job declares.

use std::time::Duration;

use futures::StreamExt;

/// Why a remote input is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
	#[error("the input URL is not valid UTF-8 http(s): {0}")]
	BadUrl(String),
	#[error("the input is larger than the {declared} bytes the job declares")]
	TooLarge { declared: u64 },
	#[error("the input is {got} bytes; the job declares {declared}")]
	WrongSize { got: u64, declared: u64 },
	#[error("the input's hash is {got}; the job declares {declared}")]
	HashMismatch { got: String, declared: String },
	#[error("the input is larger than this worker accepts ({max} bytes)")]
	OverWorkerLimit { max: u64 },
	#[error("fetching the input failed: {0}")]
	Http(String),
}

/// Fetches `url` and checks it against `size` and `hash`, within `timeout`; refuses anything over
/// `max_bytes` before downloading it.
pub async fn fetch_input(
	http: &reqwest::Client,
	url: &[u8],
	hash: [u8; 32],
	size: u64,
	max_bytes: u64,
	timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
	let url = std::str::from_utf8(url).map_err(|_| FetchError::BadUrl(hex::encode(url)))?;
	if !(url.starts_with("http://") || url.starts_with("https://")) {
		return Err(FetchError::BadUrl(url.to_owned()));
	}
	if size > max_bytes {
		return Err(FetchError::OverWorkerLimit { max: max_bytes });
	}
	let body = async {
		let response = http
			.get(url)
			.send()
			.await
			.and_then(|r| r.error_for_status())
			.map_err(|e| FetchError::Http(e.to_string()))?;
		let mut bytes = Vec::with_capacity(size as usize);
		let mut stream = response.bytes_stream();
		while let Some(chunk) = stream.next().await {
			let chunk = chunk.map_err(|e| FetchError::Http(e.to_string()))?;
			if (bytes.len() as u64).saturating_add(chunk.len() as u64) > size {
				return Err(FetchError::TooLarge { declared: size });
			}
			bytes.extend_from_slice(&chunk);
		}
		Ok(bytes)
	};
	let bytes = tokio::time::timeout(timeout, body)
		.await
		.map_err(|_| FetchError::Http(format!("no complete answer within {timeout:?}")))??;
	check_input(&bytes, hash, size)?;
	Ok(bytes)
}

/// Checks fetched bytes against the job's declared size and hash.
pub fn check_input(bytes: &[u8], hash: [u8; 32], size: u64) -> Result<(), FetchError> {
	if bytes.len() as u64 != size {
		return Err(FetchError::WrongSize { got: bytes.len() as u64, declared: size });
	}
	let got = crate::executor::digest(bytes);
	if got != hash {
		return Err(FetchError::HashMismatch {
			got: format!("0x{}", hex::encode(got)),
			declared: format!("0x{}", hex::encode(hash)),
		});
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn inputs_are_checked_by_size_and_hash() {
		let input = b"hello".to_vec();
		let hash = crate::executor::digest(&input);
		assert_eq!(check_input(&input, hash, 5), Ok(()));
		assert!(matches!(check_input(&input, hash, 6), Err(FetchError::WrongSize { .. })));
		assert!(matches!(check_input(b"hellO", hash, 5), Err(FetchError::HashMismatch { .. })));
	}

	/// A real HTTP server (axum on a local port): the right bytes pass, a tampered body, a body
	/// longer than declared and a URL that is not http are refused.
	#[tokio::test]
	async fn remote_inputs_over_http_are_verified() {
		use axum::{routing::get, Router};
		let app = Router::new()
			.route("/good", get(|| async { "payload" }))
			.route("/big", get(|| async { "payload and much more" }));
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = listener.local_addr().unwrap();
		tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
		let http = reqwest::Client::new();
		let hash = crate::executor::digest(b"payload");
		let t = Duration::from_secs(10);
		let good = format!("http://{addr}/good");
		assert_eq!(
			fetch_input(&http, good.as_bytes(), hash, 7, 1 << 20, t).await.unwrap(),
			b"payload"
		);
		let wrong = crate::executor::digest(b"other");
		assert!(matches!(
			fetch_input(&http, good.as_bytes(), wrong, 7, 1 << 20, t).await,
			Err(FetchError::HashMismatch { .. })
		));
		let big = format!("http://{addr}/big");
		assert_eq!(
			fetch_input(&http, big.as_bytes(), hash, 7, 1 << 20, t).await,
			Err(FetchError::TooLarge { declared: 7 })
		);
		assert_eq!(
			fetch_input(&http, good.as_bytes(), hash, 7, 6, t).await,
			Err(FetchError::OverWorkerLimit { max: 6 })
		);
		assert!(matches!(
			fetch_input(&http, b"file:///etc/passwd", hash, 7, 1 << 20, t).await,
			Err(FetchError::BadUrl(_))
		));
	}
}

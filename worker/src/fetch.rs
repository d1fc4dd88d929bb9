//! Remote job inputs: fetched over HTTP(S), never more than the size the job declares, and used
//! only when their blake2-256 hash is the one the job declares.
//!
//! A job's URL is the requester's choice, so it must not reach the provider's own machine or
//! networks (its cloud metadata service at 169.254.169.254, an admin page on 127.0.0.1, the
//! office LAN): addresses in the loopback, link-local, private, CGNAT, unique-local and other
//! special-use ranges ([`forbidden`]) are refused — an IP literal before any request, a host name
//! when it is resolved (the connection goes to the addresses checked, so a name that resolves
//! differently a moment later changes nothing) — unless the provider's config allows them
//! (`allow_private_inputs`). Redirects are refused (a public URL cannot send the worker on to a
//! private one), no proxy is used, and the whole fetch ends when the job's time does.

use std::{
	net::{IpAddr, SocketAddr},
	sync::Arc,
	time::Duration,
};

use futures::StreamExt;
use ipnet::IpNet;

/// Why a remote input is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
	#[error("the input URL is not valid UTF-8 http(s): {0}")]
	BadUrl(String),
	#[error(
		"the input URL points at {addr}, in the {range} range: the provider's own networks are \
		 not fetched from"
	)]
	Forbidden { addr: IpAddr, range: &'static str },
	#[error("the input URL redirects (to {0}); redirects are not followed")]
	Redirect(String),
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

/// The special-use ranges a remote input may not come from (RFC 6890 and its successors), with
/// their names.
const FORBIDDEN: &[(&str, &str)] = &[
	("0.0.0.0/8", "\"this network\""),
	("10.0.0.0/8", "private"),
	("100.64.0.0/10", "CGNAT"),
	("127.0.0.0/8", "loopback"),
	("169.254.0.0/16", "link-local"),
	("172.16.0.0/12", "private"),
	("192.0.0.0/24", "IETF protocol assignments"),
	("192.0.2.0/24", "documentation"),
	("192.88.99.0/24", "6to4 relay"),
	("192.168.0.0/16", "private"),
	("198.18.0.0/15", "benchmarking"),
	("198.51.100.0/24", "documentation"),
	("203.0.113.0/24", "documentation"),
	("224.0.0.0/4", "multicast"),
	("240.0.0.0/4", "reserved"),
	("::/128", "unspecified"),
	("::1/128", "loopback"),
	("64:ff9b:1::/48", "local NAT64"),
	("100::/64", "discard-only"),
	("2001:db8::/32", "documentation"),
	("fc00::/7", "unique-local"),
	("fe80::/10", "link-local"),
	("ff00::/8", "multicast"),
];

/// The forbidden range `ip` is in, if any. An IPv6 address that embeds an IPv4 one (mapped,
/// compatible, NAT64 or 6to4) is judged by that address as well.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
	let in_list = |ip: IpAddr| {
		FORBIDDEN.iter().find_map(|(net, name)| {
			net.parse::<IpNet>().ok().filter(|net| net.contains(&ip)).map(|_| *name)
		})
	};
	if let Some(range) = in_list(ip) {
		return Some(range);
	}
	let IpAddr::V6(v6) = ip else { return None };
	let o = v6.octets();
	let last_four = std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]);
	// IPv4-compatible (deprecated, ::/96) and NAT64 (64:ff9b::/96) addresses end in the IPv4 one.
	let compatible = o[..12] == [0; 12];
	let nat64 = o[..12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
	let embedded = if let Some(v4) = v6.to_ipv4_mapped() {
		Some(v4)
	} else if compatible || nat64 {
		Some(last_four)
	} else if o[..2] == [0x20, 0x02] {
		Some(std::net::Ipv4Addr::new(o[2], o[3], o[4], o[5])) // 6to4 (2002::/16)
	} else {
		None
	};
	embedded.and_then(|v4| in_list(IpAddr::V4(v4)))
}

/// Resolves host names for the input client, keeping only addresses outside [`FORBIDDEN`] (all
/// of them with `allow_private`).
struct GuardedResolver {
	allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
	fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
		let allow_private = self.allow_private;
		Box::pin(async move {
			let host = name.as_str().to_owned();
			let found: Vec<SocketAddr> =
				tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
			let mut refused = None;
			let allowed: Vec<SocketAddr> = found
				.into_iter()
				.filter(|addr| match forbidden(addr.ip()) {
					Some(range) if !allow_private => {
						refused = Some(FetchError::Forbidden { addr: addr.ip(), range });
						false
					},
					_ => true,
				})
				.collect();
			if allowed.is_empty() {
				return Err(match refused {
					Some(refused) => Box::new(refused) as Box<dyn std::error::Error + Send + Sync>,
					None => format!("{host} has no address").into(),
				});
			}
			Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
		})
	}
}

/// What fetches remote inputs: an HTTP client that resolves through [`GuardedResolver`],
/// follows no redirects and uses no proxy.
#[derive(Clone)]
pub struct Fetcher {
	http: reqwest::Client,
	allow_private: bool,
}

impl Fetcher {
	/// A fetcher; `allow_private` lets inputs come from the ranges [`forbidden`] names.
	pub fn new(allow_private: bool) -> reqwest::Result<Self> {
		let http = reqwest::Client::builder()
			.connect_timeout(Duration::from_secs(10))
			.redirect(reqwest::redirect::Policy::none())
			.no_proxy()
			.dns_resolver(Arc::new(GuardedResolver { allow_private }))
			.build()?;
		Ok(Self { http, allow_private })
	}

	/// Fetches `url` and checks it against `size` and `hash`, within `timeout` (the job's time
	/// left); refuses anything over `max_bytes` before downloading it.
	pub async fn fetch_input(
		&self,
		url: &[u8],
		hash: [u8; 32],
		size: u64,
		max_bytes: u64,
		timeout: Duration,
	) -> Result<Vec<u8>, FetchError> {
		let text = std::str::from_utf8(url).map_err(|_| FetchError::BadUrl(hex::encode(url)))?;
		let url = reqwest::Url::parse(text).map_err(|_| FetchError::BadUrl(text.to_owned()))?;
		if !matches!(url.scheme(), "http" | "https") {
			return Err(FetchError::BadUrl(text.to_owned()));
		}
		// An address written in the URL is never resolved: it is checked here.
		let literal = match url.host() {
			Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
			Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
			Some(url::Host::Domain(_)) => None,
			None => return Err(FetchError::BadUrl(text.to_owned())),
		};
		if let Some(addr) = literal.filter(|_| !self.allow_private) {
			if let Some(range) = forbidden(addr) {
				return Err(FetchError::Forbidden { addr, range });
			}
		}
		if size > max_bytes {
			return Err(FetchError::OverWorkerLimit { max: max_bytes });
		}
		let body = async {
			let response = self.http.get(url).send().await.map_err(|e| {
				// The resolver's refusal, in its own words.
				let mut source: Option<&dyn std::error::Error> = Some(&e);
				while let Some(inner) = source {
					if let Some(refused) = inner.downcast_ref::<FetchError>() {
						return FetchError::Http(refused.to_string());
					}
					source = inner.source();
				}
				FetchError::Http(e.to_string())
			})?;
			if response.status().is_redirection() {
				let to = response
					.headers()
					.get(reqwest::header::LOCATION)
					.and_then(|v| v.to_str().ok())
					.unwrap_or("somewhere")
					.to_owned();
				return Err(FetchError::Redirect(to));
			}
			let response =
				response.error_for_status().map_err(|e| FetchError::Http(e.to_string()))?;
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

	/// A real HTTP server (axum on a local port; the fetcher allows private addresses to reach
	/// it): the right bytes pass, a tampered body, a body longer than declared, a URL that is not
	/// http and a redirect are refused.
	#[tokio::test]
	async fn remote_inputs_over_http_are_verified() {
		use axum::{response::Redirect, routing::get, Router};
		let app = Router::new()
			.route("/good", get(|| async { "payload" }))
			.route("/big", get(|| async { "payload and much more" }))
			.route("/moved", get(|| async { Redirect::temporary("/good") }));
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = listener.local_addr().unwrap();
		tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
		let fetcher = Fetcher::new(true).unwrap();
		let hash = crate::executor::digest(b"payload");
		let t = Duration::from_secs(10);
		let good = format!("http://{addr}/good");
		assert_eq!(
			fetcher.fetch_input(good.as_bytes(), hash, 7, 1 << 20, t).await.unwrap(),
			b"payload"
		);
		let wrong = crate::executor::digest(b"other");
		assert!(matches!(
			fetcher.fetch_input(good.as_bytes(), wrong, 7, 1 << 20, t).await,
			Err(FetchError::HashMismatch { .. })
		));
		let big = format!("http://{addr}/big");
		assert_eq!(
			fetcher.fetch_input(big.as_bytes(), hash, 7, 1 << 20, t).await,
			Err(FetchError::TooLarge { declared: 7 })
		);
		assert_eq!(
			fetcher.fetch_input(good.as_bytes(), hash, 7, 6, t).await,
			Err(FetchError::OverWorkerLimit { max: 6 })
		);
		assert!(matches!(
			fetcher.fetch_input(b"file:///etc/passwd", hash, 7, 1 << 20, t).await,
			Err(FetchError::BadUrl(_))
		));
		let moved = format!("http://{addr}/moved");
		assert_eq!(
			fetcher.fetch_input(moved.as_bytes(), hash, 7, 1 << 20, t).await,
			Err(FetchError::Redirect("/good".into()))
		);
	}

	/// URLs at the provider's own machine and networks — by address or by a name that resolves
	/// there — are refused without a connection reaching them (a listener on 127.0.0.1 counts
	/// the connections it gets).
	#[tokio::test]
	async fn inputs_from_the_providers_own_networks_are_refused_before_any_request() {
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let port = listener.local_addr().unwrap().port();
		let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
		let counter = reached.clone();
		tokio::spawn(async move {
			while listener.accept().await.is_ok() {
				counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
			}
		});
		let fetcher = Fetcher::new(false).unwrap();
		let hash = crate::executor::digest(b"payload");
		let t = Duration::from_secs(10);
		for url in [
			format!("http://127.0.0.1:{port}/x"),
			format!("http://[::ffff:127.0.0.1]:{port}/x"),
			format!("http://2130706433:{port}/x"),
			"http://169.254.169.254/latest/meta-data/".to_owned(),
			"http://[fd00::1]/x".to_owned(),
			"http://10.1.2.3/x".to_owned(),
			"http://100.64.0.1/x".to_owned(),
			"http://192.168.1.1/x".to_owned(),
			"http://[fe80::1]/x".to_owned(),
		] {
			let refused = fetcher.fetch_input(url.as_bytes(), hash, 7, 1 << 20, t).await;
			assert!(matches!(refused, Err(FetchError::Forbidden { .. })), "{url}: {refused:?}");
		}
		let by_name = format!("http://localhost:{port}/x");
		match fetcher.fetch_input(by_name.as_bytes(), hash, 7, 1 << 20, t).await {
			Err(FetchError::Http(why)) => assert!(why.contains("own networks"), "{why}"),
			other => panic!("{by_name}: {other:?}"),
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
		assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0);
	}

	#[test]
	fn special_use_ranges_are_named_and_public_addresses_pass() {
		let range = |text: &str| forbidden(text.parse().unwrap());
		assert_eq!(range("127.0.0.1"), Some("loopback"));
		assert_eq!(range("169.254.169.254"), Some("link-local"));
		assert_eq!(range("172.31.255.255"), Some("private"));
		assert_eq!(range("100.127.0.1"), Some("CGNAT"));
		assert_eq!(range("::1"), Some("loopback"));
		assert_eq!(range("fdff::1"), Some("unique-local"));
		assert_eq!(range("::ffff:10.0.0.1"), Some("private"));
		assert_eq!(range("64:ff9b::a9fe:a9fe"), Some("link-local"));
		assert_eq!(range("2002:c0a8:0101::1"), Some("private"));
		for public in ["1.1.1.1", "172.32.0.1", "100.128.0.1", "8.8.8.8", "2606:4700::1111"] {
			assert_eq!(range(public), None, "{public}");
		}
		// Every entry of the table parses.
		for (net, _) in FORBIDDEN {
			assert!(net.parse::<IpNet>().is_ok(), "{net}");
		}
	}
}

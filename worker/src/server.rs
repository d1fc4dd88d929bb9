//! The result server: a job's output, to its requester only; Prometheus metrics; health.
//!
//! - `GET /jobs/<job>/output`: the output bytes, once the chain has settled the job on this
//!   worker's digest and paid this worker's replica (`Record::paid`; never after a cancel, a
//!   dispute or an expiry, nor between reveal and settlement), to a request signed by the job's
//!   requester ([`crate::auth`]). The response carries
//!   `x-stratus-digest: 0x…` (the blake2-256 the worker revealed; the requester compares it with the
//!   job's canonical digest on chain). With `x-stratus-box-key` the body is encrypted to that key
//!   ([`crate::seal`]; made in memory, two at a time, 503 beyond) and `x-stratus-encryption`
//!   names the scheme; without it the body streams from disk. 401 for a missing, malformed, stale or bad signature, 403 for
//!   a valid signature by another account, 404 when this worker has no paid output for the job.
//! - `GET /metrics`: Prometheus text format (on a listener of its own, e.g. localhost, when the
//!   config names `metrics_listen`).
//! - `GET /health`: `{"finalized_block": …, "running": …}`.
//!
//! Strangers on the network reach it too, so it is bounded ([`Bounds`]): a connection has 10 s to
//! send each request's headers (idle kept-alive connections are closed as well), a handler 60 s to
//! answer, 1024 connections are served at once (more wait in the backlog), each client address
//! may make 20 requests a second (bursts of 40; 429 beyond), request heads are at most 16 KiB and
//! bodies empty. A failed `accept` (out of file descriptors) is logged and retried.

use std::{
	collections::HashMap,
	net::{IpAddr, SocketAddr},
	num::NonZeroU32,
	sync::{Arc, Mutex, OnceLock},
	time::{Duration, SystemTime},
};

use axum::{
	body::Body,
	extract::{ConnectInfo, Path, State},
	http::{HeaderMap, HeaderValue, StatusCode},
	response::{IntoResponse, Response},
	routing::get,
	Router,
};
use governor::Quota;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tokio_util::{io::ReaderStream, sync::CancellationToken, task::TaskTracker};
use tower_http::{
	cors::{Any, CorsLayer},
	limit::RequestBodyLimitLayer,
	timeout::TimeoutLayer,
};

use crate::{
	auth::{self, AuthError},
	metrics::Metrics,
	seal,
	store::Store,
};

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
	pub store: Store,
	pub metrics: Metrics,
	/// The chain's genesis hash, once the worker has connected: download requests are bound to
	/// it ([`auth`]).
	pub genesis: Arc<OnceLock<[u8; 32]>>,
	/// This server's endpoint as registered on chain (`[results] public_url`): download
	/// requests are bound to it.
	pub endpoint: String,
	/// The nonces of the requests served within the clock's skew.
	pub seen: Arc<Mutex<Seen>>,
	/// Encrypted downloads being sealed: a sealed box is made whole in memory (the output and
	/// its sealed copy), so only [`SEALING_AT_ONCE`] are made at once; plain downloads stream
	/// from disk and need no permit.
	pub sealing: Arc<Semaphore>,
}

/// How many encrypted downloads are sealed at once; more are answered 503 (try again).
pub const SEALING_AT_ONCE: usize = 2;

impl ServerState {
	/// The state of a server at `endpoint` (genesis set once known).
	pub fn new(store: Store, metrics: Metrics, endpoint: String) -> Self {
		Self {
			store,
			metrics,
			genesis: Arc::new(OnceLock::new()),
			endpoint,
			seen: Arc::new(Mutex::new(Seen::default())),
			sealing: Arc::new(Semaphore::new(SEALING_AT_ONCE)),
		}
	}
}

/// The nonces of download requests served within [`auth::MAX_SKEW_MS`] (older ones are refused
/// as stale anyway): a request is good once. Bounded: nonces are recorded only for requests
/// whose signature verified, by a paid job's requester.
#[derive(Default)]
pub struct Seen {
	nonces: HashMap<([u8; 32], [u8; 16]), u64>,
}

/// The most nonces kept; past it (after dropping the expired), requests wait (503).
const MAX_SEEN: usize = 100_000;

impl Seen {
	/// Whether `request`'s nonce was used before.
	fn contains(&self, request: &auth::Request) -> bool {
		self.nonces.contains_key(&(request.account, request.nonce))
	}

	/// Records `request`'s nonce; refuses a second use.
	fn first_use(
		&mut self,
		request: &auth::Request,
		now_ms: u64,
	) -> Result<(), (StatusCode, String)> {
		if self.nonces.len() >= MAX_SEEN {
			let window = auth::MAX_SKEW_MS.saturating_mul(2);
			self.nonces.retain(|_, at| at.saturating_add(window) > now_ms);
		}
		if self.nonces.len() >= MAX_SEEN {
			return Err((
				StatusCode::SERVICE_UNAVAILABLE,
				"too many downloads; try again later\n".into(),
			));
		}
		match self.nonces.entry((request.account, request.nonce)) {
			std::collections::hash_map::Entry::Occupied(_) => {
				Err((StatusCode::UNAUTHORIZED, format!("{}\n", AuthError::Replayed)))
			},
			std::collections::hash_map::Entry::Vacant(entry) => {
				entry.insert(request.timestamp_ms);
				Ok(())
			},
		}
	}
}

/// How the result server bounds its clients: a requester's download must get through while
/// strangers hold connections open, send headers slowly or repeat requests.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
	/// Connections served at once; beyond that, new ones wait in the kernel's backlog.
	pub max_connections: usize,
	/// Time a connection has to send a request's headers (also the idle limit between requests
	/// of a kept-alive connection).
	pub header_read_timeout: Duration,
	/// Time a handler has to produce its response.
	pub request_timeout: Duration,
	/// Requests each client address may make per second, and in a burst.
	pub per_client_per_second: u32,
	pub per_client_burst: u32,
	/// Bytes of request head (line and headers) a connection may send.
	pub max_head_bytes: usize,
}

impl Default for Bounds {
	fn default() -> Self {
		Self {
			max_connections: 1024,
			header_read_timeout: Duration::from_secs(10),
			request_timeout: Duration::from_secs(60),
			per_client_per_second: 20,
			per_client_burst: 40,
			max_head_bytes: 16 * 1024,
		}
	}
}

/// Requests per client address ([`Bounds::per_client_per_second`]).
type Limiter = governor::DefaultKeyedRateLimiter<IpAddr>;

/// The router: downloads and health, plus `/metrics` when `with_metrics` (else it is served on
/// a listener of its own, [`serve_metrics`]).
pub fn router(state: ServerState, with_metrics: bool) -> Router {
	let router =
		Router::new().route("/jobs/{job}/output", get(output)).route("/health", get(health));
	let router = if with_metrics { router.route("/metrics", get(metrics)) } else { router };
	router.with_state(state).layer(browsers())
}

/// Pages in a browser (the web console, a dApp) may download: from any origin, because the
/// origin adds nothing to check — an output goes only to a request signed by its job's
/// requester, which no page can make without the requester's key or wallet, and a signed
/// request is used once. GET with the signed request's headers; the digest and encryption
/// headers readable by the page.
fn browsers() -> CorsLayer {
	use axum::http::{HeaderName, Method};
	let signed = [
		auth::ACCOUNT_HEADER,
		auth::TIMESTAMP_HEADER,
		auth::NONCE_HEADER,
		auth::SIGNATURE_HEADER,
		seal::BOX_KEY_HEADER,
	];
	CorsLayer::new()
		.allow_origin(Any)
		.allow_methods([Method::GET])
		.allow_headers(signed.map(HeaderName::from_static))
		.expose_headers([
			HeaderName::from_static("x-stratus-digest"),
			HeaderName::from_static(seal::ENCRYPTION_HEADER),
		])
		.max_age(Duration::from_secs(600))
}

/// Binds `listen` and serves the result server (with `/metrics` unless `metrics_apart`) within
/// `bounds` until `cancel` fires. Returns the bound address (for port 0).
pub async fn serve(
	listen: SocketAddr,
	state: ServerState,
	bounds: Bounds,
	metrics_apart: bool,
	cancel: CancellationToken,
	tracker: &TaskTracker,
) -> std::io::Result<SocketAddr> {
	let app = router(state, !metrics_apart);
	serve_router(listen, app, bounds, cancel, tracker).await
}

/// Binds `listen` (e.g. `127.0.0.1:9617`) and serves `/metrics` alone there.
pub async fn serve_metrics(
	listen: SocketAddr,
	state: ServerState,
	cancel: CancellationToken,
	tracker: &TaskTracker,
) -> std::io::Result<SocketAddr> {
	let app = Router::new().route("/metrics", get(metrics)).with_state(state);
	serve_router(listen, app, Bounds::default(), cancel, tracker).await
}

async fn serve_router(
	listen: SocketAddr,
	app: Router,
	bounds: Bounds,
	cancel: CancellationToken,
	tracker: &TaskTracker,
) -> std::io::Result<SocketAddr> {
	let listener = tokio::net::TcpListener::bind(listen).await?;
	let bound = listener.local_addr()?;
	let per_second = NonZeroU32::new(bounds.per_client_per_second).unwrap_or(NonZeroU32::MIN);
	let burst = NonZeroU32::new(bounds.per_client_burst).unwrap_or(per_second);
	let limiter: Arc<Limiter> =
		Arc::new(governor::RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)));
	let app = app
		.layer(axum::middleware::from_fn_with_state(limiter.clone(), rate_limit))
		.layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, bounds.request_timeout))
		.layer(RequestBodyLimitLayer::new(0));
	let connections = Arc::new(Semaphore::new(bounds.max_connections.max(1)));
	let spawner = tracker.clone();
	tracker.spawn(async move {
		let mut accepted_count = 0u32;
		loop {
			let permit = tokio::select! {
				_ = cancel.cancelled() => break,
				permit = connections.clone().acquire_owned() => match permit {
					Ok(permit) => permit,
					Err(_) => break,
				},
			};
			let (stream, peer) = tokio::select! {
				_ = cancel.cancelled() => break,
				accepted = listener.accept() => match accepted {
					Ok(accepted) => accepted,
					Err(e) => {
						// Out of file descriptors (EMFILE, ENFILE) or a connection reset before
						// it was accepted: the listener is fine; wait a moment and go on.
						tracing::warn!("result server: accepting a connection failed: {e}");
						tokio::time::sleep(Duration::from_millis(100)).await;
						continue;
					},
				},
			};
			// Forget addresses whose rate is back to full now and then, not on every accept (it
			// walks every address the limiter holds).
			accepted_count = accepted_count.wrapping_add(1);
			if accepted_count.is_multiple_of(1024) {
				limiter.retain_recent();
			}
			let service = tower::ServiceExt::map_request(
				app.clone(),
				move |mut request: axum::http::Request<hyper::body::Incoming>| {
					request.extensions_mut().insert(ConnectInfo(peer));
					request
				},
			);
			let service = hyper_util::service::TowerToHyperService::new(service);
			let cancel = cancel.clone();
			spawner.spawn(async move {
				let _permit = permit;
				let connection = hyper::server::conn::http1::Builder::new()
					.timer(TokioTimer::new())
					.header_read_timeout(bounds.header_read_timeout)
					.max_buf_size(bounds.max_head_bytes.max(8192))
					.serve_connection(TokioIo::new(stream), service);
				tokio::pin!(connection);
				tokio::select! {
					_ = connection.as_mut() => {},
					_ = cancel.cancelled() => {
						connection.as_mut().graceful_shutdown();
						let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
					},
				}
			});
		}
	});
	Ok(bound)
}

/// 429 for a client address over its rate ([`Bounds::per_client_per_second`]).
async fn rate_limit(
	State(limiter): State<Arc<Limiter>>,
	ConnectInfo(peer): ConnectInfo<SocketAddr>,
	request: axum::extract::Request,
	next: axum::middleware::Next,
) -> Response {
	if limiter.check_key(&peer.ip()).is_err() {
		return (StatusCode::TOO_MANY_REQUESTS, "too many requests from this address; slow down\n")
			.into_response();
	}
	next.run(request).await
}

fn now_ms() -> u64 {
	SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

async fn output(
	State(state): State<ServerState>,
	Path(job): Path<u64>,
	headers: HeaderMap,
) -> Response {
	let refuse = |status: StatusCode, why: String| {
		state.metrics.downloads.with_label_values(&["refused"]).inc();
		(status, why).into_response()
	};
	// What costs nothing first: the headers and the clock, the chain, the record, the account;
	// the signature last.
	let request =
		match auth::parse(now_ms(), |name| headers.get(name).and_then(|v| v.to_str().ok())) {
			Ok(request) => request,
			Err(e) => return refuse(StatusCode::UNAUTHORIZED, format!("{e}\n")),
		};
	let Some(genesis) = state.genesis.get().copied() else {
		return (StatusCode::SERVICE_UNAVAILABLE, "the worker is not connected to the chain yet\n")
			.into_response();
	};
	let records = state.store.of_job(job);
	let Some(record) = records.iter().find(|r| r.digest.is_some() && r.paid) else {
		state.metrics.downloads.with_label_values(&["missing"]).inc();
		return (
			StatusCode::NOT_FOUND,
			format!(
				"this worker has no paid output for job {job}: an output is served once the chain \
				 has settled the job on it and paid for it\n"
			),
		)
			.into_response();
	};
	if record.requester != request.account {
		return refuse(StatusCode::FORBIDDEN, format!("{}\n", AuthError::NotRequester));
	}
	if crate::lock(&state.seen).contains(&request) {
		return refuse(StatusCode::UNAUTHORIZED, format!("{}\n", AuthError::Replayed));
	}
	if let Err(e) = request.verify(&genesis, &state.endpoint, job) {
		return refuse(StatusCode::UNAUTHORIZED, format!("{e}\n"));
	}
	if let Err((status, why)) = crate::lock(&state.seen).first_use(&request, now_ms()) {
		return refuse(status, why);
	}
	let key = (record.job, record.replica);
	let gone = |e: std::io::Error| {
		state.metrics.downloads.with_label_values(&["missing"]).inc();
		(StatusCode::NOT_FOUND, format!("the output of job {job} is gone: {e}\n")).into_response()
	};
	let file = match state.store.open_output(key) {
		Ok(file) => file,
		Err(e) => return gone(e),
	};
	let mut headers = HeaderMap::new();
	headers.insert("content-type", HeaderValue::from_static("application/octet-stream"));
	let digest = format!("0x{}", hex::encode(record.digest.unwrap_or_default()));
	if let Ok(value) = HeaderValue::from_str(&digest) {
		headers.insert("x-stratus-digest", value);
	}
	let body = match request.box_key {
		// Streamed from disk: a download holds a buffer, never the whole output.
		None => {
			let file = tokio::fs::File::from_std(file);
			Body::from_stream(ReaderStream::with_capacity(file, STREAM_CHUNK))
		},
		Some(box_key) => {
			let Ok(_permit) = state.sealing.clone().try_acquire_owned() else {
				return (
					StatusCode::SERVICE_UNAVAILABLE,
					[("retry-after", "1")],
					"too many encrypted downloads at once; try again\n",
				)
					.into_response();
			};
			let sealed = tokio::task::spawn_blocking(move || {
				let mut output = Vec::new();
				std::io::Read::read_to_end(&mut &file, &mut output)?;
				seal::seal(&output, box_key).ok_or_else(|| std::io::Error::other("sealing failed"))
			})
			.await;
			match sealed {
				Ok(Ok(sealed)) => {
					headers.insert(seal::ENCRYPTION_HEADER, HeaderValue::from_static(seal::SCHEME));
					Body::from(sealed)
				},
				Ok(Err(e)) => return gone(e),
				Err(e) => return gone(std::io::Error::other(e)),
			}
		},
	};
	state.metrics.downloads.with_label_values(&["served"]).inc();
	(StatusCode::OK, headers, body).into_response()
}

/// The read buffer of a streamed download.
const STREAM_CHUNK: usize = 64 << 10;

async fn metrics(State(state): State<ServerState>) -> Response {
	([("content-type", "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

async fn health(State(state): State<ServerState>) -> Response {
	let body = serde_json::json!({
		"finalized_block": state.metrics.finalized_block.get(),
		"running": state.metrics.running.get(),
	});
	([("content-type", "application/json")], body.to_string()).into_response()
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used)]
	use super::*;
	use crate::store::{Record, Stage};
	use axum::body::Body;
	use sp_core::Pair;
	use tower::ServiceExt;

	const GENESIS: [u8; 32] = [4; 32];
	const ENDPOINT: &str = "http://127.0.0.1:8620";

	fn signed_headers(pair: &sp_core::sr25519::Pair, job: u64) -> Vec<(&'static str, String)> {
		auth::signed_headers(&GENESIS, ENDPOINT, job, now_ms(), None, &pair.public().0, |m| {
			pair.sign(m).0
		})
	}

	fn request(headers: &[(&'static str, String)], job: u64) -> axum::http::Request<Body> {
		let mut request = axum::http::Request::get(format!("/jobs/{job}/output"));
		for (name, value) in headers {
			request = request.header(*name, value);
		}
		request.body(Body::empty()).unwrap()
	}

	fn signed_get(pair: &sp_core::sr25519::Pair, job: u64) -> axum::http::Request<Body> {
		request(&signed_headers(pair, job), job)
	}

	fn server_state(store: Store) -> ServerState {
		let state = ServerState::new(store, Metrics::new(), ENDPOINT.into());
		state.genesis.set(GENESIS).unwrap();
		state
	}

	async fn get(state: &ServerState, request: axum::http::Request<Body>) -> (StatusCode, Vec<u8>) {
		let response = router(state.clone(), true).oneshot(request).await.unwrap();
		let status = response.status();
		let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
		(status, body.to_vec())
	}

	/// A replica of `requester`'s job with its result `output` stored, not yet paid.
	fn computed(store: &Store, key: (u64, u8), requester: &sp_core::sr25519::Pair, output: &[u8]) {
		let record = Record {
			job: key.0,
			replica: key.1,
			requester: requester.public().0,
			stage: Stage::Running,
			..Record::default()
		};
		store.put(record).unwrap();
		store
			.store_result(
				&store.get(key).unwrap(),
				output,
				crate::executor::digest(output),
				1,
				None,
			)
			.unwrap();
	}

	/// A page from another origin: the browser's preflight is answered, and every answer says
	/// any origin may read it and its digest and encryption headers.
	#[tokio::test]
	async fn a_browser_page_may_ask_with_the_signed_headers_and_read_the_digest() {
		let dir = tempfile::tempdir().unwrap();
		let state = server_state(Store::open(dir.path()).unwrap());
		// The browser's preflight for a signed GET from another origin.
		let preflight = axum::http::Request::builder()
			.method("OPTIONS")
			.uri("/jobs/9/output")
			.header("origin", "http://127.0.0.1:8080")
			.header("access-control-request-method", "GET")
			.header(
				"access-control-request-headers",
				"x-stratus-account,x-stratus-timestamp,x-stratus-nonce,x-stratus-signature",
			)
			.body(Body::empty())
			.unwrap();
		let response = router(state.clone(), true).oneshot(preflight).await.unwrap();
		assert_eq!(response.status(), StatusCode::OK);
		let headers = response.headers();
		assert_eq!(headers["access-control-allow-origin"], "*");
		let allowed = headers["access-control-allow-headers"].to_str().unwrap().to_owned();
		for header in ["x-stratus-account", "x-stratus-signature", "x-stratus-box-key"] {
			assert!(allowed.contains(header), "{allowed}");
		}
		// The answer itself (here: nothing paid yet) still says who may read it, and what.
		let mut get_request = signed_get(&sp_core::sr25519::Pair::from_seed(&[1; 32]), 9);
		get_request.headers_mut().insert("origin", "http://127.0.0.1:8080".parse().unwrap());
		let response = router(state, true).oneshot(get_request).await.unwrap();
		assert_eq!(response.status(), StatusCode::NOT_FOUND);
		assert_eq!(response.headers()["access-control-allow-origin"], "*");
		let exposed = response.headers()["access-control-expose-headers"].to_str().unwrap();
		assert!(exposed.contains("x-stratus-digest") && exposed.contains("x-stratus-encryption"));
	}

	/// Computed, committed, revealed, or ended without pay (cancelled, disputed, expired): the
	/// requester gets nothing. Settled on this digest and paid: the output, to the requester only.
	#[tokio::test]
	async fn an_output_is_served_only_once_the_chain_paid_for_it() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let requester = sp_core::sr25519::Pair::from_seed(&[1; 32]);
		let stranger = sp_core::sr25519::Pair::from_seed(&[2; 32]);
		let key = (9, 0);
		computed(&store, key, &requester, b"the result");
		let state = server_state(store.clone());
		for stage in [Stage::Computed, Stage::Committed, Stage::Revealed, Stage::Finished] {
			store.advance(key, stage, Some("not paid".into())).unwrap();
			let (status, body) = get(&state, signed_get(&requester, 9)).await;
			assert_eq!(status, StatusCode::NOT_FOUND, "{stage:?}");
			assert!(String::from_utf8_lossy(&body).contains("no paid output for job 9"));
		}
		store.mark_paid(key).unwrap();
		let (status, body) = get(&state, signed_get(&requester, 9)).await;
		assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"the result"[..]));
		assert_eq!(get(&state, signed_get(&stranger, 9)).await.0, StatusCode::FORBIDDEN);
		// Paid is on disk: a restarted worker still serves it.
		let reopened = server_state(Store::open(dir.path()).unwrap());
		assert_eq!(get(&reopened, signed_get(&requester, 9)).await.0, StatusCode::OK);
	}

	/// A plain download streams the output from disk (a body larger than one read buffer comes
	/// in pieces); an encrypted one is a sealed box only the named key opens, and while every
	/// sealing permit is taken an encrypted download is told to retry, a plain one still served.
	#[tokio::test]
	async fn outputs_stream_and_encrypted_ones_are_sealed_a_few_at_a_time() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let requester = sp_core::sr25519::Pair::from_seed(&[1; 32]);
		let output: Vec<u8> = (0..(3 * STREAM_CHUNK + 5)).map(|i| (i % 251) as u8).collect();
		computed(&store, (4, 0), &requester, &output);
		store.mark_paid((4, 0)).unwrap();
		let state = server_state(store);

		let response =
			router(state.clone(), true).oneshot(signed_get(&requester, 4)).await.unwrap();
		assert_eq!(response.status(), StatusCode::OK);
		assert!(response.headers().get(seal::ENCRYPTION_HEADER).is_none());
		let mut body = response.into_body().into_data_stream();
		let mut pieces = 0;
		let mut received = Vec::new();
		while let Some(piece) = futures::StreamExt::next(&mut body).await {
			received.extend_from_slice(&piece.unwrap());
			pieces += 1;
		}
		assert_eq!(received, output);
		assert!(pieces > 1, "streamed in {pieces} piece(s)");

		let secret: [u8; 32] = [7; 32];
		let sealed_get = || {
			let headers = auth::signed_headers(
				&GENESIS,
				ENDPOINT,
				4,
				now_ms(),
				Some(&seal::public_key(secret)),
				&requester.public().0,
				|m| requester.sign(m).0,
			);
			request(&headers, 4)
		};
		let response = router(state.clone(), true).oneshot(sealed_get()).await.unwrap();
		assert_eq!(response.headers()[seal::ENCRYPTION_HEADER], seal::SCHEME);
		let sealed = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
		assert_eq!(sealed.len(), output.len() + seal::OVERHEAD);
		assert_eq!(seal::open(&sealed, secret).unwrap(), output);
		assert_eq!(seal::open(&sealed, [8; 32]), None);

		let _taken = state.sealing.clone().acquire_many_owned(SEALING_AT_ONCE as u32).await;
		let (status, _) = get(&state, sealed_get()).await;
		assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
		let (status, body) = get(&state, signed_get(&requester, 4)).await;
		assert_eq!((status, body.len()), (StatusCode::OK, output.len()));
	}

	/// A request is good once: the same headers again are refused, and so is a request signed
	/// for another chain or another worker's endpoint; a fresh one is served.
	#[tokio::test]
	async fn replayed_and_misdirected_requests_are_refused() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let requester = sp_core::sr25519::Pair::from_seed(&[1; 32]);
		computed(&store, (3, 1), &requester, b"out");
		store.mark_paid((3, 1)).unwrap();
		let state = server_state(store);
		let headers = signed_headers(&requester, 3);
		assert_eq!(get(&state, request(&headers, 3)).await.0, StatusCode::OK);
		let (status, body) = get(&state, request(&headers, 3)).await;
		assert_eq!(status, StatusCode::UNAUTHORIZED);
		assert!(String::from_utf8_lossy(&body).contains("already used"));
		let elsewhere = |genesis: [u8; 32], endpoint: &str| {
			auth::signed_headers(
				&genesis,
				endpoint,
				3,
				now_ms(),
				None,
				&requester.public().0,
				|m| requester.sign(m).0,
			)
		};
		for headers in [elsewhere([5; 32], ENDPOINT), elsewhere(GENESIS, "http://10.0.0.9:8620")] {
			assert_eq!(get(&state, request(&headers, 3)).await.0, StatusCode::UNAUTHORIZED);
		}
		assert_eq!(get(&state, signed_get(&requester, 3)).await.0, StatusCode::OK);
	}
}

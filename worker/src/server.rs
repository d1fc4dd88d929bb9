//! The result server: a job's output, to its requester only; Prometheus metrics; health.
//!
//! - `GET /jobs/<job>/output`: the output bytes, once this worker has revealed its result, to a
//!   request signed by the job's requester ([`crate::auth`]). The response carries
//!   `x-stratus-digest: 0x…` (the blake2-256 the worker revealed; the requester compares it with the
//!   job's canonical digest on chain). With `x-stratus-box-key` the body is encrypted to that key
//!   ([`crate::seal`]) and `x-stratus-encryption` names the scheme. 401 for a missing, malformed, stale or bad signature, 403 for
//!   a valid signature by another account, 404 when this worker has no revealed output for the job.
//! - `GET /metrics`: Prometheus text format.
//! - `GET /health`: `{"finalized_block": …, "running": …}`.

use std::{net::SocketAddr, time::SystemTime};

use axum::{
	extract::{Path, State},
	http::{HeaderMap, HeaderValue, StatusCode},
	response::{IntoResponse, Response},
	routing::get,
	Router,
};
use tokio_util::sync::CancellationToken;

use crate::{
	auth::{self, AuthError},
	metrics::Metrics,
	seal,
	store::{Stage, Store},
};

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
	pub store: Store,
	pub metrics: Metrics,
}

/// The router.
pub fn router(state: ServerState) -> Router {
	Router::new()
		.route("/jobs/{job}/output", get(output))
		.route("/metrics", get(metrics))
		.route("/health", get(health))
		.with_state(state)
}

/// Binds `listen` and serves until `cancel` fires. Returns the bound address (for port 0).
pub async fn serve(
	listen: SocketAddr,
	state: ServerState,
	cancel: CancellationToken,
	tracker: &tokio_util::task::TaskTracker,
) -> std::io::Result<SocketAddr> {
	let listener = tokio::net::TcpListener::bind(listen).await?;
	let bound = listener.local_addr()?;
	let app = router(state);
	tracker.spawn(async move {
		let shutdown = async move { cancel.cancelled().await };
		if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
			tracing::error!("result server stopped: {e}");
		}
	});
	Ok(bound)
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
	let signed =
		match auth::verify(job, now_ms(), |name| headers.get(name).and_then(|v| v.to_str().ok())) {
			Ok(signed) => signed,
			Err(e) => return refuse(StatusCode::UNAUTHORIZED, format!("{e}\n")),
		};
	let records = state.store.of_job(job);
	let Some(record) = records
		.iter()
		.find(|r| r.digest.is_some() && matches!(r.stage, Stage::Revealed | Stage::Finished))
	else {
		state.metrics.downloads.with_label_values(&["missing"]).inc();
		return (
			StatusCode::NOT_FOUND,
			format!("this worker has no revealed output for job {job}\n"),
		)
			.into_response();
	};
	if record.requester != signed.account {
		return refuse(StatusCode::FORBIDDEN, format!("{}\n", AuthError::NotRequester));
	}
	let key = (record.job, record.replica);
	match state.store.output(key) {
		Ok(bytes) => {
			let digest = format!("0x{}", hex::encode(record.digest.unwrap_or_default()));
			let mut headers = HeaderMap::new();
			headers.insert("content-type", HeaderValue::from_static("application/octet-stream"));
			if let Ok(value) = HeaderValue::from_str(&digest) {
				headers.insert("x-stratus-digest", value);
			}
			let body = match signed.box_key {
				None => bytes,
				Some(key) => match seal::seal(&bytes, key) {
					Some(sealed) => {
						headers.insert(
							seal::ENCRYPTION_HEADER,
							HeaderValue::from_static(seal::SCHEME),
						);
						sealed
					},
					None => {
						return (StatusCode::INTERNAL_SERVER_ERROR, "encryption failed\n")
							.into_response()
					},
				},
			};
			state.metrics.downloads.with_label_values(&["served"]).inc();
			(StatusCode::OK, headers, body).into_response()
		},
		Err(e) => {
			state.metrics.downloads.with_label_values(&["missing"]).inc();
			(StatusCode::NOT_FOUND, format!("the output of job {job} is gone: {e}\n"))
				.into_response()
		},
	}
}

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

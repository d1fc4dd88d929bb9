//! Sending transactions: sign one call, submit it, follow it into a block, and say how it ended —
//! with a failed call's error named and explained from the runtime's own documentation (the
//! metadata carries every error's doc comment).

use std::time::Duration;

use subxt::{
	config::DefaultExtrinsicParamsBuilder,
	error::{DispatchError, TransactionEventsError},
	extrinsics::ExtrinsicEvents,
	transactions::{Payload, TransactionStatus},
};

use crate::{chain::timed, AccountId, Connection, Keypair, StratusConfig};

/// How long a submitted transaction may take to reach a block.
pub const INCLUSION_TIMEOUT: Duration = Duration::from_secs(90);

/// The events a transaction emitted.
pub type Events = ExtrinsicEvents<StratusConfig>;

/// How a transaction failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TxError {
	/// It was included and failed: the runtime's error, with its documentation.
	#[error("{0}")]
	Dispatch(String),
	/// The node did not answer, or did not say the transaction was included in time.
	#[error("not included: {0}")]
	NotIncluded(String),
	/// The pool refused it or dropped it (its nonce may be taken or skipped: ask the pool for
	/// the next one).
	#[error("not included: {0}")]
	LeftThePool(String),
	/// The program sending it is shutting down.
	#[error("shutting down")]
	ShuttingDown,
}

impl TxError {
	/// Whether the pool refused or dropped the transaction.
	pub fn left_the_pool(&self) -> bool {
		matches!(self, TxError::LeftThePool(_))
	}

	/// Whether it was never included (sending it again may help); a dispatch error is final.
	pub fn not_included(&self) -> bool {
		matches!(self, TxError::NotIncluded(_) | TxError::LeftThePool(_))
	}
}

/// When a transaction counts as done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
	/// In a best block (a daemon that follows finality itself).
	InBlock,
	/// In a finalized block (one-shot commands, whose effects the user reads next).
	Finalized,
}

/// A submitted transaction's progress, as the node reports it.
pub type Progress = subxt::transactions::TransactionProgress<
	StratusConfig,
	subxt::client::OnlineClientAtBlockImpl<StratusConfig>,
>;

/// Signs `call` with `key` and submits it with the nonce the node's pool reports for the key's
/// account (never below `next_nonce`), then follows it until `wait` says it is done. On return
/// `next_nonce` is the nonce to use next, or 0 when the pool refused or dropped the transaction
/// (ask the pool again). Returns the transaction's events.
pub async fn submit<Call: Payload>(
	conn: &Connection,
	key: &Keypair,
	call: &Call,
	next_nonce: &mut u64,
	wait: Wait,
) -> Result<Events, TxError> {
	let progress = send(conn, key, call, next_nonce, None).await?;
	let result = follow(progress, wait, INCLUSION_TIMEOUT).await;
	if result.as_ref().is_err_and(TxError::left_the_pool) {
		*next_nonce = 0;
	}
	result
}

/// Signs `call` with `key` and submits it with the nonce the node's pool reports for the key's
/// account (never below `next_nonce`, which becomes the nonce after it), without waiting for a
/// block: [`follow`] its progress. Several may be in flight at once, each with its own nonce.
///
/// Mortal from `anchor` (number and hash) when given: a block of the best chain whose state the
/// call answers, so that a reorg that retracts it makes the transaction invalid (signed for
/// that block's runtime); otherwise from the latest finalized block.
pub async fn send<Call: Payload>(
	conn: &Connection,
	key: &Keypair,
	call: &Call,
	next_nonce: &mut u64,
	anchor: Option<(u64, subxt::utils::H256)>,
) -> Result<Progress, TxError> {
	let account: AccountId = crate::account_of(key);
	let not_included = |e: crate::chain::ChainError| TxError::NotIncluded(e.to_string());
	let pool_nonce = timed(conn.next_nonce(&account)).await.map_err(not_included)?;
	let nonce = pool_nonce.max(*next_nonce);
	// Mortal from the latest finalized block (no reorg can retract it), and signed for the
	// runtime of the best block, the one the pool checks it against: right after a runtime
	// upgrade the finalized block still has the old runtime, and a signature over the old
	// spec_version is refused as a bad signature until finality catches up.
	let at_hash = |hash| async move {
		timed(conn.client.at_block(subxt::backend::BlockRef::from_hash(hash)))
			.await
			.map_err(not_included)
	};
	// Signed for the best block's runtime in either case (the one the pool checks it against,
	// new right after an upgrade even where the anchor is older).
	let finalized = timed(conn.client.at_current_block()).await.map_err(not_included)?;
	let birth = anchor.unwrap_or((finalized.block_number(), finalized.block_hash()));
	let best = timed(conn.legacy().chain_get_block_hash(None)).await.map_err(not_included)?;
	let at = match best {
		Some(best) if best != finalized.block_hash() => at_hash(best).await?,
		_ => finalized,
	};
	let params = DefaultExtrinsicParamsBuilder::<StratusConfig>::new()
		.nonce(nonce)
		.mortal_from_unchecked(64, birth.0, birth.1)
		.build();
	let mut transactions = at.transactions();
	let progress = timed(transactions.sign_and_submit_then_watch(call, key, params))
		.await
		.map_err(not_included)?;
	*next_nonce = nonce.saturating_add(1);
	Ok(progress)
}

/// Follows a submitted transaction until `wait` says it is done (or `timeout` passes); returns
/// its events, or how it failed.
pub async fn follow(
	mut progress: Progress,
	wait: Wait,
	timeout: Duration,
) -> Result<Events, TxError> {
	let deadline = tokio::time::Instant::now()
		.checked_add(timeout)
		.ok_or_else(|| TxError::NotIncluded("clock overflow".into()))?;
	loop {
		let status = match tokio::time::timeout_at(deadline, progress.next()).await {
			Err(_) => {
				return Err(TxError::NotIncluded(format!(
					"not in a block after {} s",
					timeout.as_secs()
				)))
			},
			Ok(None) => {
				return Err(TxError::NotIncluded("the node closed the subscription".into()))
			},
			Ok(Some(Err(e))) => return Err(TxError::NotIncluded(e.to_string())),
			Ok(Some(Ok(status))) => status,
		};
		let in_block = match status {
			TransactionStatus::InBestBlock(in_block) if wait == Wait::InBlock => in_block,
			TransactionStatus::InFinalizedBlock(in_block) => in_block,
			TransactionStatus::Error { message }
			| TransactionStatus::Invalid { message }
			| TransactionStatus::Dropped { message } => {
				return Err(TxError::LeftThePool(message));
			},
			_ => continue,
		};
		return match tokio::time::timeout(
			crate::chain::REQUEST_TIMEOUT,
			in_block.wait_for_success(),
		)
		.await
		{
			Ok(Ok(events)) => Ok(events),
			Ok(Err(TransactionEventsError::ExtrinsicFailed(e))) => {
				Err(TxError::Dispatch(explain(&e)))
			},
			Ok(Err(e)) => Err(TxError::Dispatch(e.to_string())),
			Err(_) => Err(TxError::NotIncluded(format!(
				"its block's events did not arrive within {} s",
				crate::chain::REQUEST_TIMEOUT.as_secs()
			))),
		};
	}
}

/// A dispatch error in words: `Pallet::Error: its documentation` for a pallet's error, subxt's
/// description for the rest.
pub fn explain(error: &DispatchError) -> String {
	if let DispatchError::Module(module) = error {
		if let Ok(details) = module.details() {
			let docs = details.variant.docs.join(" ");
			let docs = docs.split_whitespace().collect::<Vec<_>>().join(" ");
			let name = format!("{}::{}", details.pallet.name(), details.variant.name);
			return if docs.is_empty() { name } else { format!("{name}: {docs}") };
		}
	}
	error.to_string()
}

//! Governance for voters: the parameters a referendum may change (and how their values are
//! written), the calls a proposal dispatches, and reads of the tracks and referenda.
//!
//! A proposal is a call plus the origin it is dispatched with, which picks its track: Root for
//! upgrades, `MarketAdmin` for the market's and reputation's parameters, `StakingAdmin` for the
//! providers' stake, `SlashCanceller` for cancelling a pending slash (`docs/governance.md`).

use crate::{
	amount::Amount,
	chain::{fetch, timed, AtBlock, ChainError},
	runtime::{
		self as rt,
		runtime_types::{
			frame_support::traits::{preimages::Bounded, schedule::DispatchTime},
			pallet_conviction_voting::{conviction::Conviction, vote::AccountVote, vote::Vote},
			pallet_governance::pallet::Origin as TrackOrigin,
			sp_arithmetic::per_things::Perbill,
			stratus_runtime::{
				configs::parameters::{dynamic_params as dp, RuntimeParameters},
				OriginCaller, RuntimeCall,
			},
		},
	},
};

/// How a parameter's value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
	/// A share: `2.5%` (up to seven decimals of a percent: Perbill).
	Percent,
	/// An amount of STRAT: `0.01` or `10`.
	Amount,
	/// A number of blocks (3 s each).
	Blocks,
}

/// A parameter's value as `stratus gov` parsed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
	/// Parts per billion.
	Percent(u32),
	/// Planck.
	Amount(u128),
	/// Blocks.
	Blocks(u32),
}

impl Value {
	fn percent(v: Option<Self>) -> Option<Perbill> {
		match v {
			Some(Value::Percent(p)) => Some(Perbill(p)),
			_ => None,
		}
	}

	fn amount(v: Option<Self>) -> Option<u128> {
		match v {
			Some(Value::Amount(a)) => Some(a),
			_ => None,
		}
	}

	fn blocks(v: Option<Self>) -> Option<u32> {
		match v {
			Some(Value::Blocks(b)) => Some(b),
			_ => None,
		}
	}
}

/// A parameter a referendum may change.
#[derive(Clone, Copy, Debug)]
pub struct ParameterSpec {
	/// Its name as `stratus gov` takes it: `group.Name`.
	pub name: &'static str,
	/// How its value is written.
	pub kind: ValueKind,
	/// The track that may change it.
	pub track: &'static str,
	/// Its key with a value (`None`: back to the default), as `Governance::set_parameter` takes it.
	build: fn(Option<Value>) -> RuntimeParameters,
}

use dp::{market as m, provider_staking as s, reputation as r};

/// Every parameter in the runtime's `dynamic_params` (`runtime/src/configs/parameters.rs`); a
/// test checks the two lists agree.
pub const PARAMETERS: &[ParameterSpec] = &[
	ParameterSpec {
		name: "market.ProtocolFee",
		kind: ValueKind::Percent,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Market(m::Parameters::ProtocolFee(m::ProtocolFee, Value::percent(v)))
		},
	},
	ParameterSpec {
		name: "market.ReplicatedSpotCheck",
		kind: ValueKind::Percent,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Market(m::Parameters::ReplicatedSpotCheck(
				m::ReplicatedSpotCheck,
				Value::percent(v),
			))
		},
	},
	ParameterSpec {
		name: "market.MinJobValue",
		kind: ValueKind::Amount,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Market(m::Parameters::MinJobValue(m::MinJobValue, Value::amount(v)))
		},
	},
	ParameterSpec {
		name: "market.JobDeposit",
		kind: ValueKind::Amount,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Market(m::Parameters::JobDeposit(m::JobDeposit, Value::amount(v)))
		},
	},
	ParameterSpec {
		name: "market.ProgramDepositBase",
		kind: ValueKind::Amount,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Market(m::Parameters::ProgramDepositBase(
				m::ProgramDepositBase,
				Value::amount(v),
			))
		},
	},
	ParameterSpec {
		name: "market.ProgramDepositPerByte",
		kind: ValueKind::Amount,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Market(m::Parameters::ProgramDepositPerByte(
				m::ProgramDepositPerByte,
				Value::amount(v),
			))
		},
	},
	ParameterSpec {
		name: "market.AckWindow",
		kind: ValueKind::Blocks,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Market(m::Parameters::AckWindow(m::AckWindow, Value::blocks(v)))
		},
	},
	ParameterSpec {
		name: "market.RecordRetention",
		kind: ValueKind::Blocks,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Market(m::Parameters::RecordRetention(
				m::RecordRetention,
				Value::blocks(v),
			))
		},
	},
	ParameterSpec {
		name: "reputation.DecayKeep",
		kind: ValueKind::Percent,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Reputation(r::Parameters::DecayKeep(r::DecayKeep, Value::percent(v)))
		},
	},
	ParameterSpec {
		name: "reputation.TrustThreshold",
		kind: ValueKind::Percent,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Reputation(r::Parameters::TrustThreshold(
				r::TrustThreshold,
				Value::percent(v),
			))
		},
	},
	ParameterSpec {
		name: "reputation.SpotCheckFloor",
		kind: ValueKind::Percent,
		track: "market_admin",
		build: |v| {
			RuntimeParameters::Reputation(r::Parameters::SpotCheckFloor(
				r::SpotCheckFloor,
				Value::percent(v),
			))
		},
	},
	ParameterSpec {
		name: "provider_staking.MinStakePerSlot",
		kind: ValueKind::Amount,
		track: "staking_admin",
		build: |v| {
			RuntimeParameters::ProviderStaking(s::Parameters::MinStakePerSlot(
				s::MinStakePerSlot,
				Value::amount(v),
			))
		},
	},
];

/// Parses a share: `2%`, `2.5%`, `0.0000001%` (Perbill: parts per billion).
pub fn parse_percent(text: &str) -> Result<u32, String> {
	let number = text.trim().strip_suffix('%').ok_or_else(|| {
		format!("`{text}` is not a percentage: write it with a % sign, like 2.5%")
	})?;
	let decimal = crate::amount::unsigned_decimal(number.trim())
		.ok_or_else(|| format!("`{text}` is not a percentage: write it like 2.5%"))?;
	if decimal.scale() > 7 {
		return Err(format!(
			"`{text}` has more than seven decimals: a share is counted in billionths"
		));
	}
	// Parts per billion: one percent is 10^7.
	let parts = decimal
		.checked_mul(rust_decimal::Decimal::from(10_000_000u32))
		.and_then(|p| rust_decimal::prelude::ToPrimitive::to_u32(&p))
		.filter(|p| *p <= 1_000_000_000)
		.ok_or_else(|| format!("`{text}` is more than 100%"))?;
	Ok(parts)
}

/// Parses an amount that names its unit (`"20 STRAT"`, `"1000 planck"`): in a vote or a
/// proposal a bare number would be planck, and a vote on 20 planck of stake is a vote lost.
pub fn parse_amount(text: &str) -> Result<u128, String> {
	let t = text.trim();
	if !t.ends_with(stratus_primitives::TOKEN_SYMBOL) && !t.ends_with("planck") {
		return Err(format!("`{text}` has no unit: write it like \"20 STRAT\""));
	}
	Ok(Amount::parse(t)?.0)
}

/// The spec of the parameter `name` (`group.Name`), or an error listing the names.
pub fn parameter(name: &str) -> Result<ParameterSpec, String> {
	PARAMETERS.iter().find(|p| p.name.eq_ignore_ascii_case(name)).copied().ok_or_else(|| {
		let names: Vec<_> = PARAMETERS.iter().map(|p| p.name).collect();
		format!("no parameter `{name}`; the parameters are: {}", names.join(", "))
	})
}

fn parse_value(spec: &ParameterSpec, text: &str) -> Result<Value, String> {
	let bad = |e: String| format!("{}: {e}", spec.name);
	Ok(match spec.kind {
		ValueKind::Percent => Value::Percent(parse_percent(text).map_err(bad)?),
		ValueKind::Amount => Value::Amount(parse_amount(text).map_err(bad)?),
		ValueKind::Blocks => Value::Blocks(text.trim().parse().map_err(|_| {
			bad(format!("`{text}` is not a number of blocks (a whole number; 20 blocks a minute)"))
		})?),
	})
}

/// The `Governance::set_parameter` call's argument setting `name` to `value` (or back to its
/// default with `None`), and the origin (track) that may dispatch it. The value's bounds are the
/// runtime's: ask with [`check_parameter`] before proposing.
pub fn set_parameter_call(
	name: &str,
	value: Option<&str>,
) -> Result<(RuntimeParameters, OriginCaller), String> {
	let spec = parameter(name)?;
	let value = value.map(|v| parse_value(&spec, v)).transpose()?;
	let origin = match spec.track {
		"staking_admin" => TrackOrigin::StakingAdmin,
		_ => TrackOrigin::MarketAdmin,
	};
	Ok(((spec.build)(value), OriginCaller::Governance(origin)))
}

/// The origin of a Root referendum (runtime upgrades): a Root referendum authorizes the code's
/// blake2-256 hash (`System::authorize_upgrade`); once it is enacted anyone applies the upgrade
/// with `System::apply_authorized_upgrade(code)`.
pub fn root() -> OriginCaller {
	OriginCaller::system(rt::runtime_types::frame_support::dispatch::RawOrigin::Root)
}

/// The origin of a `slash_canceller` referendum.
pub fn slash_canceller() -> OriginCaller {
	OriginCaller::Governance(TrackOrigin::SlashCanceller)
}

/// A proposal's preimage hash, and the proposal by hash and length (what `Referenda::submit`
/// takes).
pub fn lookup(
	call_data: &[u8],
) -> (subxt::utils::H256, Bounded<RuntimeCall, rt::runtime_types::sp_runtime::traits::BlakeTwo256>)
{
	let hash = subxt::utils::H256(crate::blake2_256(call_data));
	(hash, Bounded::Lookup { hash, len: u32::try_from(call_data.len()).unwrap_or(u32::MAX) })
}

/// Enacted as soon as its track allows (the track's minimum enactment period).
pub fn as_soon_as_allowed() -> DispatchTime<u32> {
	DispatchTime::After(0)
}

/// A conviction: 0 (0.1× the votes, no lock) to 6 (6×, locked 32 lock periods).
pub fn conviction(level: u8) -> Result<Conviction, String> {
	Ok(match level {
		0 => Conviction::None,
		1 => Conviction::Locked1x,
		2 => Conviction::Locked2x,
		3 => Conviction::Locked3x,
		4 => Conviction::Locked4x,
		5 => Conviction::Locked5x,
		6 => Conviction::Locked6x,
		other => return Err(format!("conviction {other} does not exist: give 0 to 6")),
	})
}

/// A standard vote: aye or nay, with `balance` at `conviction` (0–6).
pub fn standard_vote(
	aye: bool,
	conviction: u8,
	balance: u128,
) -> Result<AccountVote<u128>, String> {
	if conviction > 6 {
		return Err(format!("conviction {conviction} does not exist: give 0 to 6"));
	}
	let byte = if aye { 0x80 | conviction } else { conviction };
	Ok(AccountVote::Standard { vote: Vote(byte), balance })
}

/// Planck as a decimal string (JSON numbers lose precision past 2^53).
fn planck<S: serde::Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
	s.collect_str(v)
}

fn planck_opt<S: serde::Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
	match v {
		Some(v) => s.collect_str(v),
		None => s.serialize_none(),
	}
}

/// A referendum track, as the chain describes it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackView {
	pub id: u16,
	pub name: String,
	pub max_deciding: u32,
	#[serde(serialize_with = "planck")]
	pub decision_deposit: u128,
	pub prepare_period: u32,
	pub decision_period: u32,
	pub confirm_period: u32,
	pub min_enactment_period: u32,
}

/// The tracks of the chain at `at`.
pub fn tracks(at: &AtBlock) -> Result<Vec<TrackView>, ChainError> {
	let tracks = at
		.constants()
		.entry(rt::constants().referenda().tracks())
		.map_err(|e| ChainError::Request(e.to_string()))?;
	Ok(tracks
		.into_iter()
		.map(|(id, info)| TrackView {
			id,
			name: info.name.trim_end_matches('\0').to_owned(),
			max_deciding: info.max_deciding,
			decision_deposit: info.decision_deposit,
			prepare_period: info.prepare_period,
			decision_period: info.decision_period,
			confirm_period: info.confirm_period,
			min_enactment_period: info.min_enactment_period,
		})
		.collect())
}

/// A referendum, ongoing or decided.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferendumView {
	pub index: u32,
	/// `ongoing`, `approved`, `rejected`, `cancelled`, `timedOut` or `killed`.
	pub state: &'static str,
	/// Its track's id (ongoing referenda only).
	pub track: Option<u16>,
	/// `preparing`, `deciding`, `confirming` (ongoing referenda only).
	pub phase: Option<&'static str>,
	/// Whether its decision deposit is placed (ongoing referenda only).
	pub decision_deposit_placed: Option<bool>,
	#[serde(serialize_with = "planck_opt")]
	pub ayes: Option<u128>,
	#[serde(serialize_with = "planck_opt")]
	pub nays: Option<u128>,
	#[serde(serialize_with = "planck_opt")]
	pub support: Option<u128>,
	/// The block it was submitted in (ongoing) or ended in (decided).
	pub since: u32,
	/// Its proposal's hash (ongoing referenda only).
	pub proposal: Option<String>,
}

/// Every referendum the chain holds at `at`, newest first.
pub async fn referenda(at: &AtBlock) -> Result<Vec<ReferendumView>, ChainError> {
	use rt::runtime_types::pallet_referenda::types::ReferendumInfo as Info;
	let addr = rt::storage().referenda().referendum_info_for();
	let entries = crate::chain::entries(at, addr).await?;
	let mut out: Vec<ReferendumView> = entries
		.into_iter()
		.map(|((index,), info)| {
			let decided = |state, since| ReferendumView {
				index,
				state,
				track: None,
				phase: None,
				decision_deposit_placed: None,
				ayes: None,
				nays: None,
				support: None,
				since,
				proposal: None,
			};
			match info {
				Info::Ongoing(status) => ReferendumView {
					index,
					state: "ongoing",
					track: Some(status.track),
					phase: Some(match &status.deciding {
						None => "preparing",
						Some(d) if d.confirming.is_some() => "confirming",
						Some(_) => "deciding",
					}),
					decision_deposit_placed: Some(status.decision_deposit.is_some()),
					ayes: Some(status.tally.ayes),
					nays: Some(status.tally.nays),
					support: Some(status.tally.support),
					since: status.submitted,
					proposal: Some(match status.proposal {
						Bounded::Lookup { hash, .. } | Bounded::Legacy { hash } => {
							format!("0x{}", hex::encode(hash.0))
						},
						Bounded::Inline(bytes) => format!("inline 0x{}", hex::encode(bytes.0)),
						Bounded::__Ignore(_) => String::new(),
					}),
				},
				Info::Approved(since, ..) => decided("approved", since),
				Info::Rejected(since, ..) => decided("rejected", since),
				Info::Cancelled(since, ..) => decided("cancelled", since),
				Info::TimedOut(since, ..) => decided("timedOut", since),
				Info::Killed(since) => decided("killed", since),
			}
		})
		.collect();
	out.sort_unstable_by_key(|r| std::cmp::Reverse(r.index));
	Ok(out)
}

/// Whether the runtime would set `key_value` (`Governance::check_parameter`): `None` when its
/// value lies inside the parameter's bounds, else why not.
///
/// Called through the `RuntimeViewFunction` runtime API by hand: subxt 0.50's view-function
/// call sends the arguments without the length prefix of the API's `input: Vec<u8>`, so the
/// runtime cannot decode them (it answers `Err(Codec)`, which subxt then misreads).
pub async fn check_parameter(
	at: &AtBlock,
	key_value: RuntimeParameters,
) -> Result<Option<ParameterRefusal>, ChainError> {
	use subxt::ext::codec::{Compact, Encode};
	let request = |e: String| ChainError::Request(e);
	let payload = rt::view_functions().governance().check_parameter(key_value);
	let functions = at.view_functions();
	let args = functions.encode_args(&payload).map_err(|e| request(e.to_string()))?;
	let (id, input) = args.split_at_checked(32).ok_or_else(|| request("short view call".into()))?;
	let mut call = id.to_vec();
	Compact(u32::try_from(input.len()).unwrap_or(u32::MAX)).encode_to(&mut call);
	call.extend_from_slice(input);
	let raw = timed(functions.call_raw(Some(&call))).await?;
	// Result<Vec<u8>, ViewFunctionDispatchError>, the Vec holding an Option<Refusal>.
	let Ok(Ok(answer)) = <Result<Vec<u8>, ()> as subxt::ext::codec::Decode>::decode(&mut &raw[..])
	else {
		return Err(request(format!("the chain refused the view call: 0x{}", hex::encode(&raw))));
	};
	match answer.as_slice() {
		[0] => Ok(None),
		[1, 0] => Ok(Some(ParameterRefusal::BelowMinimum)),
		[1, 1] => Ok(Some(ParameterRefusal::AboveMaximum)),
		other => Err(request(format!("unexpected answer 0x{}", hex::encode(other)))),
	}
}

/// Why the runtime would refuse a parameter's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParameterRefusal {
	/// Below the parameter's safe minimum.
	BelowMinimum,
	/// Above the parameter's safe maximum.
	AboveMaximum,
}

/// The track on which `who` voted on referendum `index`, if it did (removing a vote from a
/// decided referendum must name it).
pub async fn vote_class(
	at: &AtBlock,
	who: &crate::AccountId,
	index: u32,
) -> Result<Option<u16>, ChainError> {
	use rt::runtime_types::pallet_conviction_voting::vote::Voting;
	for track in tracks(at)? {
		let addr = rt::storage().conviction_voting().voting_for();
		if let Some(Voting::Casting(casting)) = fetch(at, addr, (*who, track.id)).await? {
			if casting.votes.0.iter().any(|(i, _)| *i == index) {
				return Ok(Some(track.id));
			}
		}
	}
	Ok(None)
}

/// The tracks on which `who` has votes or delegations still locking funds.
pub async fn locked_classes(
	at: &AtBlock,
	who: &crate::AccountId,
) -> Result<Vec<(u16, u128)>, ChainError> {
	let addr = rt::storage().conviction_voting().class_locks_for();
	Ok(fetch(at, addr, (*who,)).await?.map(|l| l.0).unwrap_or_default())
}

/// Referendum `index` (`None`: there is none).
pub async fn referendum(at: &AtBlock, index: u32) -> Result<Option<ReferendumInfo>, ChainError> {
	fetch(at, rt::storage().referenda().referendum_info_for(), (index,)).await
}

/// A referendum as the chain stores it.
pub type ReferendumInfo = rt::referenda::storage::referendum_info_for::Output;

/// Whether the chain holds (or awaits) the preimage with `hash`.
pub async fn preimage_noted(at: &AtBlock, hash: subxt::utils::H256) -> Result<bool, ChainError> {
	Ok(fetch(at, rt::storage().preimage().request_status_for(), (hash,)).await?.is_some())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn percentages_are_parts_per_billion_and_refuse_what_is_not_one() {
		assert_eq!(parse_percent("2%"), Ok(20_000_000));
		assert_eq!(parse_percent("2.5%"), Ok(25_000_000));
		assert_eq!(parse_percent("100%"), Ok(1_000_000_000));
		assert_eq!(parse_percent("0.0000001%"), Ok(1));
		assert!(parse_percent("2").unwrap_err().contains("% sign"));
		assert!(parse_percent("101%").unwrap_err().contains("more than 100%"));
		assert!(parse_percent("0.00000001%").unwrap_err().contains("seven decimals"));
		assert!(parse_percent("-1%").is_err());
		assert!(parse_percent("x%").is_err());
	}

	#[test]
	fn a_parameter_change_names_its_track_and_refuses_a_value_of_the_wrong_kind() {
		let (_, origin) = set_parameter_call("market.ProtocolFee", Some("3%")).unwrap();
		assert!(matches!(origin, OriginCaller::Governance(TrackOrigin::MarketAdmin)));
		let (_, origin) =
			set_parameter_call("provider_staking.MinStakePerSlot", Some("20 STRAT")).unwrap();
		let err = set_parameter_call("provider_staking.MinStakePerSlot", Some("20")).unwrap_err();
		assert!(err.contains("no unit"), "{err}");
		assert!(matches!(origin, OriginCaller::Governance(TrackOrigin::StakingAdmin)));
		// Names are matched without case; a reset takes no value.
		assert!(set_parameter_call("market.protocolfee", None).is_ok());
		let err = set_parameter_call("market.ProtocolFee", Some("3")).unwrap_err();
		assert!(err.contains("market.ProtocolFee") && err.contains("% sign"), "{err}");
		let err = set_parameter_call("market.AckWindow", Some("1.5")).unwrap_err();
		assert!(err.contains("number of blocks"), "{err}");
		let err = set_parameter_call("market.Fee", Some("3%")).unwrap_err();
		assert!(err.contains("market.ProtocolFee"), "lists the names: {err}");
	}

	/// `PARAMETERS` names every parameter of the runtime's `RuntimeParameters`, as the committed
	/// metadata describes it, and no other.
	#[test]
	fn the_parameter_list_is_the_runtimes() {
		use scale_info::TypeDef;
		use subxt::ext::{
			codec::Decode,
			frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed},
		};
		let bytes = include_bytes!("../metadata/stratus.scale");
		let prefixed = RuntimeMetadataPrefixed::decode(&mut &bytes[..]).unwrap();
		let RuntimeMetadata::V16(metadata) = prefixed.1 else { panic!("metadata v16") };
		let types = &metadata.types;
		let variants = |ty: &scale_info::Type<scale_info::form::PortableForm>| match &ty.type_def {
			TypeDef::Variant(v) => v.variants.clone(),
			_ => panic!("{:?} is an enum", ty.path),
		};
		let runtime_parameters = types
			.types
			.iter()
			.find(|t| t.ty.path.segments.last().is_some_and(|s| s == "RuntimeParameters"))
			.expect("the metadata has RuntimeParameters");
		let mut names = Vec::new();
		for group in variants(&runtime_parameters.ty) {
			let inner = types.resolve(group.fields[0].ty.id).unwrap();
			let module = inner.path.segments[inner.path.segments.len() - 2].clone();
			for param in variants(inner) {
				names.push(format!("{module}.{}", param.name));
			}
		}
		let mut ours: Vec<_> = PARAMETERS.iter().map(|p| p.name.to_owned()).collect();
		names.sort();
		ours.sort();
		assert_eq!(names, ours);
	}

	#[test]
	fn votes_carry_their_side_and_conviction_in_one_byte() {
		assert!(matches!(
			standard_vote(true, 1, 5).unwrap(),
			AccountVote::Standard { vote: Vote(0x81), balance: 5 }
		));
		assert!(matches!(
			standard_vote(false, 0, 5).unwrap(),
			AccountVote::Standard { vote: Vote(0), balance: 5 }
		));
		assert!(standard_vote(true, 7, 5).is_err());
		assert!(conviction(7).is_err());
	}
}

//! Amounts of STRAT as people write them: `"100 STRAT"`, `"0.5 STRAT"`, `"1000 planck"`.

use rust_decimal::{prelude::ToPrimitive, Decimal};
use serde::{Deserialize, Serialize};
use stratus_primitives::{PLANCK_PER_STRAT, TOKEN_DECIMALS, TOKEN_SYMBOL};

/// An amount of STRAT, held in planck. Written in the config as `"100 STRAT"`, `"0.5 STRAT"`,
/// `"1000 planck"` or a plain number of planck (TOML integers stop at 2^63, so large amounts are
/// strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Amount(pub u128);

impl Amount {
	/// Parses `"<number> STRAT"` (at most 12 decimals), `"<integer> planck"` or `"<integer>"`
	/// (planck). No sign, exponent or stray character is accepted.
	pub fn parse(text: &str) -> Result<Self, String> {
		let text = text.trim();
		let bad =
			|| format!("{text:?} is not an amount: write e.g. \"100 STRAT\" or \"1000 planck\"");
		if let Some(number) = text.strip_suffix(TOKEN_SYMBOL).map(str::trim) {
			let strat = unsigned_decimal(number).ok_or_else(bad)?;
			if strat.scale() > u32::from(TOKEN_DECIMALS) {
				return Err(format!(
					"{text:?} has more than {TOKEN_DECIMALS} decimals: a planck is 10^-{TOKEN_DECIMALS} \
					 {TOKEN_SYMBOL}"
				));
			}
			return strat
				.checked_mul(Decimal::from(PLANCK_PER_STRAT))
				.and_then(|planck| planck.to_u128())
				.map(Amount)
				.ok_or_else(|| format!("{text:?} is too large an amount"));
		}
		let number = text.strip_suffix("planck").map(str::trim).unwrap_or(text);
		if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
			return Err(bad());
		}
		number.parse().map(Amount).map_err(|_| format!("{text:?} is too large an amount"))
	}
}

/// A decimal number written without sign or exponent (`"0.5"`, `"1_000.25"`), exactly
/// (`rust_decimal`: 28 significant digits); `None` for anything else.
pub fn unsigned_decimal(text: &str) -> Option<Decimal> {
	if text.starts_with(['+', '-']) || !text.bytes().any(|b| b.is_ascii_digit()) {
		return None;
	}
	Decimal::from_str_exact(text).ok().map(|d| d.normalize())
}

impl std::fmt::Display for Amount {
	/// Whole STRAT as `"5 STRAT"`, amounts from a millionth of a STRAT as decimals
	/// (`"0.00005 STRAT"`), smaller ones in planck (`"1500 planck"`); every form parses back.
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		let (whole, fraction) = (self.0 / PLANCK_PER_STRAT, self.0 % PLANCK_PER_STRAT);
		if fraction == 0 && whole > 0 {
			write!(f, "{whole} {TOKEN_SYMBOL}")
		} else if self.0 >= PLANCK_PER_STRAT / 1_000_000 {
			let digits = format!("{fraction:0width$}", width = usize::from(TOKEN_DECIMALS));
			write!(f, "{whole}.{} {TOKEN_SYMBOL}", digits.trim_end_matches('0'))
		} else {
			write!(f, "{} planck", self.0)
		}
	}
}

impl Serialize for Amount {
	fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
		serializer.serialize_str(&self.to_string())
	}
}

impl<'de> Deserialize<'de> for Amount {
	fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
		int_or_text(deserializer, |planck| Amount(u128::from(planck)), Amount::parse)
	}
}

/// Deserializes a value written either as a TOML/JSON integer (`from_int`) or as text (`parse`):
/// how amounts, sizes and times are written in Stratus's files.
pub fn int_or_text<'de, D: serde::Deserializer<'de>, T>(
	deserializer: D,
	from_int: impl FnOnce(u64) -> T,
	parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
	#[derive(Deserialize)]
	#[serde(untagged)]
	enum Raw {
		Int(u64),
		Text(String),
	}
	match Raw::deserialize(deserializer)? {
		Raw::Int(n) => Ok(from_int(n)),
		Raw::Text(text) => parse(&text).map_err(serde::de::Error::custom),
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
	use super::*;

	#[test]
	fn amounts_read_as_strat_or_planck() {
		assert_eq!(Amount::parse("100 STRAT"), Ok(Amount(100 * PLANCK_PER_STRAT)));
		assert_eq!(Amount::parse("0.5 STRAT"), Ok(Amount(PLANCK_PER_STRAT / 2)));
		assert_eq!(Amount::parse("1.000000000001 STRAT"), Ok(Amount(PLANCK_PER_STRAT + 1)));
		assert_eq!(Amount::parse("1000 planck"), Ok(Amount(1000)));
		assert_eq!(Amount::parse("42"), Ok(Amount(42)));
		assert_eq!(
			Amount::parse("1_000.5 STRAT"),
			Ok(Amount(1000 * PLANCK_PER_STRAT + PLANCK_PER_STRAT / 2))
		);
		assert_eq!(Amount::parse("2.500000000000 STRAT"), Ok(Amount(5 * PLANCK_PER_STRAT / 2)));
		for bad in [
			"",
			"STRAT",
			"1.0000000000001 STRAT",
			"-1",
			"ten",
			"1e3",
			"1.+5 STRAT",
			"+1 STRAT",
			"-1 STRAT",
			"1e3 STRAT",
			"1..2 STRAT",
			". STRAT",
			"+5 planck",
			"+5",
			"0x10",
			"1 2 STRAT",
			"1.5 planck",
			"١ STRAT",
		] {
			assert!(Amount::parse(bad).is_err(), "{bad:?}");
		}
		assert_eq!(Amount(5 * PLANCK_PER_STRAT).to_string(), "5 STRAT");
		assert_eq!(Amount(1500).to_string(), "1500 planck");
		assert_eq!(Amount(50_000_000).to_string(), "0.00005 STRAT");
		assert_eq!(Amount(PLANCK_PER_STRAT * 3 / 2).to_string(), "1.5 STRAT");
		for n in [1, 999_999, 1_000_000, 50_000_001, PLANCK_PER_STRAT * 7 + 1] {
			assert_eq!(Amount::parse(&Amount(n).to_string()), Ok(Amount(n)), "{n}");
		}
		// Integers in the file are planck.
		#[derive(Deserialize)]
		struct T {
			a: Amount,
		}
		assert_eq!(toml::from_str::<T>("a = 7").unwrap().a, Amount(7));
		// Past what a u128 of planck holds, or what 28 digits write: refused, not wrapped.
		assert!(Amount::parse("340282366920938463463374607431768211456 planck").is_err());
		assert!(Amount::parse("79228162514264337593543950335 STRAT").is_err());
		assert_eq!(Amount::parse(&format!("{} planck", u128::MAX)), Ok(Amount(u128::MAX)));
	}
}

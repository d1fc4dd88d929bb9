//! NaN canonicalisation where a NaN's bits can be seen, by rewriting the module before it is
//! compiled.
//!
//! WebAssembly leaves one thing about floats to the CPU: the sign and payload of a NaN that an
//! arithmetic instruction produces. Those bits are invisible to float code — every comparison,
//! conversion and arithmetic result is the same whatever they are — and become visible only when a
//! float turns into bits: stored to memory (`f32.store`, `f64.store`), reinterpreted as an integer
//! (`i32.reinterpret_f32`, `i64.reinterpret_f64`), put in a vector (`f32x4.splat`,
//! `f64x2.splat`, `…replace_lane`), whose bits any integer lane instruction can read, or its sign
//! given to a number (`copysign`'s second operand). docs/job-abi.md ("NaNs") goes through the
//! instruction set class by class. So the
//! rewrite canonicalises the scalar at those points only: a NaN there becomes the canonical NaN
//! (`0x7fc00000`, `0x7ff8000000000000`: positive, quiet, zero payload) and every other value passes
//! unchanged. A vector has no type of its own, so the float lane instructions that can produce a
//! NaN (arithmetic, square root, rounding, min/max, promote/demote) are canonicalised lane by lane
//! where they produce it.
//!
//! Cranelift's own NaN canonicalisation (`Config::cranelift_nan_canonicalization`) does this after
//! every float instruction, which lengthens every chain of dependent float operations by a compare
//! and a blend: 5× slower than native on a Mandelbrot kernel, against ~1.6× with this rewrite
//! (docs/performance.md). The rule the program sees is in docs/job-abi.md ("Determinism").
//!
//! Each function gets three extra locals (`f32`, `f64`, `v128`) to hold the value being checked.

use super::rewrite::{rewrite, track_locals, Locals};
use wasm_encoder::{
	reencode::{Error, Reencode},
	CodeSection, Function, Ieee32, Ieee64, Instruction, ValType,
};
use wasmparser::{FunctionBody, Operator};

/// The canonical NaNs.
const CANONICAL_F32: u32 = 0x7fc0_0000;
const CANONICAL_F64: u64 = 0x7ff8_0000_0000_0000;

/// The module with NaNs canonicalised wherever their bits can be seen. An error is a module
/// that does not parse.
pub fn canonicalise(program: &[u8]) -> Result<Vec<u8>, String> {
	rewrite(&mut Rewriter::default(), program)
}

/// Collects, as the sections go by, what the function bodies need: where their own locals end.
#[derive(Default)]
struct Rewriter {
	locals: Locals,
}

/// What a rewritten instruction needs around it.
enum Check {
	/// Canonicalise the `f32` on top of the stack before the instruction.
	F32Before,
	/// Canonicalise the `f64` on top of the stack before the instruction.
	F64Before,
	/// Canonicalise the `f32x4` the instruction leaves on the stack.
	F32x4After,
	/// Canonicalise the `f64x2` the instruction leaves on the stack.
	F64x2After,
}

fn check(op: &Operator<'_>) -> Option<Check> {
	use Operator::*;
	Some(match op {
		// `copysign(x, y)` gives `x` the sign of `y`, the value on top of the stack: a NaN's sign
		// bit would reach a number, and every comparison after it.
		F32Store { .. }
		| I32ReinterpretF32
		| F32x4Splat
		| F32x4ReplaceLane { .. }
		| F32Copysign => Check::F32Before,
		F64Store { .. }
		| I64ReinterpretF64
		| F64x2Splat
		| F64x2ReplaceLane { .. }
		| F64Copysign => Check::F64Before,
		F32x4Add | F32x4Sub | F32x4Mul | F32x4Div | F32x4Sqrt | F32x4Min | F32x4Max | F32x4PMin
		| F32x4PMax | F32x4Ceil | F32x4Floor | F32x4Trunc | F32x4Nearest | F32x4DemoteF64x2Zero => {
			Check::F32x4After
		},
		F64x2Add | F64x2Sub | F64x2Mul | F64x2Div | F64x2Sqrt | F64x2Min | F64x2Max | F64x2PMin
		| F64x2PMax | F64x2Ceil | F64x2Floor | F64x2Trunc | F64x2Nearest | F64x2PromoteLowF32x4 => {
			Check::F64x2After
		},
		_ => return None,
	})
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
	F32x4,
	F64x2,
}

/// Whether `op` takes the vector on top of the stack as floats of `shape` and lets none of its
/// bits through but by a result that is checked itself: a float lane instruction whose result is
/// canonicalised, a comparison (a mask, whatever the NaN), a float lane extracted (a scalar,
/// checked where its bits can be seen). Not `abs`, `neg` or `copysign`-like bit operations.
fn consumes(op: &Operator<'_>, shape: Shape) -> bool {
	use Operator::*;
	let canonicalised_from = match (op, check(op)) {
		(F32x4DemoteF64x2Zero, _) => Some(Shape::F64x2),
		(F64x2PromoteLowF32x4, _) => Some(Shape::F32x4),
		(_, Some(Check::F32x4After)) => Some(Shape::F32x4),
		(_, Some(Check::F64x2After)) => Some(Shape::F64x2),
		_ => None,
	};
	canonicalised_from == Some(shape)
		|| match shape {
			Shape::F32x4 => matches!(
				op,
				F32x4Eq | F32x4Ne | F32x4Lt | F32x4Gt | F32x4Le | F32x4Ge | F32x4ExtractLane { .. }
			),
			Shape::F64x2 => matches!(
				op,
				F64x2Eq | F64x2Ne | F64x2Lt | F64x2Gt | F64x2Le | F64x2Ge | F64x2ExtractLane { .. }
			),
		}
}

/// The three locals the checks use, after the function's own.
struct Scratch {
	f32: u32,
	f64: u32,
	v128: u32,
}

/// `value` if it is not a NaN, else the canonical NaN: `select(value, nan, value == value)`.
fn scalar(f: &mut Function, local: u32, nan: Instruction<'_>, eq: Instruction<'_>) {
	f.instruction(&Instruction::LocalSet(local))
		.instruction(&Instruction::LocalGet(local))
		.instruction(&nan)
		.instruction(&Instruction::LocalGet(local))
		.instruction(&Instruction::LocalGet(local))
		.instruction(&eq)
		.instruction(&Instruction::Select);
}

/// Each lane of the vector on top of the stack that is a NaN replaced by the canonical NaN:
/// `bitselect(value, nans, value == value)`.
fn lanes(f: &mut Function, local: u32, nans: i128, eq: Instruction<'_>) {
	f.instruction(&Instruction::LocalSet(local))
		.instruction(&Instruction::LocalGet(local))
		.instruction(&Instruction::V128Const(nans))
		.instruction(&Instruction::LocalGet(local))
		.instruction(&Instruction::LocalGet(local))
		.instruction(&eq)
		.instruction(&Instruction::V128Bitselect);
}

/// `bits` in each of the four 32-bit lanes.
fn splat32(bits: u32) -> i128 {
	(u128::from(bits).wrapping_mul(0x0000_0001_0000_0001_0000_0001_0000_0001)) as i128
}

/// `bits` in each of the two 64-bit lanes.
fn splat64(bits: u64) -> i128 {
	(u128::from(bits).wrapping_mul(0x0000_0000_0000_0001_0000_0000_0000_0001)) as i128
}

impl Reencode for Rewriter {
	type Error = std::convert::Infallible;

	track_locals!();

	fn parse_function_body(
		&mut self,
		code: &mut CodeSection,
		func: FunctionBody<'_>,
	) -> Result<(), Error<Self::Error>> {
		let (mut locals, count) = self.locals.body(&func)?;
		let scratch =
			Scratch { f32: count, f64: count.saturating_add(1), v128: count.saturating_add(2) };
		locals.extend([(1, ValType::F32), (1, ValType::F64), (1, ValType::V128)]);
		let mut f = Function::new(locals);
		let mut reader = func.get_operators_reader()?;
		let mut ops = Vec::new();
		while !reader.eof() {
			ops.push(reader.read()?);
		}
		for (i, op) in ops.iter().enumerate() {
			let check = check(op);
			match check {
				Some(Check::F32Before) => scalar(
					&mut f,
					scratch.f32,
					Instruction::F32Const(Ieee32::new(CANONICAL_F32)),
					Instruction::F32Eq,
				),
				Some(Check::F64Before) => scalar(
					&mut f,
					scratch.f64,
					Instruction::F64Const(Ieee64::new(CANONICAL_F64)),
					Instruction::F64Eq,
				),
				_ => {},
			}
			f.instruction(&self.instruction(op.clone())?);
			// A vector the next instruction consumes as floats needs no check: its bits go
			// nowhere else.
			let next = ops.get(i.saturating_add(1));
			let consumed = |shape: Shape| next.is_some_and(|next| consumes(next, shape));
			match check {
				Some(Check::F32x4After) if !consumed(Shape::F32x4) => {
					lanes(&mut f, scratch.v128, splat32(CANONICAL_F32), Instruction::F32x4Eq)
				},
				Some(Check::F64x2After) if !consumed(Shape::F64x2) => {
					lanes(&mut f, scratch.v128, splat64(CANONICAL_F64), Instruction::F64x2Eq)
				},
				_ => {},
			}
		}
		code.function(&f);
		Ok(())
	}
}

//! Units and the wall-clock stop, counted and checked by the module itself: a rewrite of the
//! program before it is compiled.
//!
//! Wasmtime's own fuel and epoch interruption test their limits at every loop header with an
//! out-of-line call to the runtime on the cold path. Cranelift's register allocator must then
//! assume every loop may call out, and a call clobbers every vector and float register: values
//! that live across a loop (a splatted factor, a Mandelbrot point) are spilled and reloaded on
//! every iteration. That made a matrix product about 2.7× slower than the same module without
//! the limits, and a Mandelbrot kernel 1.6× (docs/performance.md). This rewrite keeps the same
//! limits, with a check whose failure is a trap — no call, nothing clobbered.
//!
//! What the rewritten module imports, from [`METER_MODULE`] (a name programs cannot import from:
//! the job ABI allows only `stratus`):
//! - [`UNITS_GLOBAL`], a mutable `i64`: the units the job has left. Each function keeps it in a
//!   local of its own, takes each straight-line stretch's units from the local where control
//!   flow leaves it (before `br`, `br_if`, `br_table`, `if`, `else`, `end`, `loop`, calls and
//!   returns), and writes it back before calls and returns (where the host or another function
//!   reads it) and reads it again after calls, and at every check (below), so that a program
//!   that traps has its units counted up to its last check.
//! - [`STOP_MEMORY`], a one-page shared memory whose first eight bytes are the *floor*: 0 while
//!   the job may run; the executor's clock thread raises it to `i64::MAX` when the job's wall
//!   clock runs out. At every function entry and before every branch back to a loop's start the
//!   module checks `units left < floor` (an atomic load, so that it is read again each time) and
//!   traps when it holds: out of units, or out of time. The trap writes the local back first, so
//!   the host tells the two apart (units below zero, or the floor raised). A program cannot run
//!   without passing checks: it repeats only by branching back to a loop or by calling.
//!
//! The program's own memories and globals move up one index each (the imports come first in
//! their index spaces). The units are one per instruction of the program as written (not of this
//! rewrite or the NaN one), nothing for `nop`, `drop`, `block`, `loop`, `else`, `end`,
//! `unreachable` and `return`, and one per function entered — wasmtime's fuel, exactly (a test
//! runs both), so a program's units did not change when the executor moved from wasmtime's fuel
//! to this rewrite, except for the instructions the NaN rewrite adds, which wasmtime counted and
//! this rewrite does not. Instructions whose work grows with an operand (`memory.fill`,
//! `memory.copy`, `memory.init`, the table ones, `memory.grow`, `table.grow`) cost that much more
//! ([`UNITS_PER_BULK_BYTE`], …), taken and checked before they run: where wasmtime's fuel charged
//! one unit for filling 64 MiB.

use super::rewrite::{rewrite, track_locals, Locals};
use wasm_encoder::{
	reencode::{utils, Error, Reencode},
	BlockType, CodeSection, EntityType, Function, GlobalType, ImportSection, Instruction, MemArg,
	MemoryType, Module, SectionId, ValType,
};
use wasmparser::{FunctionBody, Operator};

/// The import module of the metering imports.
pub const METER_MODULE: &str = "stratus:meter";
/// The imported mutable `i64` global of the units left.
pub const UNITS_GLOBAL: &str = "units";
/// The imported one-page shared memory whose first `i64` is the floor (see the module's docs).
pub const STOP_MEMORY: &str = "stop";
/// The floor that stops a job at its next check.
pub const STOPPED: i64 = i64::MAX;

/// The module with its units counted and its limits checked by its own code. An error is a
/// module that does not parse.
pub fn instrument(program: &[u8]) -> Result<Vec<u8>, String> {
	rewrite(&mut Meter::default(), program)
}

/// What the function bodies need, collected as the sections go by.
#[derive(Default)]
struct Meter {
	locals: Locals,
	/// Whether the metering imports are in the import section yet.
	imported: bool,
}

/// The metering imports: the units global (index 0 among globals) and the stop memory (index 0
/// among memories).
fn meter_imports(imports: &mut ImportSection) {
	imports.import(
		METER_MODULE,
		UNITS_GLOBAL,
		EntityType::Global(GlobalType { val_type: ValType::I64, mutable: true, shared: false }),
	);
	imports.import(
		METER_MODULE,
		STOP_MEMORY,
		EntityType::Memory(MemoryType {
			minimum: 1,
			maximum: Some(1),
			memory64: false,
			shared: true,
			page_size_log2: None,
		}),
	);
}

/// The units an instruction costs.
fn cost(op: &Operator<'_>) -> i64 {
	use Operator::*;
	match op {
		Nop | Drop | Block { .. } | Loop { .. } | Unreachable | Return | Else | End => 0,
		_ => 1,
	}
}

/// Units per byte that `memory.fill`, `memory.copy` and `memory.init` write, per element that
/// `table.fill`, `table.copy`, `table.init` and `table.grow` write, and per page `memory.grow`
/// adds, on top of the instruction's own unit: the work they do, charged before they do it
/// (docs/job-abi.md, "Units").
pub const UNITS_PER_BULK_BYTE: i64 = 1;
pub const UNITS_PER_TABLE_ELEMENT: i64 = 1;
pub const UNITS_PER_MEMORY_PAGE: i64 = 1024;

/// What an instruction whose work grows with its length operand costs per unit of it.
fn bulk_rate(op: &Operator<'_>) -> Option<i64> {
	use Operator::*;
	match op {
		MemoryFill { .. } | MemoryCopy { .. } | MemoryInit { .. } => Some(UNITS_PER_BULK_BYTE),
		TableFill { .. } | TableCopy { .. } | TableInit { .. } | TableGrow { .. } => {
			Some(UNITS_PER_TABLE_ELEMENT)
		},
		MemoryGrow { .. } => Some(UNITS_PER_MEMORY_PAGE),
		_ => None,
	}
}

/// Where the imports put things, in the rewritten module's index spaces.
const UNITS: u32 = 0;
const STOP: u32 = 0;

/// What a branch to an open block does.
#[derive(Clone, Copy, PartialEq)]
enum Frame {
	/// Leaves the function.
	Function,
	/// Starts the loop's next round: its back edge, where the limits are checked.
	Loop,
	/// Goes on after the block.
	Block,
}

/// A function body being rewritten: its units local, a scratch local for a bulk instruction's
/// length, and the units not yet taken from the units local.
struct Body {
	f: Function,
	units: u32,
	length: u32,
	pending: i64,
}

impl Body {
	fn op(&mut self, instruction: &Instruction<'_>) -> &mut Self {
		self.f.instruction(instruction);
		self
	}

	/// Takes the pending units from the local.
	fn flush(&mut self) {
		if self.pending != 0 {
			let (pending, units) = (std::mem::take(&mut self.pending), self.units);
			self.op(&Instruction::LocalGet(units))
				.op(&Instruction::I64Const(pending))
				.op(&Instruction::I64Sub)
				.op(&Instruction::LocalSet(units));
		}
	}

	/// Writes the local back to the global, for the host, a callee or the caller.
	fn store(&mut self) {
		self.op(&Instruction::LocalGet(self.units)).op(&Instruction::GlobalSet(UNITS));
	}

	/// Reads the global into the local.
	fn load(&mut self) {
		let units = self.units;
		self.op(&Instruction::GlobalGet(UNITS)).op(&Instruction::LocalSet(units));
	}

	/// Before a branch to these blocks (`None`: a target the validator refuses anyway): the units
	/// written back for a return, the limits checked for a back edge. The limits are checked on a
	/// loop's back edges rather than at its header, so that the header stays the loop's first
	/// instruction and Cranelift lays the loop out as one block ending in its branch.
	fn before_branch(&mut self, targets: &[Option<Frame>]) {
		if targets.contains(&Some(Frame::Function)) {
			self.store();
		}
		if targets.contains(&Some(Frame::Loop)) {
			self.check();
		}
	}

	/// Before an instruction whose work grows with the `i32` length on top of the stack (bytes,
	/// elements or pages): takes `rate` units per unit of it, then checks the limits, so that a
	/// job out of units stops before the work, not after it.
	fn charge_length(&mut self, rate: i64) {
		let (units, length) = (self.units, self.length);
		self.op(&Instruction::LocalTee(length))
			.op(&Instruction::LocalGet(units))
			.op(&Instruction::LocalGet(length))
			.op(&Instruction::I64ExtendI32U)
			.op(&Instruction::I64Const(rate))
			.op(&Instruction::I64Mul)
			.op(&Instruction::I64Sub)
			.op(&Instruction::LocalSet(units));
		self.check();
	}

	/// Writes the local back, then traps when the units left are below the floor. Writing back
	/// at every check keeps the global at most one straight-line stretch behind, so that a job
	/// that traps reports the units it used up to its last check: what a deterministic failure
	/// is paid for, the same on every replica (docs/job-abi.md, "Failures").
	fn check(&mut self) {
		let floor = MemArg { offset: 0, align: 3, memory_index: STOP };
		let units = self.units;
		self.store();
		self.op(&Instruction::LocalGet(units))
			.op(&Instruction::I32Const(0))
			// Atomic, so that Cranelift loads it again at every check instead of reusing an
			// earlier load (a plain load in a loop without stores would be read once).
			.op(&Instruction::I64AtomicLoad(floor))
			.op(&Instruction::I64LtS)
			.op(&Instruction::If(BlockType::Empty));
		self.store();
		self.op(&Instruction::Unreachable).op(&Instruction::End);
	}
}

impl Reencode for Meter {
	type Error = std::convert::Infallible;

	fn global_index(&mut self, global: u32) -> Result<u32, Error<Self::Error>> {
		Ok(global.saturating_add(1))
	}

	fn memory_index(&mut self, memory: u32) -> Result<u32, Error<Self::Error>> {
		Ok(memory.saturating_add(1))
	}

	fn intersperse_section_hook(
		&mut self,
		module: &mut Module,
		_after: Option<SectionId>,
		before: Option<SectionId>,
	) -> Result<(), Error<Self::Error>> {
		// A module without imports gets an import section before its first section that comes
		// after imports in the binary format.
		let after_imports = !matches!(before, Some(SectionId::Type | SectionId::Import));
		if !self.imported && after_imports {
			let mut imports = ImportSection::new();
			meter_imports(&mut imports);
			module.section(&imports);
			self.imported = true;
		}
		Ok(())
	}

	fn parse_import_section(
		&mut self,
		imports: &mut ImportSection,
		section: wasmparser::ImportSectionReader<'_>,
	) -> Result<(), Error<Self::Error>> {
		meter_imports(imports);
		self.imported = true;
		utils::parse_import_section(self, imports, section)
	}

	track_locals!();

	fn parse_function_body(
		&mut self,
		code: &mut CodeSection,
		func: FunctionBody<'_>,
	) -> Result<(), Error<Self::Error>> {
		let (mut locals, count) = self.locals.body(&func)?;
		locals.push((1, ValType::I64));
		locals.push((1, ValType::I32));
		// Entering a function costs one unit, as with wasmtime's fuel.
		let length = count.saturating_add(1);
		let mut body = Body { f: Function::new(locals), units: count, length, pending: 1 };
		body.load();
		body.check();
		// The open blocks, innermost last, the function's own first: whether each is a loop. A
		// branch to the function's block returns; a branch to a loop is a loop's back edge.
		let mut frames = vec![Frame::Function];
		let mut reader = func.get_operators_reader()?;
		while !reader.eof() {
			let op = reader.read()?;
			body.pending = body.pending.saturating_add(cost(&op));
			let target = |relative: u32| {
				let index = frames.len().checked_sub(1)?.checked_sub(relative as usize)?;
				frames.get(index).copied()
			};
			let instruction = self.instruction(op.clone())?;
			use Operator::*;
			match op {
				Block { .. } => {
					body.op(&instruction);
					frames.push(Frame::Block);
				},
				Loop { .. } => {
					body.flush();
					body.op(&instruction);
					frames.push(Frame::Loop);
				},
				If { .. } => {
					body.flush();
					body.op(&instruction);
					frames.push(Frame::Block);
				},
				Else => {
					body.flush();
					body.op(&instruction);
				},
				End => {
					body.flush();
					if frames.len() == 1 {
						body.store();
					}
					body.op(&instruction);
					frames.pop();
				},
				Br { relative_depth } | BrIf { relative_depth } => {
					body.flush();
					body.before_branch(&[target(relative_depth)]);
					body.op(&instruction);
				},
				BrTable { ref targets } => {
					body.flush();
					let all = targets.targets().chain(std::iter::once(Ok(targets.default())));
					let frames: Vec<_> = all.map(|t| t.ok().and_then(target)).collect();
					body.before_branch(&frames);
					body.op(&instruction);
				},
				Return | ReturnCall { .. } | ReturnCallIndirect { .. } | ReturnCallRef { .. } => {
					body.flush();
					body.store();
					body.op(&instruction);
				},
				Call { .. } | CallIndirect { .. } | CallRef { .. } => {
					body.flush();
					body.store();
					body.op(&instruction);
					body.load();
				},
				_ => match bulk_rate(&op) {
					Some(rate) => {
						body.flush();
						body.charge_length(rate);
						body.op(&instruction);
					},
					None => {
						body.op(&instruction);
					},
				},
			}
		}
		code.function(&body.f);
		Ok(())
	}
}

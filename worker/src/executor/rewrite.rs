//! What the module rewrites (`super::meter`, `super::nan`) share: where each function body's own
//! locals end, so that a rewrite can add locals after them.

use wasm_encoder::{
	reencode::{Error, Reencode, RoundtripReencoder},
	ValType,
};
use wasmparser::{FunctionBody, FunctionSectionReader, TypeSectionReader};

/// The parameter counts of the module's functions, collected as the sections go by.
#[derive(Default)]
pub struct Locals {
	/// The number of parameters of each function type.
	types: Vec<u32>,
	/// The number of parameters of each function the module defines, in order (imported
	/// functions have no body, and the function section lists only the defined ones).
	params: Vec<u32>,
	/// The next function body's index among the defined functions.
	next: usize,
}

impl Locals {
	/// Records the parameter count of each type.
	pub fn types(&mut self, section: &TypeSectionReader<'_>) -> Result<(), Error> {
		for ty in section.clone().into_iter_err_on_gc_types() {
			self.types.push(u32::try_from(ty?.params().len()).unwrap_or(u32::MAX));
		}
		Ok(())
	}

	/// Records the parameter count of each defined function.
	pub fn functions(&mut self, section: &FunctionSectionReader<'_>) -> Result<(), Error> {
		for ty in section.clone() {
			// An index out of range leaves a module wasmtime refuses anyway.
			let params = usize::try_from(ty?).ok().and_then(|i| self.types.get(i));
			self.params.push(params.copied().unwrap_or(0));
		}
		Ok(())
	}

	/// The next function body's declared locals, re-encoded as they are (the rewrites renumber
	/// no types), and the index of the first local after them (parameters included).
	pub fn body(&mut self, func: &FunctionBody<'_>) -> Result<(Vec<(u32, ValType)>, u32), Error> {
		let mut count = self.params.get(self.next).copied().unwrap_or(0);
		self.next = self.next.saturating_add(1);
		let mut locals = Vec::new();
		for pair in func.get_locals_reader()? {
			let (n, ty) = pair?;
			count = count.saturating_add(n);
			locals.push((n, RoundtripReencoder.val_type(ty)?));
		}
		Ok((locals, count))
	}
}

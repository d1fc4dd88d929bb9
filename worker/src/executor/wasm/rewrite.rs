//! What the module rewrites (`super::meter`, `super::nan`) share: the run of a rewrite over a
//! module ([`rewrite`]), and where each function body's own locals end ([`Locals`], kept up to
//! date by the hooks [`track_locals!`] writes), so that a rewrite can add locals after them.

use wasm_encoder::{
	reencode::{Error, Reencode, RoundtripReencoder},
	Module, ValType,
};
use wasmparser::{FunctionBody, FunctionSectionReader, Parser, TypeSectionReader};

/// `program` re-encoded through `rewriter`'s hooks. An error is a module that does not parse.
pub fn rewrite<R: Reencode>(rewriter: &mut R, program: &[u8]) -> Result<Vec<u8>, String>
where
	R::Error: std::fmt::Display,
{
	let mut module = Module::new();
	rewriter.parse_core_module(&mut module, Parser::new(0), program).map_err(|e| format!("{e}"))?;
	Ok(module.finish())
}

/// The two `Reencode` hooks that keep a rewriter's `locals: Locals` field up to date (the type
/// and function sections, before the bodies), for the `impl Reencode` of each rewrite.
macro_rules! track_locals {
	() => {
		fn parse_type_section(
			&mut self,
			types: &mut wasm_encoder::TypeSection,
			section: wasmparser::TypeSectionReader<'_>,
		) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
			self.locals.types(&section)?;
			wasm_encoder::reencode::utils::parse_type_section(self, types, section)
		}

		fn parse_function_section(
			&mut self,
			functions: &mut wasm_encoder::FunctionSection,
			section: wasmparser::FunctionSectionReader<'_>,
		) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
			self.locals.functions(&section)?;
			wasm_encoder::reencode::utils::parse_function_section(self, functions, section)
		}
	};
}
pub(super) use track_locals;

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

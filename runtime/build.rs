//! Builds the runtime's wasm (`wasm32v1-none`, which `scripts/setup` installs).

fn main() {
	#[cfg(feature = "std")]
	{
		use std::{env, path::Path};

		let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
			.parent()
			.map(Path::to_path_buf)
			.unwrap_or_default();

		// With cargo's target directory outside the workspace, the wasm build cannot find
		// Cargo.lock by itself and would resolve its dependencies afresh.
		if env::var_os("WASM_BUILD_WORKSPACE_HINT").is_none() {
			env::set_var("WASM_BUILD_WORKSPACE_HINT", &workspace);
		}

		// Panic locations embed source paths in the wasm: keep the builder's own folders out of
		// the on-chain runtime. (The wasm still differs between clones in symbol hashes, which
		// cargo derives from absolute paths; node/tests/chain_spec.rs compares it by fingerprint.)
		let mut flags = env::var("WASM_BUILD_RUSTFLAGS").unwrap_or_default();
		flags.push_str(&format!(" --remap-path-prefix={}=/stratus", workspace.display()));
		env::set_var("WASM_BUILD_RUSTFLAGS", flags.trim());

		substrate_wasm_builder::WasmBuilder::build_using_defaults();
	}
}

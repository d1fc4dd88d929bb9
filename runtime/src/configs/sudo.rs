//! `pallet_sudo`: a superuser for development networks only. Its key is set by the `development`
//! and `local_testnet` presets; `testnet` has none, and governance replaces it.

use crate::{Runtime, RuntimeCall, RuntimeEvent};

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

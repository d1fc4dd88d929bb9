//! `pallet_grandpa`: the finality gadget's authority set.

use frame_support::traits::{ConstU32, ConstU64};

use super::MAX_AUTHORITIES;
use crate::{Runtime, RuntimeEvent};

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	// No session pallet yet, so equivocations cannot be proven against a key owner.
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

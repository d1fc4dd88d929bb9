//! The market's tests: invariants.

use super::*;

#[test]
fn try_state_catches_broken_escrow() {
	ExtBuilder.build().execute_with(|| {
		let program = register_wasm(ALICE);
		let j = submit(ALICE, spec(program));
		assert!(Market::do_try_state().is_ok());
		Jobs::<Test>::mutate(j, |job| job.as_mut().unwrap().escrow -= 1);
		assert!(Market::do_try_state().is_err());
	});
}

#[test]
fn try_state_catches_a_program_removable_before_its_jobs_end() {
	ExtBuilder.build().execute_with(|| {
		let program = register_wasm(ALICE);
		let j = submit(ALICE, spec(program));
		let deadline = job(j).deadline;
		let retire =
			|at| Programs::<Test>::mutate(program, |p| p.as_mut().unwrap().removable_at = Some(at));
		retire(deadline + 1);
		assert_ok!(Market::do_try_state());
		retire(deadline);
		assert_eq!(
			Market::do_try_state(),
			Err("7: a program removable before the deadline of a job that runs it".into())
		);
		Programs::<Test>::remove(program);
		assert_eq!(Market::do_try_state(), Err("7: a job runs a missing program".into()));
	});
}

#[test]
fn try_state_catches_a_replica_above_max_price() {
	ExtBuilder.build().execute_with(|| {
		providers(10..=10);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		let j = submit(ALICE, spec(program));
		Jobs::<Test>::mutate(j, |job| job.as_mut().unwrap().replicas[0].price = 11);
		assert!(Market::do_try_state().is_err());
	});
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(48))]

	/// Random books and jobs: every job's replicas are the cheapest eligible offers at the time
	/// it was posted, none above its max price, none doubled, and money is conserved through
	/// settlement.
	#[test]
	fn matching_over_random_books(
		offers in proptest::collection::vec((10u64..20, 1u128..30, 1u32..3), 1..24),
		jobs in proptest::collection::vec((1u128..30, 1u8..4, 1u64..50), 1..12),
	) {
		ExtBuilder.build().execute_with(|| -> Result<(), TestCaseError> {
			providers(10..=19);
			let program = register_wasm(ALICE);
			let accounts: Vec<AccountId> = (1..=19).chain([FEE_ACCOUNT]).collect();
			let money = || accounts.iter().map(|a| total(*a)).sum::<Balance>();
			let start = money();
			for (provider, price, slots) in offers {
				// One open offer per provider and class.
				let has_offer = !crate::ProviderOffers::<Test>::get(provider).is_empty();
				if !has_offer && <Staking as ProviderRegistry<_, _>>::can_serve(&provider, slots) {
					offer(provider, price, slots);
				}
			}
			for (n, (max_price, replication, units)) in jobs.into_iter().enumerate() {
				// Snapshot the book's eligible prices before matching.
				let mut book: Vec<(Balance, AccountId)> = Offers::<Test>::iter()
					.filter(|(_, o)| o.open && o.free() > 0)
					.map(|(_, o)| (o.price, o.provider))
					.collect();
				book.sort();
				let requester = 1 + (n as u64 % 5);
				let policy = policy_of(replication);
				let j = submit(requester, JobSpec { max_price, policy, ..spec(program) });
				let job = Jobs::<Test>::get(j).unwrap();
				// Expected: the primary is the cheapest offer (oldest first) at or under
				// max_price; the verifiers are drawn from the other providers' offers at or under
				// it, as many as there are up to the replication.
				let eligible: Vec<(Balance, AccountId)> =
					book.into_iter().filter(|(price, _)| *price <= max_price).collect();
				let mut providers_seen: Vec<AccountId> = eligible.iter().map(|e| e.1).collect();
				providers_seen.dedup();
				let want = providers_seen.len().min(replication as usize);
				prop_assert_eq!(job.replicas.len(), want);
				if let Some(first) = job.replicas.first() {
					prop_assert_eq!(first.price, eligible[0].0);
					prop_assert_eq!(first.role, crate::Role::Primary);
				}
				prop_assert!(job.replicas.iter().skip(1).all(|r| r.role == crate::Role::Verifier));
				let mut distinct: Vec<AccountId> = job.replicas.iter().map(|r| r.provider).collect();
				distinct.sort();
				distinct.dedup();
				prop_assert_eq!(distinct.len(), job.replicas.len());
				prop_assert!(job.replicas.iter().all(|r| r.price <= max_price));
				// Run every fully matched job to settlement.
				if job.unfilled() == 0 {
					for r in job.replicas.iter() {
						ack(r.provider, j, r.index);
						commit(r.provider, j, r.index, digest(1), units);
					}
					for r in job.replicas.iter() {
						reveal(r.provider, j, r.index, digest(1));
					}
					let settled = Jobs::<Test>::get(j).unwrap();
					prop_assert_eq!(settled.phase, JobPhase::Settled { digest: digest(1) });
				}
				Market::do_try_state().unwrap();
				prop_assert_eq!(money(), start);
			}
			Ok(())
		})?;
	}
}

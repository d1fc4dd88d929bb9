//! The market's tests: matching.

use super::*;

#[test]
fn job_matches_the_cheapest_offer_in_the_same_block() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=12);
		let program = register_wasm(ALICE);
		offer(10, 9, 1);
		let cheap = offer(11, 4, 1);
		offer(12, 6, 1);
		let before = Balances::balance(&ALICE);
		let j = submit(ALICE, spec(program));
		let job = job(j);
		assert_eq!(job.replicas.len(), 1);
		assert_eq!(
			(job.replicas[0].provider, job.replicas[0].offer, job.replicas[0].price),
			(11, cheap, 4)
		);
		assert_eq!(job.escrow, 10 * 100);
		// The escrow and the job's storage deposit are held.
		assert_eq!(Balances::balance(&ALICE), before - 1000 - 5);
		assert_eq!(escrow_held(ALICE), 1000);
		assert!(market_events().contains(&Event::ReplicaAssigned {
			job: j,
			replica: 0,
			provider: 11,
			offer: cheap,
			price: 4,
			ack_by: 1 + ACK
		}));
	});
}

#[test]
fn submit_job_is_charged_for_the_walk_it_did() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		register(12, cpu_profile(840), 1);
		let program = register_wasm(ALICE);
		// Cheapest first: an offer that expires at block 3, one from a denied region, then one
		// of two slots that takes the first replica and keeps a slot free.
		assert_ok!(Market::post_offer(RuntimeOrigin::signed(10), ResourceClass::Cpu, 1, 1, 3));
		offer(12, 2, 1);
		let kept = offer(11, 3, 2);
		run_to_block(3);
		let requirements = RequirementsSpec { regions_denied: vec![840], ..Default::default() };
		let spec = JobSpec { policy: Replicated(2), requirements, ..spec(program) };
		let placement = Market::do_submit_job(ALICE, spec.clone()).unwrap();
		assert_eq!(
			placement,
			crate::matching::Placement {
				// The verifier's draw samples the whole (small) book, 12 and 11 (already in),
				// finds nobody, and looks at the cheapest window too: the same two again.
				walk: crate::matching::Walk { matched: 1, filled: 0, passed: 5, expired: 1 },
				short: true,
			}
		);
		assert!(OfferBook::<Test>::iter().any(|(_, key, ())| key[16..] == kept.to_be_bytes()));
		// The call is charged exactly that, far below what it declares before dispatch.
		let post = Market::submit_job(RuntimeOrigin::signed(ALICE), spec).unwrap();
		// 12 passed over by the primary's walk, the verifier's sample and its window.
		let second = crate::matching::Placement {
			walk: crate::matching::Walk { matched: 1, filled: 1, passed: 3, expired: 0 },
			short: true,
		};
		// Its five bytes of input are kept in the job's record: nothing stored apart.
		assert_eq!(post.actual_weight, Some(Market::submit_job_weight(Some(&second), None)));
		assert!(Market::submit_job_weight(None, None).all_gt(post.actual_weight.unwrap()));
		// An input stored apart is charged on top.
		assert!(Market::submit_job_weight(Some(&second), Some(1))
			.all_gt(Market::submit_job_weight(Some(&second), None)));
	});
}

#[test]
fn equal_prices_match_in_time_order_and_never_above_max_price() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=13);
		let program = register_wasm(ALICE);
		offer(12, 11, 1);
		let first = offer(10, 5, 1);
		offer(11, 5, 1);
		let j = submit(ALICE, JobSpec { policy: Replicated(3), ..spec(program) });
		let job = job(j);
		// Two offers at 5 fit, the one at 11 is above max_price 10: one replica rests.
		assert_eq!(job.replicas.iter().map(|r| r.provider).collect::<Vec<_>>(), vec![10, 11]);
		assert_eq!(job.replicas[0].offer, first);
		assert_eq!(job.unfilled(), 1);
		assert_eq!(crate::JobBook::<Test>::iter().count(), 1);
		// An eligible offer arriving later fills it.
		offer(13, 10, 1);
		let job = Jobs::<Test>::get(j).unwrap();
		assert_eq!(job.unfilled(), 0);
		assert_eq!(job.replicas[2].provider, 13);
		assert_eq!(crate::JobBook::<Test>::iter().count(), 0);
	});
}

#[test]
fn one_replica_per_provider() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(276), 4);
		let program = register_wasm(ALICE);
		offer(10, 5, 4);
		let j = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		assert_eq!(job(j).replicas.len(), 1);
		// A second offer of the same provider does not take the second replica either.
		register(11, cpu_profile(276), 1);
		offer(11, 9, 1);
		assert_eq!(job(j).replicas.iter().map(|r| r.provider).collect::<Vec<_>>(), vec![10, 11]);
	});
}

#[test]
fn requirements_filter_offers() {
	ExtBuilder.build_and_execute(|| {
		register(10, gpu_profile("NVIDIA A10", 24_576, 86), 2);
		register(11, gpu_profile("NVIDIA H100", 81_920, 90), 2);
		register(12, cpu_profile(840), 2);
		assert_ok!(Market::register_program(
			RuntimeOrigin::signed(ALICE),
			JobKind::Cuda,
			b"ptx".to_vec()
		));
		let cuda = H256(sp_io::hashing::blake2_256(b"ptx"));
		for p in [10, 11] {
			assert_ok!(Market::post_offer(
				RuntimeOrigin::signed(p),
				ResourceClass::Gpu(0),
				3,
				1,
				EXPIRY
			));
		}
		offer(12, 1, 1);
		let requirements = RequirementsSpec {
			min_vram_mib: 40_000,
			gpu_models: vec![b"NVIDIA H100".to_vec()],
			..Default::default()
		};
		let j = submit(ALICE, JobSpec { requirements, ..spec(cuda) });
		assert_eq!(job(j).replicas[0].provider, 11);
		// Region filters for a WASM job: the US provider (840) is denied.
		let program = register_wasm(ALICE);
		let requirements = RequirementsSpec { regions_denied: vec![840], ..Default::default() };
		let j = submit(ALICE, JobSpec { requirements, ..spec(program) });
		assert!(job(j).replicas.is_empty());
		let report = Market::why_no_match(j).unwrap();
		assert_eq!(report.excluded_by, vec![(Requirement::Region, 1)]);
	});
}

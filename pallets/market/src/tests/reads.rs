//! The market's tests: reads.

use super::*;

#[test]
fn why_no_match_counts_each_requirement() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(840), 1);
		register(11, cpu_profile(276), 1);
		register(12, cpu_profile(276), 1);
		let program = register_wasm(ALICE);
		offer(10, 5, 1);
		offer(11, 50, 1);
		offer(12, 5, 1);
		let requirements = RequirementsSpec {
			regions_allowed: vec![276],
			min_cpu_cores: 64,
			..Default::default()
		};
		let j = submit(ALICE, JobSpec { requirements, ..spec(program) });
		assert_eq!(job(j).replicas.len(), 0);
		let report = Market::why_no_match(j).unwrap();
		assert_eq!((report.offers, report.eligible, report.unfilled), (3, 0, 1));
		assert!(report.time_left);
		assert_eq!(
			report.excluded_by,
			vec![
				(Requirement::MaxPrice, 1),
				(Requirement::Region, 1),
				(Requirement::MinCpuCores, 3)
			]
		);
		assert!(Market::why_no_match(99).is_none());
	});
}

#[test]
fn best_price_and_provider_views() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=11);
		let program = register_wasm(ALICE);
		offer(10, 7, 1);
		offer(11, 3, 2);
		assert_eq!(Market::best_price(JobKind::Wasm, Default::default()), Some(3));
		assert_eq!(Market::best_price(JobKind::Cuda, Default::default()), None);
		let far = RequirementsSpec { regions_allowed: vec![1], ..Default::default() };
		assert_eq!(Market::best_price(JobKind::Wasm, far), None);
		// Requirements no job could carry answer `None` too, and `check_requirements` says why.
		let crowded =
			RequirementsSpec { regions_allowed: vec![1, 2, 3, 4, 5], ..Default::default() };
		assert_eq!(Market::best_price(JobKind::Wasm, crowded.clone()), None);
		assert_eq!(
			Market::check_requirements(&crowded),
			Some(crate::runtime_api::RequirementsProblem::TooManyRegionsAllowed { max: 4 })
		);
		assert_eq!(Market::check_requirements(&Default::default()), None);
		let long = RequirementsSpec { gpu_models: vec![vec![b'x'; 49]], ..Default::default() };
		assert_eq!(
			Market::check_requirements(&long),
			Some(crate::runtime_api::RequirementsProblem::GpuModelTooLong { max: 48 })
		);
		let j = submit(ALICE, spec(program));
		// The worker key sees its provider's work.
		let work = Market::provider_replicas(111);
		assert_eq!(work.len(), 1);
		assert_eq!((work[0].job, work[0].provider, work[0].state), (j, 11, ReplicaState::Assigned));
		assert_eq!(Market::provider_offers(11)[0].in_use, 1);
		let status = Market::job_status(j).unwrap();
		assert_eq!((status.escrow, status.unfilled, status.inline_input_bytes), (1000, 0, Some(5)));
	});
}

#[test]
fn provider_replicas_come_from_the_providers_offers() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=12);
		let program = register_wasm(ALICE);
		let a = offer(10, 3, 3);
		offer(11, 5, 4);
		offer(12, 6, 4);
		let of =
			|p| Market::provider_replicas(p).iter().map(|r| (r.job, r.offer)).collect::<Vec<_>>();
		// What a scan of every job finds (the index replaced it), for each provider.
		let agrees_with_a_scan = || {
			for p in 10..=12 {
				let mut scanned: Vec<(JobId, u64)> = Jobs::<Test>::iter()
					.flat_map(|(id, job)| {
						job.replicas
							.into_iter()
							.filter(move |r| r.provider == p && r.state.is_live())
							.map(move |r| (id, r.offer))
					})
					.collect();
				scanned.sort_unstable();
				assert_eq!(of(p), scanned, "provider {p}");
			}
		};
		let jobs: Vec<JobId> = (0..3).map(|_| submit(ALICE, spec(program))).collect();
		let pair = submit(ALICE, JobSpec { policy: Replicated(2), ..spec(program) });
		assert_eq!(of(10), vec![(jobs[0], a), (jobs[1], a), (jobs[2], a)]);
		assert_eq!(Offers::<Test>::get(a).unwrap().jobs.to_vec(), jobs);
		assert!(of(11).contains(&(pair, 1)));
		agrees_with_a_scan();
		// A replica that ends leaves its offer's list, whichever way it ends.
		assert_ok!(Market::decline(RuntimeOrigin::signed(10), jobs[1], 0));
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), jobs[2]));
		assert_eq!(of(10), vec![(jobs[0], a)]);
		agrees_with_a_scan();
		// A cancelled offer keeps its list until its replicas end, then goes.
		assert_ok!(Market::cancel_offer(RuntimeOrigin::signed(10), a));
		assert_eq!(of(10), vec![(jobs[0], a)]);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), jobs[0]));
		assert!(of(10).is_empty() && Offers::<Test>::get(a).is_none());
		agrees_with_a_scan();
		// Strangers and unregistered accounts see nothing.
		assert!(of(99).is_empty());
	});
}

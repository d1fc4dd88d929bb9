//! The market's tests: jobs: bad input.

use super::*;

#[test]
fn bad_jobs_are_refused_without_a_trace() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let now = System::block_number();
		let refused = |f: &dyn Fn(&mut JobSpec<Balance, u64>), e: Error<Test>| {
			let mut s = spec(program);
			f(&mut s);
			assert_noop!(Market::submit_job(RuntimeOrigin::signed(ALICE), s), e);
		};
		refused(&|s| s.program = digest(9), Error::<Test>::UnknownProgram);
		refused(&|s| s.max_units = 9, Error::<Test>::JobTooSmall);
		refused(&|s| s.policy = Replicated(0), Error::<Test>::BadReplication);
		refused(&|s| s.policy = Replicated(1), Error::<Test>::BadReplication);
		refused(&|s| s.policy = Replicated(6), Error::<Test>::BadReplication);
		refused(&|s| s.max_price = 0, Error::<Test>::ZeroPrice);
		refused(&|s| s.max_units = 0, Error::<Test>::ZeroUnits);
		refused(&|s| s.max_output_bytes = 0, Error::<Test>::ZeroOutput);
		refused(&|s| s.max_output_bytes = (1 << 20) + 1, Error::<Test>::OutputTooLarge);
		refused(&|s| s.commit_window = 0, Error::<Test>::ZeroCommitWindow);
		refused(&|s| s.deadline = now, Error::<Test>::DeadlineInPast);
		refused(&|s| s.deadline = now + ACK + 5 + REVEAL, Error::<Test>::DeadlineTooSoon);
		refused(&|s| s.deadline = now + 1001, Error::<Test>::DeadlineTooFar);
		refused(&|s| s.input = InputSpec::Inline(vec![0; 257]), Error::<Test>::InputTooLarge);
		refused(
			&|s| s.input = InputSpec::Remote { url: vec![], hash: digest(1), size: 1 },
			Error::<Test>::BadInputUrl,
		);
		refused(
			&|s| s.input = InputSpec::Remote { url: vec![b'a'; 65], hash: digest(1), size: 1 },
			Error::<Test>::BadInputUrl,
		);
		refused(
			&|s| s.requirements.regions_allowed = vec![1, 2, 3, 4, 5],
			Error::<Test>::TooManyRequirements,
		);
		refused(
			&|s| s.requirements.regions_denied = vec![1, 2, 3, 4, 5],
			Error::<Test>::TooManyRequirements,
		);
		refused(
			&|s| s.requirements.gpu_models = vec![vec![b'x'; 49]],
			Error::<Test>::TooManyRequirements,
		);
		refused(&|s| s.max_price = Balance::MAX / 2, Error::<Test>::CostOverflow);
		refused(&|s| s.max_price = ENDOWMENT, Error::<Test>::InsufficientBalance);
		// A URL input within bounds is accepted.
		submit(
			ALICE,
			JobSpec {
				input: InputSpec::Remote {
					url: b"https://x.test/in".to_vec(),
					hash: digest(1),
					size: 9,
				},
				..spec(program)
			},
		);
	});
}

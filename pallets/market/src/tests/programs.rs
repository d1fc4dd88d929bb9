//! The market's tests: programs.

use super::*;

#[test]
fn register_program_holds_deposit_and_stores_code() {
	ExtBuilder.build_and_execute(|| {
		let hash = register_wasm(ALICE);
		let info = Programs::<Test>::get(hash).unwrap();
		assert_eq!(
			(info.owner, info.kind, info.len, info.deposit, info.removable_at),
			(ALICE, JobKind::Wasm, 8, 18, None)
		);
		assert_eq!(ProgramCode::<Test>::get(hash).unwrap().to_vec(), wasm_code());
		assert_eq!(
			Balances::balance_on_hold(&crate::HoldReason::ProgramDeposit.into(), &ALICE),
			18
		);
		assert!(market_events().contains(&Event::ProgramRegistered {
			program: hash,
			owner: ALICE,
			kind: JobKind::Wasm,
			len: 8,
			deposit: 18
		}));
	});
}

#[test]
fn bad_programs_are_refused() {
	ExtBuilder.build_and_execute(|| {
		let o = RuntimeOrigin::signed(ALICE);
		assert_noop!(
			Market::register_program(o.clone(), JobKind::Wasm, vec![]),
			Error::<Test>::ProgramEmpty
		);
		assert_noop!(
			Market::register_program(o.clone(), JobKind::Cuda, vec![1; 1025]),
			Error::<Test>::ProgramTooLarge
		);
		assert_noop!(
			Market::register_program(o.clone(), JobKind::Wasm, b"(module)".to_vec()),
			Error::<Test>::InvalidWasm
		);
		register_wasm(ALICE);
		assert_noop!(
			Market::register_program(o, JobKind::Wasm, wasm_code()),
			Error::<Test>::ProgramExists
		);
		// A CUDA program is any non-empty text or PTX.
		assert_ok!(Market::register_program(
			RuntimeOrigin::signed(BOB),
			JobKind::Cuda,
			b"extern \"C\" __global__ void k() {}".to_vec()
		));
		// Too poor to hold the deposit.
		assert_noop!(
			Market::register_program(RuntimeOrigin::signed(500), JobKind::Cuda, vec![1; 10]),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn remove_program_rules() {
	ExtBuilder.build_and_execute(|| {
		let hash = register_wasm(ALICE);
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(BOB), hash),
			Error::<Test>::NotProgramOwner
		);
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(ALICE), digest(1)),
			Error::<Test>::UnknownProgram
		);
		providers(10..=10);
		offer(10, 5, 4);
		// A job submitted before the program retires runs to its end with it.
		let running = submit(BOB, JobSpec { deadline: 1001, ..spec(hash) });
		// The first call retires it: every job submitted so far has its deadline by 1 + 1000.
		assert_ok!(Market::remove_program(RuntimeOrigin::signed(ALICE), hash));
		assert_eq!(Programs::<Test>::get(hash).unwrap().removable_at, Some(1002));
		assert!(
			market_events().contains(&Event::ProgramRetiring { program: hash, removable_at: 1002 })
		);
		assert_noop!(
			Market::submit_job(RuntimeOrigin::signed(BOB), spec(hash)),
			Error::<Test>::ProgramRetiring
		);
		// Until then it stays, code and deposit, however often its owner asks.
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(ALICE), hash),
			Error::<Test>::ProgramInUse
		);
		assert_eq!(Balances::balance_on_hold(&HoldReason::ProgramDeposit.into(), &ALICE), 18);
		assert_ok!(Market::acknowledge(RuntimeOrigin::signed(10), running, 0));
		run_to_block(1001);
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(ALICE), hash),
			Error::<Test>::ProgramInUse
		);
		assert!(ProgramCode::<Test>::contains_key(hash));
		run_to_block(1002);
		assert!(job(running).phase.is_final());
		assert_noop!(
			Market::remove_program(RuntimeOrigin::signed(BOB), hash),
			Error::<Test>::NotProgramOwner
		);
		let before = Balances::balance(&ALICE);
		assert_ok!(Market::remove_program(RuntimeOrigin::signed(ALICE), hash));
		assert_eq!(Balances::balance(&ALICE), before + 18);
		assert_eq!(Balances::balance_on_hold(&HoldReason::ProgramDeposit.into(), &ALICE), 0);
		assert!(!ProgramCode::<Test>::contains_key(hash));
		assert!(market_events().contains(&Event::ProgramRemoved { program: hash, refunded: 18 }));
		// The same bytes may be registered again, and used.
		assert_eq!(register_wasm(BOB), hash);
		assert_eq!(Programs::<Test>::get(hash).unwrap().removable_at, None);
		submit(ALICE, spec(hash));
	});
}

#[test]
fn a_small_inline_input_stays_in_the_job_record() {
	ExtBuilder.build_and_execute(|| {
		let program = register_wasm(ALICE);
		let with_input = |bytes: usize| {
			let input = InputSpec::Inline(vec![7; bytes]);
			submit(ALICE, JobSpec { input, ..spec(program) })
		};
		let small = with_input(crate::SMALL_INPUT_BYTES as usize);
		let large = with_input(crate::SMALL_INPUT_BYTES as usize + 1);
		let empty = with_input(0);
		assert_eq!(job(small).small_input.map(|b| b.into_inner()), Some(vec![7; 128]));
		assert!(!JobInputs::<Test>::contains_key(small));
		assert_eq!(job(empty).small_input.map(|b| b.len()), Some(0));
		assert!(!JobInputs::<Test>::contains_key(empty));
		assert_eq!(job(large).small_input, None);
		assert!(
			matches!(JobInputs::<Test>::get(large), Some(JobInput::Inline(b)) if b.len() == 129)
		);
		// A remote input always lives apart.
		let remote = submit(
			ALICE,
			JobSpec {
				input: InputSpec::Remote { url: b"https://x/y".to_vec(), hash: digest(3), size: 9 },
				..spec(program)
			},
		);
		assert_eq!(job(remote).small_input, None);
		assert!(JobInputs::<Test>::contains_key(remote));
		let bytes = |j| Market::job_status(j).unwrap().inline_input_bytes;
		assert_eq!(
			(bytes(small), bytes(large), bytes(empty), bytes(remote)),
			(Some(128), Some(129), Some(0), None)
		);
		// Reaping leaves nothing behind either way.
		for j in [small, large, empty, remote] {
			assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), j));
		}
		run_to_block(21);
		for j in [small, large, empty, remote] {
			assert_ok!(Market::reap_job(RuntimeOrigin::signed(BOB), j));
			assert!(!Jobs::<Test>::contains_key(j) && !JobInputs::<Test>::contains_key(j));
		}
		assert_eq!(JobInputs::<Test>::iter().count(), 0);
	});
}

//! The market's tests: offers.

use super::*;

#[test]
fn post_offer_reserves_stake_and_rests_in_the_book() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(276), 4);
		let id = offer(10, 7, 3);
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 3);
		assert_eq!(OfferBook::<Test>::iter().count(), 1);
		// One open offer per resource class: a second is refused, and changes nothing.
		assert_noop!(
			Market::post_offer(RuntimeOrigin::signed(10), ResourceClass::Cpu, 8, 1, EXPIRY),
			Error::<Test>::OfferForClassExists
		);
		assert_ok!(Market::cancel_offer(RuntimeOrigin::signed(10), id));
		// The worker key may post for its provider.
		assert_ok!(Market::post_offer(
			RuntimeOrigin::signed(110),
			ResourceClass::Cpu,
			8,
			1,
			EXPIRY
		));
		assert_eq!(Offers::<Test>::get(id + 1).unwrap().provider, 10);
	});
}

#[test]
fn bad_offers_are_refused() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(276), 2);
		register(11, gpu_profile("NVIDIA H100", 81_920, 90), 4);
		let post = |who, class, price, slots, exp| {
			Market::post_offer(RuntimeOrigin::signed(who), class, price, slots, exp)
		};
		assert_noop!(post(ALICE, ResourceClass::Cpu, 5, 1, EXPIRY), Error::<Test>::NotProvider);
		assert_noop!(
			post(10, ResourceClass::Gpu(0), 5, 1, EXPIRY),
			Error::<Test>::ClassNotInProfile
		);
		assert_noop!(
			post(11, ResourceClass::Gpu(1), 5, 1, EXPIRY),
			Error::<Test>::ClassNotInProfile
		);
		assert_noop!(post(10, ResourceClass::Cpu, 0, 1, EXPIRY), Error::<Test>::ZeroPrice);
		assert_noop!(post(10, ResourceClass::Cpu, 5, 0, EXPIRY), Error::<Test>::ZeroSlots);
		assert_noop!(post(10, ResourceClass::Cpu, 5, 17, EXPIRY), Error::<Test>::TooManySlots);
		assert_noop!(post(10, ResourceClass::Cpu, 5, 1, 1), Error::<Test>::ExpiryInPast);
		// Staked for two slots: a third is refused by the registry.
		assert_noop!(
			post(10, ResourceClass::Cpu, 5, 3, EXPIRY),
			pallet_provider_staking::Error::<Test>::StakeTooLowForSlots
		);
		// One open offer per class; an expired one no longer counts as open, but its record stays
		// (and counts towards `MaxOffersPerProvider`) until it is closed.
		for _ in 0..4 {
			let now = System::block_number();
			assert_ok!(post(11, ResourceClass::Gpu(0), 5, 1, now + 1));
			assert_noop!(
				post(11, ResourceClass::Gpu(0), 6, 1, EXPIRY),
				Error::<Test>::OfferForClassExists
			);
			System::set_block_number(now + 1);
		}
		assert_noop!(post(11, ResourceClass::Gpu(0), 5, 1, EXPIRY), Error::<Test>::TooManyOffers);
	});
}

#[test]
fn update_and_cancel_offer() {
	ExtBuilder.build_and_execute(|| {
		register(10, cpu_profile(276), 4);
		register(11, cpu_profile(276), 4);
		let id = offer(10, 7, 2);
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(11), id, 5, 2, EXPIRY),
			Error::<Test>::NotOfferOwner
		);
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(10), 99, 5, 2, EXPIRY),
			Error::<Test>::UnknownOffer
		);
		assert_ok!(Market::update_offer(RuntimeOrigin::signed(10), id, 5, 4, EXPIRY));
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 4);
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(10), id, 5, 5, EXPIRY),
			pallet_provider_staking::Error::<Test>::StakeTooLowForSlots
		);
		assert_ok!(Market::cancel_offer(RuntimeOrigin::signed(10), id));
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 0);
		assert!(Offers::<Test>::get(id).is_none());
		assert_noop!(
			Market::cancel_offer(RuntimeOrigin::signed(10), id),
			Error::<Test>::UnknownOffer
		);
	});
}

#[test]
fn cancelled_offer_serving_a_replica_waits_for_it() {
	ExtBuilder.build_and_execute(|| {
		providers(10..=10);
		let program = register_wasm(ALICE);
		let o = offer(10, 5, 2);
		let j = submit(ALICE, spec(program));
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(10), o, 5, 0, EXPIRY),
			Error::<Test>::ZeroSlots
		);
		assert_ok!(Market::update_offer(RuntimeOrigin::signed(10), o, 5, 1, EXPIRY));
		assert_ok!(Market::update_offer(RuntimeOrigin::signed(10), o, 5, 2, EXPIRY));
		assert_ok!(Market::cancel_offer(RuntimeOrigin::signed(10), o));
		let closed = Offers::<Test>::get(o).unwrap();
		assert!(!closed.open);
		assert_eq!((closed.slots, closed.in_use()), (1, 1));
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 1);
		assert_noop!(
			Market::update_offer(RuntimeOrigin::signed(10), o, 5, 2, EXPIRY),
			Error::<Test>::OfferClosed
		);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(ALICE), j));
		assert!(Offers::<Test>::get(o).is_none());
		assert_eq!(<Staking as ProviderRegistry<_, _>>::reserved_slots(&10), 0);
	});
}

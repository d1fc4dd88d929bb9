//! What the calls do. Every check comes before the first write, so a refused call changes
//! nothing (dispatch is transactional as well).

use crate::{
	matching::Placement, BalanceOf, Config, Error, Event, HoldReason, InputSpec, Job, JobInput,
	JobInputs, JobPhase, JobSpec, Jobs, Missed, NextJobId, NextOfferId, Offer, Offers, Pallet,
	ProgramCode, ProgramInfo, Programs, ProviderOffers, ReplicaState, Requirements,
	RequirementsSpec, RestingJobs, SmallInput,
};
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{Inspect, MutateHold},
		tokens::{Fortitude, Precision, Preservation},
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_core::H256;
use sp_runtime::traits::{CheckedMul, One, SaturatedConversion, Saturating, Zero};
use stratus_primitives::{
	JobId, JobKind, OfferId, ProviderRegistry, ReplicaIndex, ResourceClass, VerificationPolicy,
};

/// The first four bytes of every WebAssembly binary.
const WASM_MAGIC: [u8; 4] = *b"\0asm";

impl<T: Config> Pallet<T> {
	pub(crate) fn do_register_program(
		owner: T::AccountId,
		kind: JobKind,
		code: Vec<u8>,
	) -> Result<H256, DispatchError> {
		ensure!(!code.is_empty(), Error::<T>::ProgramEmpty);
		let len = u32::try_from(code.len()).map_err(|_| Error::<T>::ProgramTooLarge)?;
		let code: BoundedVec<u8, T::MaxProgramSize> =
			code.try_into().map_err(|_| Error::<T>::ProgramTooLarge)?;
		if kind == JobKind::Wasm {
			ensure!(code.starts_with(&WASM_MAGIC), Error::<T>::InvalidWasm);
		}
		let program = H256(sp_io::hashing::blake2_256(&code));
		ensure!(!Programs::<T>::contains_key(program), Error::<T>::ProgramExists);
		let deposit = T::ProgramDepositBase::get()
			.saturating_add(T::ProgramDepositPerByte::get().saturating_mul(len.into()));
		Self::hold(&owner, HoldReason::ProgramDeposit, deposit)?;
		Programs::<T>::insert(
			program,
			ProgramInfo { owner: owner.clone(), kind, len, deposit, removable_at: None },
		);
		ProgramCode::<T>::insert(program, code);
		Self::deposit_event(Event::ProgramRegistered { program, owner, kind, len, deposit });
		Ok(program)
	}

	pub(crate) fn do_remove_program(owner: T::AccountId, program: H256) -> DispatchResult {
		let mut info = Programs::<T>::get(program).ok_or(Error::<T>::UnknownProgram)?;
		ensure!(info.owner == owner, Error::<T>::NotProgramOwner);
		let now = frame_system::Pallet::<T>::block_number();
		let Some(removable_at) = info.removable_at else {
			// Every job submitted until now has its deadline by `now + MaxJobDuration`.
			let removable_at =
				now.saturating_add(T::MaxJobDuration::get()).saturating_add(One::one());
			info.removable_at = Some(removable_at);
			Programs::<T>::insert(program, info);
			Self::deposit_event(Event::ProgramRetiring { program, removable_at });
			return Ok(());
		};
		ensure!(now >= removable_at, Error::<T>::ProgramInUse);
		let refunded = T::Currency::release(
			&HoldReason::ProgramDeposit.into(),
			&owner,
			info.deposit,
			Precision::BestEffort,
		)?;
		Programs::<T>::remove(program);
		ProgramCode::<T>::remove(program);
		Self::deposit_event(Event::ProgramRemoved { program, refunded });
		Ok(())
	}

	/// Hold `amount` from `who`, failing with `InsufficientBalance` when it cannot be held
	/// without reaping the account.
	fn hold(who: &T::AccountId, reason: HoldReason, amount: BalanceOf<T>) -> DispatchResult {
		let spendable =
			T::Currency::reducible_balance(who, Preservation::Protect, Fortitude::Polite);
		ensure!(spendable >= amount, Error::<T>::InsufficientBalance);
		T::Currency::hold(&reason.into(), who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		Ok(())
	}

	/// The provider `signer` acts for.
	fn provider(signer: &T::AccountId) -> Result<T::AccountId, DispatchError> {
		Ok(T::Providers::provider_of(signer).ok_or(Error::<T>::NotProvider)?)
	}

	/// Check an offer's terms.
	fn check_offer_terms(
		price: BalanceOf<T>,
		slots: u32,
		expires_at: BlockNumberFor<T>,
	) -> DispatchResult {
		ensure!(!price.is_zero(), Error::<T>::ZeroPrice);
		ensure!(slots > 0, Error::<T>::ZeroSlots);
		ensure!(slots <= T::MaxSlotsPerOffer::get(), Error::<T>::TooManySlots);
		ensure!(expires_at > frame_system::Pallet::<T>::block_number(), Error::<T>::ExpiryInPast);
		Ok(())
	}

	pub(crate) fn do_post_offer(
		signer: T::AccountId,
		class: ResourceClass,
		price: BalanceOf<T>,
		slots: u32,
		expires_at: BlockNumberFor<T>,
	) -> Result<(u32, bool), DispatchError> {
		let provider = Self::provider(&signer)?;
		let profile = T::Providers::profile(&provider).ok_or(Error::<T>::NotProvider)?;
		let serves = profile.supports(class.kind())
			&& match class {
				ResourceClass::Cpu => true,
				ResourceClass::Gpu(index) => profile.gpus.get(usize::from(index)).is_some(),
			};
		ensure!(serves, Error::<T>::ClassNotInProfile);
		Self::check_offer_terms(price, slots, expires_at)?;
		let offer_id = NextOfferId::<T>::get();
		let mut ids = ProviderOffers::<T>::get(&provider);
		// One open offer per provider and resource class: a provider changes its terms with
		// `update_offer`, and cannot fill the book's matching window with copies of itself
		// (finding H-5). At most `MaxOffersPerProvider` reads.
		let now = frame_system::Pallet::<T>::block_number();
		let duplicate = ids
			.iter()
			.filter_map(Offers::<T>::get)
			.any(|o| o.open && o.class == class && o.expires_at > now);
		ensure!(!duplicate, Error::<T>::OfferForClassExists);
		ids.try_push(offer_id).map_err(|_| Error::<T>::TooManyOffers)?;
		T::Providers::reserve_slots(&provider, slots)?;

		ProviderOffers::<T>::insert(&provider, ids);
		NextOfferId::<T>::put(offer_id.saturating_add(1));
		Offers::<T>::insert(
			offer_id,
			Offer {
				provider: provider.clone(),
				class,
				price,
				slots,
				jobs: Default::default(),
				expires_at,
				open: true,
			},
		);
		Self::book_insert(class.kind(), price, offer_id);
		Self::deposit_event(Event::OfferPosted {
			offer: offer_id,
			provider,
			class,
			price,
			slots,
			expires_at,
		});
		Self::match_offer(offer_id)
	}

	/// The offer `signer` may change.
	fn own_offer(signer: &T::AccountId, offer_id: OfferId) -> Result<Offer<T>, DispatchError> {
		let offer = Offers::<T>::get(offer_id).ok_or(Error::<T>::UnknownOffer)?;
		let provider = Self::provider(signer)?;
		ensure!(offer.provider == provider, Error::<T>::NotOfferOwner);
		ensure!(offer.open, Error::<T>::OfferClosed);
		Ok(offer)
	}

	pub(crate) fn do_update_offer(
		signer: T::AccountId,
		offer_id: OfferId,
		price: BalanceOf<T>,
		slots: u32,
		expires_at: BlockNumberFor<T>,
	) -> Result<(u32, bool), DispatchError> {
		let mut offer = Self::own_offer(&signer, offer_id)?;
		Self::check_offer_terms(price, slots, expires_at)?;
		ensure!(slots >= offer.in_use(), Error::<T>::SlotsInUse);
		if slots > offer.slots {
			T::Providers::reserve_slots(&offer.provider, slots.saturating_sub(offer.slots))?;
		} else {
			T::Providers::release_slots(&offer.provider, offer.slots.saturating_sub(slots));
		}
		Self::book_remove(offer.class.kind(), offer.price, offer_id);
		// A new id would restart time priority too, but would change the offer's name; the old
		// key is simply replaced and the offer keeps its place among equal prices by id.
		offer.price = price;
		offer.slots = slots;
		offer.expires_at = expires_at;
		if offer.free() > 0 {
			Self::book_insert(offer.class.kind(), price, offer_id);
		}
		Offers::<T>::insert(offer_id, offer);
		Self::deposit_event(Event::OfferUpdated { offer: offer_id, price, slots, expires_at });
		Self::match_offer(offer_id)
	}

	pub(crate) fn do_cancel_offer(signer: T::AccountId, offer_id: OfferId) -> DispatchResult {
		Self::own_offer(&signer, offer_id)?;
		Self::close_offer(offer_id, false);
		Ok(())
	}

	/// Turn submitted requirements into stored ones.
	pub(crate) fn requirements(
		spec: RequirementsSpec<BalanceOf<T>>,
	) -> Result<Requirements<T>, DispatchError> {
		let mut gpu_models = Vec::with_capacity(spec.gpu_models.len().min(64));
		for model in spec.gpu_models {
			gpu_models.push(model.try_into().map_err(|_| Error::<T>::TooManyRequirements)?);
		}
		Ok(Requirements {
			min_vram_mib: spec.min_vram_mib,
			min_compute_capability: spec.min_compute_capability,
			gpu_models: gpu_models.try_into().map_err(|_| Error::<T>::TooManyRequirements)?,
			regions_allowed: spec
				.regions_allowed
				.try_into()
				.map_err(|_| Error::<T>::TooManyRequirements)?,
			regions_denied: spec
				.regions_denied
				.try_into()
				.map_err(|_| Error::<T>::TooManyRequirements)?,
			min_cpu_cores: spec.min_cpu_cores,
			min_memory_mib: spec.min_memory_mib,
			min_stake: spec.min_stake,
			min_reputation: spec.min_reputation,
		})
	}

	/// Check a job's spec and build the job, without writing anything.
	fn new_job(
		requester: T::AccountId,
		spec: JobSpec<BalanceOf<T>, BlockNumberFor<T>>,
	) -> Result<(Job<T>, Option<JobInput<T>>), DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let program = Programs::<T>::get(spec.program).ok_or(Error::<T>::UnknownProgram)?;
		ensure!(program.removable_at.is_none(), Error::<T>::ProgramRetiring);
		if let VerificationPolicy::Replicated(n) = spec.policy {
			ensure!(n >= 2 && n <= T::MaxReplication::get(), Error::<T>::BadReplication);
		}
		ensure!(!spec.max_price.is_zero(), Error::<T>::ZeroPrice);
		ensure!(spec.max_units > 0, Error::<T>::ZeroUnits);
		ensure!(spec.max_output_bytes > 0, Error::<T>::ZeroOutput);
		ensure!(spec.max_output_bytes <= T::MaxOutputBytes::get(), Error::<T>::OutputTooLarge);
		ensure!(!spec.commit_window.is_zero(), Error::<T>::ZeroCommitWindow);
		ensure!(spec.deadline > now, Error::<T>::DeadlineInPast);
		ensure!(
			spec.deadline <= now.saturating_add(T::MaxJobDuration::get()),
			Error::<T>::DeadlineTooFar
		);
		let shortest = now
			.saturating_add(T::AckWindow::get())
			.saturating_add(spec.commit_window)
			.saturating_add(T::RevealWindow::get());
		ensure!(spec.deadline > shortest, Error::<T>::DeadlineTooSoon);
		let mut small_input = None;
		let input = match spec.input {
			InputSpec::Inline(bytes) => match SmallInput::try_from(bytes) {
				Ok(small) => {
					small_input = Some(small);
					None
				},
				Err(bytes) => {
					Some(JobInput::Inline(bytes.try_into().map_err(|_| Error::<T>::InputTooLarge)?))
				},
			},
			InputSpec::Remote { url, hash, size } => {
				ensure!(!url.is_empty(), Error::<T>::BadInputUrl);
				Some(JobInput::Remote {
					url: url.try_into().map_err(|_| Error::<T>::BadInputUrl)?,
					hash,
					size,
				})
			},
		};
		let requirements = Self::requirements(spec.requirements)?;
		let per_replica = spec
			.max_price
			.checked_mul(&spec.max_units.saturated_into())
			.ok_or(Error::<T>::CostOverflow)?;
		ensure!(per_replica >= T::MinJobValue::get(), Error::<T>::JobTooSmall);
		// The worst case: every replica the policy can pay, referees included; what is not
		// used is refunded when the job ends.
		let escrow = per_replica
			.checked_mul(&u32::from(spec.policy.most_paid(T::Referees::get())).into())
			.ok_or(Error::<T>::CostOverflow)?;
		let job = Job {
			requester,
			program: spec.program,
			kind: program.kind,
			small_input,
			requirements,
			max_price: spec.max_price,
			max_units: spec.max_units,
			policy: spec.policy,
			replication: spec.policy.first_round(),
			spot_check: None,
			referees: false,
			commit_window: spec.commit_window,
			deadline: spec.deadline,
			max_output_bytes: spec.max_output_bytes,
			escrow,
			deposit: T::JobDeposit::get(),
			submitted_at: now,
			phase: JobPhase::Open,
			ended_at: None,
			replicas: Default::default(),
			round: 0,
			wake_at: None,
		};
		Ok((job, input))
	}

	pub(crate) fn do_submit_job(
		requester: T::AccountId,
		spec: JobSpec<BalanceOf<T>, BlockNumberFor<T>>,
	) -> Result<Placement, DispatchError> {
		let (mut job, input) = Self::new_job(requester.clone(), spec)?;
		let spendable =
			T::Currency::reducible_balance(&requester, Preservation::Protect, Fortitude::Polite);
		ensure!(
			spendable >= job.escrow.saturating_add(job.deposit),
			Error::<T>::InsufficientBalance
		);
		Self::hold(&requester, HoldReason::JobEscrow, job.escrow)?;
		Self::hold(&requester, HoldReason::JobDeposit, job.deposit)?;
		let id = NextJobId::<T>::get();
		NextJobId::<T>::put(id.saturating_add(1));
		if let Some(input) = input {
			JobInputs::<T>::insert(id, input);
		}
		Self::deposit_event(Event::JobSubmitted {
			job: id,
			requester,
			program: job.program,
			escrow: job.escrow,
		});
		let walk = Self::fill(id, &mut job)?;
		let short = job.unfilled() > 0;
		if short {
			// A requester cannot fill the job book with jobs nothing serves (the call is refused
			// whole, holds and all).
			ensure!(
				RestingJobs::<T>::get(&job.requester) < T::MaxRestingJobs::get(),
				Error::<T>::TooManyRestingJobs
			);
			Self::sync_job_book(id, &job);
		}
		Self::store_job(id, job);
		Ok(Placement { walk, short })
	}

	/// A job that has not ended.
	pub(crate) fn running_job(id: JobId) -> Result<Job<T>, DispatchError> {
		let job = Jobs::<T>::get(id).ok_or(Error::<T>::UnknownJob)?;
		ensure!(!job.phase.is_final(), Error::<T>::JobFinished);
		Ok(job)
	}

	pub(crate) fn do_cancel_job(requester: T::AccountId, id: JobId) -> Result<u32, DispatchError> {
		let mut job = Self::running_job(id)?;
		ensure!(job.requester == requester, Error::<T>::NotRequester);
		// Once a result is committed the job runs to its verdict (its deadline bounds that): a
		// requester who could cancel then would never pay for results it may already hold.
		ensure!(
			job.phase == JobPhase::Open && !job.replicas.iter().any(|r| r.state.has_committed()),
			Error::<T>::ResultsCommitted
		);
		let replicas = job.replicas.len() as u32;
		let refunded = Self::end_job(id, &mut job, JobPhase::Cancelled);
		Self::store_job(id, job);
		Self::deposit_event(Event::JobCancelled { job: id, refunded });
		Ok(replicas)
	}

	/// The replica of a running job that `signer` may act for.
	pub(crate) fn replica_of(
		job: &Job<T>,
		index: ReplicaIndex,
		signer: &T::AccountId,
	) -> Result<usize, DispatchError> {
		let position =
			job.replicas.iter().position(|r| r.index == index).ok_or(Error::<T>::UnknownReplica)?;
		let provider = T::Providers::provider_of(signer).ok_or(Error::<T>::NotReplicaProvider)?;
		let is_provider = job.replicas.get(position).is_some_and(|r| r.provider == provider);
		ensure!(is_provider, Error::<T>::NotReplicaProvider);
		Ok(position)
	}

	/// Returns whether it drew a missing verifier.
	pub(crate) fn do_acknowledge(
		signer: T::AccountId,
		id: JobId,
		index: ReplicaIndex,
	) -> Result<bool, DispatchError> {
		let mut job = Self::running_job(id)?;
		let position = Self::replica_of(&job, index, &signer)?;
		let drew = Self::take_on(id, &mut job, position)?;
		Self::store_job(id, job);
		Ok(drew)
	}

	/// The replica at `position` of job `id` takes the work on (an acknowledgement, or a commit
	/// that implies one): its commit deadline starts, and a verifier no draw has found yet is
	/// drawn again now that the work is running. Returns whether it drew; the caller stores the
	/// job.
	pub(crate) fn take_on(
		id: JobId,
		job: &mut Job<T>,
		position: usize,
	) -> Result<bool, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let commit_by = now
			.saturating_add(job.commit_window)
			.min(job.commit_close().saturating_sub(1u32.into()));
		let replica = job.replicas.get_mut(position).ok_or(Error::<T>::UnknownReplica)?;
		ensure!(
			replica.state == ReplicaState::Assigned && now <= replica.ack_by,
			Error::<T>::NotAwaitingAck
		);
		replica.state = ReplicaState::Acknowledged;
		replica.commit_by = Some(commit_by);
		let index = replica.index;
		Self::deposit_event(Event::ReplicaAcknowledged { job: id, replica: index, commit_by });
		let drew = job.unfilled() > 0 && !job.needs_primary();
		if drew {
			Self::refill(id, job);
		}
		Ok(drew)
	}

	pub(crate) fn do_decline(
		signer: T::AccountId,
		id: JobId,
		index: ReplicaIndex,
	) -> DispatchResult {
		let mut job = Self::running_job(id)?;
		let position = Self::replica_of(&job, index, &signer)?;
		let now = frame_system::Pallet::<T>::block_number();
		let replica = job.replicas.get_mut(position).ok_or(Error::<T>::UnknownReplica)?;
		ensure!(
			replica.state == ReplicaState::Assigned && now <= replica.ack_by,
			Error::<T>::NotAwaitingAck
		);
		replica.state = ReplicaState::Missed(Missed::Declined);
		let (offer, provider) = (replica.offer, replica.provider.clone());
		Self::release_slot(offer, id);
		Self::deposit_event(Event::ReplicaDeclined { job: id, replica: index, provider });
		if job.phase == JobPhase::Open {
			Self::refill(id, &mut job);
			Self::advance(id, &mut job);
		}
		Self::store_job(id, job);
		Ok(())
	}

	pub(crate) fn do_reap_offer(offer_id: OfferId) -> DispatchResult {
		let offer = Offers::<T>::get(offer_id).ok_or(Error::<T>::UnknownOffer)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(offer.open && offer.expires_at <= now, Error::<T>::NothingToReap);
		Self::close_offer(offer_id, true);
		Ok(())
	}

	pub(crate) fn do_reap_job(id: JobId) -> DispatchResult {
		let job = Jobs::<T>::get(id).ok_or(Error::<T>::UnknownJob)?;
		let now = frame_system::Pallet::<T>::block_number();
		let reapable = job
			.ended_at
			.is_some_and(|ended| ended.saturating_add(T::RecordRetention::get()) <= now);
		ensure!(reapable, Error::<T>::NothingToReap);
		let _ = T::Currency::release(
			&HoldReason::JobDeposit.into(),
			&job.requester,
			job.deposit,
			Precision::BestEffort,
		);
		Jobs::<T>::remove(id);
		if job.small_input.is_none() {
			JobInputs::<T>::remove(id);
		}
		Self::deposit_event(Event::JobReaped { job: id });
		Ok(())
	}
}

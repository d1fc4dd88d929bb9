import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { route } from '../src/app.jsx';
import { NetworkPage } from '../src/views/network.jsx';
import { JobPage, phaseName, policyName } from '../src/views/job.jsx';
import { measuredBlockMs } from '../src/chain.js';
import { ProvidersPage, perBillion } from '../src/views/providers.jsx';
import { JobList, PAGE, idsOfPage } from '../src/views/joblist.jsx';

afterEach(() => {
  cleanup();
  window.location.hash = '';
});

/// A connection whose block subscription calls back once, and never again.
function connWithHeads(nextJobId = 0) {
  const stopped = { count: 0 };
  const conn = {
    api: {
      rpc: { chain: { subscribeNewHeads: async (cb) => (cb({}), () => (stopped.count += 1)) } },
      query: { market: { nextJobId: async () => ({ toNumber: () => nextJobId }) } },
    },
  };
  return { conn, stopped };
}

describe('routes', () => {
  it('maps the address fragment to a page', () => {
    expect(route('')).toEqual({ page: 'market' });
    expect(route('#/network')).toEqual({ page: 'network' });
    expect(route('#/jobs')).toEqual({ page: 'jobs', id: null });
    expect(route('#/jobs/42')).toEqual({ page: 'jobs', id: '42' });
    expect(route('#/nonsense')).toEqual({ page: 'market' });
    expect(route('#/providers')).toEqual({ page: 'providers', account: null });
    expect(route('#/providers/fhAlice')).toEqual({ page: 'providers', account: 'fhAlice' });
  });
});

describe('the network page', () => {
  it('shows what the follower reports and stops following when it goes', async () => {
    let stops = 0;
    const follow = async (_conn, update) => {
      update({ chain: 'Local', best: 12, finalized: 11, lag: 1, slotMs: 3000, blockMs: 3010, validators: ['a', 'b', 'c', 'd'] });
      return () => (stops += 1);
    };
    const { unmount } = render(<NetworkPage conn={{}} follow={follow} />);
    await screen.findByText('#12');
    expect(screen.getByTestId('finalized').textContent).toBe('#11');
    expect(screen.getByTestId('lag').textContent).toBe('1 block');
    expect(screen.getByTestId('block-time').textContent).toContain('3.01 s');
    expect(screen.getByTestId('validators').textContent).toBe('4');
    unmount();
    expect(stops).toBe(1);
  });

  it('measures the block time from timestamps', () => {
    expect(measuredBlockMs([{ number: 1, now: 0 }])).toBe(null);
    expect(measuredBlockMs([{ number: 10, now: 30_000 }, { number: 14, now: 42_400 }])).toBe(3100);
  });
});

describe('the providers pages', () => {
  const provider = {
    account: 'fhEukDgJBy19ph8ce1TThMecGenFeyb5TVuH6bW4J2md8MfJT', worker: 'fhWorker', status: 'Active', registeredAt: 3,
    stake: '50000000000000', reservedSlots: 2, frozen: '0', slashed: '1000000000000',
    profile: { region: 276, cpuCores: 8, memoryMib: 16384, gpus: [{ model: '0x48313030', vramMib: 81559 }] },
  };

  it('lists a page of providers, each linked to its page', async () => {
    const { conn } = connWithHeads();
    render(<ProvidersPage conn={conn} account={null} list={async () => ({ providers: [provider], next: null })} />);
    const link = await screen.findByRole('link', { name: 'fhEukD…8MfJT' });
    expect(link.getAttribute('href')).toBe(`#/providers/${provider.account}`);
    expect(screen.getByText('50 STRAT')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Next' })).toBe(null);
  });

  it("shows a provider's stake, machine, offers, reputation and slashes", async () => {
    const { conn } = connWithHeads();
    const detail = async () => ({
      ...provider,
      offers: [{ offer: 4, class: 'Cpu', price: '2000000000', slots: 2, inUse: 1, expiresAt: 900, open: true }],
      replicas: [{ job: 9, replica: 0, state: 'Committed', price: '2000000000' }],
      reputation: [{ kind: 'Wasm', score: 950000000, agreed: 12, failed: 1, consecutiveValid: 7 }],
      pending: [{ amount: '500000000000', offence: 'MissedReveal', job: 8, applyAt: 120 }],
      applied: [],
    });
    render(<ProvidersPage conn={conn} account={provider.account} detail={detail} />);
    expect((await screen.findByTestId('stake')).textContent).toContain('50 STRAT (2 slot(s) held');
    expect(screen.getByText(/8 CPU cores, 16384 MiB memory, H100 81559 MiB/)).toBeTruthy();
    expect(screen.getByTestId('offers').textContent).toContain('0.002 STRAT');
    expect(screen.getByTestId('reputation').textContent).toContain('score 95%, 12 result(s) agreed, 1 failed');
    expect(screen.getByTestId('slashes').textContent).toContain('pending: 0.5 STRAT for MissedReveal on job 8');
    expect(screen.getByRole('link', { name: 'job 9' }).getAttribute('href')).toBe('#/jobs/9');
  });

  it('says so for an account that is not a provider', async () => {
    const { conn } = connWithHeads();
    render(<ProvidersPage conn={conn} account="fhNobody" detail={async () => null} />);
    expect((await screen.findByRole('status')).textContent).toContain('fhNobody is not a registered provider');
  });

  it('writes shares of a billion as percentages', () => {
    expect(perBillion(950_000_000)).toBe('95%');
    expect(perBillion(123_456_789)).toBe('12.3%');
  });
});

describe('the job list', () => {
  it('pages job ids newest first, fifty at a time, down to job 0', () => {
    expect(PAGE).toBe(50);
    expect(idsOfPage(3, 0)).toEqual([2, 1, 0]);
    const first = idsOfPage(120, 0);
    expect(first[0]).toBe(119);
    expect(first.length).toBe(50);
    expect(idsOfPage(120, 2)).toEqual(Array.from({ length: 20 }, (_, i) => 19 - i));
    expect(idsOfPage(120, 3)).toEqual([]);
  });

  it('says so when no job was ever posted, and counts them otherwise', async () => {
    render(<JobList conn={connWithHeads(0).conn} />);
    expect((await screen.findByRole('status')).textContent).toContain('No job has been posted');
    cleanup();
    render(<JobList conn={connWithHeads(10_000).conn} read={async (_c, ids) => ids.map((job) => ({ job, reaped: true }))} />);
    expect((await screen.findByText(/10000 job\(s\) posted on this chain/)).textContent).toContain('newest first');
  });
});

describe('the job page', () => {
  it('refuses an id that is not a number, and goes nowhere', async () => {
    const { conn } = connWithHeads();
    render(<JobPage conn={conn} id={null} read={async () => null} why={async () => null} />);
    fireEvent.input(screen.getByLabelText(/Job id/), { target: { value: '4x' } });
    fireEvent.submit(screen.getByRole('button', { name: 'Show' }).closest('form'));
    expect((await screen.findByRole('alert')).textContent).toContain('"4x" is not a job id');
    expect(window.location.hash).toBe('');
  });

  it('shows a job, what it paid, and why nothing serves what is unfilled', async () => {
    const { conn, stopped } = connWithHeads();
    const job = {
      job: 7, requester: 'fhRequester', program: '0xabc', policy: { replicated: 2 }, maxPrice: '2000',
      maxUnits: 100, submittedAt: 5, deadline: 200, escrow: '0', unfilled: 1, phase: 'Open',
      replicas: [
        { replica: 0, provider: 'fhEukDgJBy19ph8ce1TThMecGenFeyb5TVuH6bW4J2md8MfJT', role: 'Primary', price: '1000', state: 'Committed', units: null, paid: '1500000000000' },
      ],
    };
    const { unmount } = render(
      <JobPage conn={conn} id="7" read={async () => job} why={async () => ({ job: 7, kind: 'Wasm', unfilled: 1, timeLeft: true, offers: 3, eligible: 0, excludedBy: [['Region', 2], ['MaxPrice', 1]] })} />,
    );
    await screen.findByText('open');
    expect(screen.getByTestId('paid').textContent).toBe('1.5 STRAT');
    expect(screen.getByText('replicated(2)')).toBeTruthy();
    const why = (await screen.findByRole('note')).textContent;
    expect(why).toContain('Of the 3 open WASM offer(s) with a free slot, 0 meet(s) every requirement.');
    expect(why).toContain('2 offer(s) are in regions the job does not allow');
    expect(why).toContain("1 offer(s) ask more per unit than the job's max_price");
    unmount();
    expect(stopped.count).toBe(1);
  });

  it('says so for a job the chain does not have', async () => {
    const { conn } = connWithHeads();
    render(<JobPage conn={conn} id="99" read={async () => null} why={async () => null} />);
    expect((await screen.findByRole('status')).textContent).toContain('No job 99');
  });

  it('names phases and policies as manifests do', () => {
    expect(phaseName({ Settled: { digest: '0x1' } })).toBe('settled');
    expect(policyName('Adaptive')).toBe('adaptive');
    expect(policyName({ Replicated: 3 })).toBe('replicated(3)');
  });
});

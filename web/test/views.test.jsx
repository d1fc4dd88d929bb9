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
    expect(route('#/jobs/by/fhAlice')).toEqual({ page: 'jobs', id: null, requester: 'fhAlice' });
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
      history: {
        indexedFrom: 1, indexedTo: 140, earned: '3000000000000', paid: 3, offences: 1,
        recent: [
          { block: 130, job: 8, replica: 1, outcome: 'missedReveal', amount: '0' },
          { block: 100, job: 5, replica: 0, outcome: 'paid', amount: '1000000000000' },
        ],
      },
    });
    render(<ProvidersPage conn={conn} account={provider.account} detail={detail} />);
    expect((await screen.findByTestId('stake')).textContent).toContain('50 STRAT (2 slot(s) held');
    expect(screen.getByText(/8 CPU cores, 16384 MiB memory, H100 81559 MiB/)).toBeTruthy();
    expect(screen.getByTestId('offers').textContent).toContain('0.002 STRAT');
    expect(screen.getByTestId('reputation').textContent).toContain('score 95%, 12 result(s) agreed, 1 failed');
    expect(screen.getByTestId('slashes').textContent).toContain('pending: 0.5 STRAT for MissedReveal on job 8');
    expect(screen.getByRole('link', { name: 'job 9' }).getAttribute('href')).toBe('#/jobs/9');
    const results = screen.getByTestId('results').textContent;
    expect(results).toContain('In blocks #1–#140 (finalized, as this node indexed them): earned 3 STRAT for 3 paid replica(s); 1 offence(s) reported.');
    expect(results).toContain('#130job 81missed its reveal0 planck');
    expect(results).toContain('#100job 50paid1 STRAT');
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

const history = [
  { block: 5, section: 'market', method: 'JobSubmitted', data: { job: '7', requester: 'fhRequester', escrow: '600000000000' } },
  { block: 6, section: 'market', method: 'ReplicaAssigned', data: { job: '7', replica: '0', provider: 'fhEukDgJBy19ph8ce1TThMecGenFeyb5TVuH6bW4J2md8MfJT', price: '1000', ackBy: '9' } },
  { block: 8, section: 'verification', method: 'ReplicaCommitted', data: { job: '7', replica: '0', commitment: '0xff' } },
];

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
      <JobPage
        conn={conn}
        id="7"
        read={async () => job}
        why={async () => ({ job: 7, kind: 'Wasm', unfilled: 1, timeLeft: true, offers: 3, eligible: 0, excludedBy: [['Region', 2], ['MaxPrice', 1]] })}
        history={async () => ({ from: 5, to: 9, missing: 0, entries: history })}
      />,
    );
    await screen.findByText('open');
    // The timeline in words, with block numbers; what it cost so far.
    const timeline = (await screen.findByTestId('timeline')).textContent;
    expect(timeline).toContain('#5 posted by fhRequester; 0.6 STRAT held in escrow');
    expect(timeline).toContain('#6 replica 0 matched to fhEukD…8MfJT at 1000 planck per unit (to acknowledge by #9)');
    expect(timeline).toContain('#8 replica 0 committed to a result');
    expect(screen.getByTestId('cost').textContent).toBe(
      '0.6 STRAT held at posting; 0 planck paid to providers and 0 planck in network fees; the rest stays in escrow until the job ends',
    );
    expect(screen.getByTestId('paid').textContent).toBe('1.5 STRAT');
    expect(screen.getByText('replicated(2)')).toBeTruthy();
    const why = (await screen.findByRole('note')).textContent;
    expect(why).toContain('Of the 3 open WASM offer(s) with a free slot, 0 meet(s) every requirement.');
    expect(why).toContain('2 offer(s) are in regions the job does not allow');
    expect(why).toContain("1 offer(s) ask more per unit than the job's max_price");
    unmount();
    // Every read (the job; why; its timeline) stops following the chain.
    expect(stopped.count).toBe(3);
  });

  it('says what a settled job cost, what came back, and that only its requester downloads the output', async () => {
    const { conn } = connWithHeads();
    conn.api.rpc.system = { chainType: async () => ({ isDevelopment: false, isLocal: false }) };
    const job = {
      job: 8, requester: 'fhEukDgJBy19ph8ce1TThMecGenFeyb5TVuH6bW4J2md8MfJT', program: '0xabc', policy: 'Unverified', maxPrice: '2000',
      maxUnits: 100, submittedAt: 5, deadline: 200, escrow: '0', unfilled: 0, phase: { Settled: { digest: '0x01' } }, replicas: [],
    };
    render(
      <JobPage
        conn={conn}
        id="8"
        read={async () => job}
        why={async () => null}
        history={async () => ({
          from: 5,
          to: 7,
          missing: 1,
          entries: [
            { block: 5, section: 'market', method: 'JobSubmitted', data: { job: '8', requester: job.requester, escrow: '200000' } },
            { block: 7, section: 'market', method: 'ProviderPaid', data: { job: '8', replica: '0', provider: job.requester, amount: '99000', fee: '1000' } },
            { block: 7, section: 'market', method: 'JobSettled', data: { job: '8', digest: `0x${'12'.repeat(32)}`, units: '100', paid: '99000', refunded: '100000' } },
          ],
        })}
      />,
    );
    await screen.findByText('settled');
    expect((await screen.findByTestId('cost')).textContent).toBe(
      '200000 planck held at posting; 99000 planck paid to providers and 1000 planck in network fees; 100000 planck refunded',
    );
    expect(screen.getByTestId('timeline').textContent).toContain('#7 settled on digest 0x12121212…: 100 units, 99000 planck paid, 100000 planck refunded');
    expect(screen.getByText(/no longer holds the events of 1 of blocks #5–#7/)).toBeTruthy();
    expect(screen.getByText(/Only the requester \(fhEukD…8MfJT\) can download the output/)).toBeTruthy();
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

describe('the market history', () => {
  it('summarises the prices matched over the blocks indexed, and says when there were none', async () => {
    const { historySummary } = await import('../src/views/market.jsx');
    const history = {
      indexedFrom: 1, indexedTo: 40,
      points: [
        { from: 1, blocks: 20, timestamp: 1_000_000, matches: 3, min: '1000', max: '1200', mean: '1066' },
        { from: 21, blocks: 20, timestamp: 1_060_000, matches: 0, min: null, max: null, mean: null },
      ],
    };
    expect(historySummary(history, 'WASM')).toBe(
      'WASM: 3 replica(s) matched in blocks #1–#40 (finalized, as this node indexed them), from 1000 planck to 1200 planck per unit.',
    );
    expect(historySummary({ ...history, points: [history.points[1]] }, 'CUDA')).toBe('CUDA: 0 replica(s) matched in blocks #1–#40 (finalized, as this node indexed them).');
  });
});

describe("a requester's jobs", () => {
  it('lists them newest first from the node index, fifty a page, with their phases', async () => {
    const { RequesterJobs } = await import('../src/views/joblist.jsx');
    const { conn } = connWithHeads();
    const asked = [];
    const list = async (before) => {
      asked.push(before);
      const all = Array.from({ length: 60 }, (_, i) => 59 - i);
      const jobs = all.filter((j) => before === null || j < before).slice(0, PAGE);
      return { indexedFrom: 1, indexedTo: 99, total: 60, jobs };
    };
    const read = async (_conn, ids) => ids.map((job) => ({ job, phase: job === 59 ? 'Open' : { Settled: { digest: '0x1' } }, policy: 'Adaptive', replicas: [], maxPrice: '1000' }));
    render(<RequesterJobs conn={conn} requester="fhAlice" list={list} read={read} />);
    expect((await screen.findByRole('status')).textContent).toContain('60 job(s) by fhAlice in blocks #1–#99');
    expect(screen.getByTestId('requester-phase-59').textContent).toBe('open');
    expect(screen.getByTestId('requester-phase-10').textContent).toBe('settled');
    fireEvent.click(screen.getByRole('button', { name: 'Older' }));
    await screen.findByTestId('requester-phase-9');
    expect([...new Set(asked)]).toEqual([null, 10]);
    expect(screen.queryByRole('button', { name: 'Older' })).toBe(null);
  });
});

describe('requirements in words', () => {
  it('says what a job asks of its providers, as a manifest would', async () => {
    const { requirementsText } = await import('../src/why.js');
    expect(requirementsText({ regionsAllowed: [], regionsDenied: [], gpuModels: [], minCpuCores: 0, minMemoryMib: 0, minVramMib: 0, minComputeCapability: 0, minStake: 0, minReputation: 0 })).toBe('none (any provider)');
    expect(
      requirementsText({
        regionsAllowed: [276, 250], regionsDenied: [840], gpuModels: ['0x48313030'], minCpuCores: 4, minMemoryMib: 8192,
        minVramMib: 40960, minComputeCapability: 80, minStake: '100000000000000', minReputation: 600000000,
      }),
    ).toBe(
      'regions 276, 250 only; not regions 840; at least 4 CPU cores; at least 8192 MiB memory; at least 40960 MiB GPU memory; compute capability 8.0 or later; GPU H100; providers staking at least 100 STRAT; reputation at least 60%',
    );
  });
});

describe('pages of providers', () => {
  it('offers a next page only when there is one, even when the count is a multiple of the page', async () => {
    const { providersPage } = await import('../src/chain.js');
    const all = Array.from({ length: 4 }, (_, i) => [
      { args: [{ toString: () => `fhP${i}` }], toHex: () => `0x0${i}` },
      { unwrap: () => ({ toJSON: () => ({ stake: '1' }) }) },
    ]);
    const api = {
      query: {
        providerStaking: {
          providers: {
            entriesPaged: async ({ pageSize, startKey }) => {
              const from = startKey === undefined ? 0 : all.findIndex(([k]) => k.toHex() === startKey) + 1;
              return all.slice(from, from + pageSize);
            },
          },
        },
      },
    };
    const first = await providersPage({ api }, null, 2);
    expect(first.providers.map((p) => p.account)).toEqual(['fhP0', 'fhP1']);
    expect(first.next).toBe('0x01');
    const second = await providersPage({ api }, first.next, 2);
    expect(second.providers.map((p) => p.account)).toEqual(['fhP2', 'fhP3']);
    expect(second.next).toBe(null);
  });
});

describe('one read a block', () => {
  it('hands every caller of the same head the same answer, and reads again for the next head', async () => {
    const { onePerBlock } = await import('../src/hooks.js');
    let reads = 0;
    const shared = onePerBlock(async () => ++reads);
    const head = (h) => ({ hash: { toHex: () => h } });
    expect(await Promise.all([shared(head('0x1')), shared(head('0x1')), shared(head('0x1'))])).toEqual([1, 1, 1]);
    expect(await shared(head('0x2'))).toBe(2);
    expect(reads).toBe(2);
  });
});

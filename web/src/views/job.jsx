// A job: its program, terms, policy, replicas and where it is, live at each new block, and, for a
// job nobody serves, why (market_whyNoMatch).

import { useEffect, useMemo, useState } from 'preact/hooks';
import { onePerBlock, useEachBlock } from '../hooks.js';
import { jobStatus as readJob, whyNoMatch as readWhy } from '../chain.js';
import { amount, short } from '../format.js';
import { requirementsText, whyLines } from '../why.js';
import { costOf, describeEvent, jobTimeline } from '../events.js';
import { downloadOutput } from '../download.js';
import { sameAccount, useAccounts } from '../accounts.js';
import { JobList, RequesterJobs } from './joblist.jsx';
import { decodeAddress } from '@polkadot/util-crypto';

/// A phase as words: `{ settled: { digest } }` → "settled", `"open"` → "open".
export function phaseName(phase) {
  if (typeof phase === 'string') return phase.toLowerCase();
  return Object.keys(phase ?? {})[0]?.toLowerCase() ?? 'unknown';
}

/// A policy as written in a manifest: "adaptive", "replicated(2)", "unverified".
export function policyName(policy) {
  if (typeof policy === 'string') return policy.toLowerCase();
  const [name, n] = Object.entries(policy ?? {})[0] ?? ['unknown'];
  return n === undefined || n === null ? name.toLowerCase() : `${name.toLowerCase()}(${n})`;
}

/// The job's events from the block that posted it to the block that ended it (or the best).
async function readHistory(conn, status) {
  const best = (await conn.api.rpc.chain.getHeader()).number.toNumber();
  return jobTimeline(conn, status.job, status.submittedAt, status.endedAt ?? best);
}

export function JobPage({ conn, id, requester = null, read = readJob, why = readWhy, history = readHistory }) {
  const [wanted, setWanted] = useState(id ?? '');
  const [whose, setWhose] = useState(requester ?? '');
  const [problem, setProblem] = useState(null);
  const byRequester = (e) => {
    e.preventDefault();
    const who = whose.trim();
    try {
      decodeAddress(who);
    } catch {
      setProblem(`"${who}" is not an account: write its SS58 address, as \`stratus account list\` prints it`);
      return;
    }
    setProblem(null);
    window.location.hash = `#/jobs/by/${who}`;
  };
  const submit = (e) => {
    e.preventDefault();
    if (!/^[0-9]{1,20}$/.test(wanted.trim())) {
      setProblem(`"${wanted}" is not a job id: ids are whole numbers, as \`stratus job submit\` prints them`);
      return;
    }
    setProblem(null);
    window.location.hash = `#/jobs/${wanted.trim()}`;
  };
  return (
    <section aria-label="jobs">
      <h2>Jobs</h2>
      <form onSubmit={submit} class="lookup">
        <label>
          Job id <input name="job" value={wanted} onInput={(e) => setWanted(e.currentTarget.value)} />
        </label>
        <button type="submit">Show</button>
      </form>
      <form onSubmit={byRequester} class="lookup">
        <label>
          Requester <input name="requester" value={whose} onInput={(e) => setWhose(e.currentTarget.value)} size={50} />
        </label>
        <button type="submit">Their jobs</button>
      </form>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {id !== null && id !== undefined && <JobView key={id} conn={conn} id={Number(id)} read={read} why={why} history={history} />}
      {(id === null || id === undefined) && requester && <RequesterJobs conn={conn} requester={requester} />}
      {(id === null || id === undefined) && !requester && <JobList conn={conn} />}
    </section>
  );
}

function JobView({ conn, id, read, why, history }) {
  // Read again at each new best block: a job moves only when a block moves it. The job first; what
  // takes longer — why nothing serves it (the node walks up to 10,000 offers), its timeline (a
  // block's events each) — in reads of their own, each shown when it comes.
  // One jobStatus a block, shared by the three reads.
  const readStatus = useMemo(() => onePerBlock(() => read(conn, id)), [conn, id]);
  const [status, error] = useEachBlock(conn, readStatus, [conn, id]);
  const [whyNot] = useEachBlock(
    conn,
    async (head) => {
      const status = await readStatus(head);
      return status && status.unfilled > 0 ? why(conn, id) : null;
    },
    [conn, id],
  );
  const [more] = useEachBlock(
    conn,
    async (head) => {
      const status = await readStatus(head);
      if (!status) return {};
      const [timeline, requirements] = await Promise.all([
        history(conn, status).catch(() => null),
        // Not in market_jobStatus: from the job's record.
        (async () => {
          const record = await conn.api.query.market.jobs(id);
          return record.isSome ? record.unwrap().requirements.toJSON() : null;
        })().catch(() => null),
      ]);
      // The finalized block the timeline read (the download waits for the settling block's).
      return { timeline, finalized: timeline?.finalized ?? null, requirements };
    },
    [conn, id],
  );
  const seen = { status, noMatch: whyNot, ...more };
  const job = status;
  const noMatch = seen.noMatch;
  const timeline = seen.timeline;
  const cost = timeline ? costOf(timeline.entries) : null;
  if (error) return <p class="error" role="alert">Reading job {id} failed: {String(error.message ?? error)}</p>;
  if (job === undefined) return <p>Reading job {id}…</p>;
  if (job === null) return <p role="status">No job {id} on this chain (never posted, or its record was reaped).</p>;
  const paid = job.replicas.reduce((sum, r) => sum + BigInt(r.paid ?? 0), 0n);
  return (
    <article aria-label={`job ${id}`}>
      <h3>
        Job {job.job}: <span data-testid="phase">{phaseName(job.phase)}</span>
      </h3>
      <dl class="facts">
        <dt>Requester</dt>
        <dd class="mono">{job.requester}</dd>
        <dt>Program</dt>
        <dd class="mono">{job.program}</dd>
        <dt>Policy</dt>
        <dd>{policyName(job.policy)}</dd>
        <dt>Requirements</dt>
        <dd data-testid="requirements">{seen.requirements === undefined ? '…' : requirementsText(seen.requirements)}</dd>
        <dt>Max price</dt>
        <dd>{amount(job.maxPrice)} per unit, at most {job.maxUnits} units a replica</dd>
        <dt>Posted</dt>
        <dd>block #{job.submittedAt}, deadline #{job.deadline}</dd>
        <dt>Escrow held now</dt>
        <dd>{amount(job.escrow)}</dd>
        <dt>Paid to providers</dt>
        <dd data-testid="paid">{amount(paid)}</dd>
        {cost && cost.escrow !== null && (
          <>
            <dt>What it cost</dt>
            <dd data-testid="cost">
              {amount(cost.escrow)} held at posting; {amount(cost.paid)} paid to providers and {amount(cost.fees)} in network fees
              {cost.refunded !== null ? `; ${amount(cost.refunded)} refunded` : '; the rest stays in escrow until the job ends'}
            </dd>
          </>
        )}
      </dl>
      <table>
        <thead>
          <tr>
            <th>replica</th>
            <th>provider</th>
            <th>role</th>
            <th>price</th>
            <th>state</th>
            <th>units</th>
            <th>paid</th>
          </tr>
        </thead>
        <tbody>
          {job.replicas.map((r) => (
            <tr>
              <td>{r.replica}</td>
              <td class="mono" title={r.provider}>
                <a href={`#/providers/${r.provider}`}>{short(r.provider)}</a>
              </td>
              <td>{String(r.role).toLowerCase()}</td>
              <td>{amount(r.price)}</td>
              <td>{phaseName(r.state)}</td>
              <td>{r.units ?? '—'}</td>
              <td>{amount(r.paid ?? 0)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {timeline && <Timeline timeline={timeline} />}
      {phaseName(job.phase) === 'settled' && <Download conn={conn} job={job} finalized={seen.finalized} />}
      {noMatch && (
        <div class="why" role="note">
          <h4>Why nothing serves it</h4>
          {whyLines(noMatch).map((line) => (
            <p>{line}</p>
          ))}
        </div>
      )}
    </article>
  );
}

/// The job's life, block by block, from its events.
function Timeline({ timeline }) {
  return (
    <div class="timeline">
      <h4>Timeline</h4>
      {timeline.missing > 0 && (
        <p>
          The node no longer holds the events of {timeline.missing} of blocks #{timeline.from}–#{timeline.to} (a pruned node keeps the
          last blocks' state only): what is left is below.
        </p>
      )}
      {timeline.skipped && (
        <p>
          A long job: blocks #{timeline.skipped[0]}–#{timeline.skipped[1]} are not read here (its first and last blocks are).
        </p>
      )}
      <ol data-testid="timeline">
        {timeline.entries.map((e) => (
          <li>
            <span class="block">#{e.block}</span> {describeEvent(e)}
          </li>
        ))}
      </ol>
    </div>
  );
}

/// The verified output, downloaded with a request the requester signs, checked against the
/// settled digest, then saved from the page.
function Download({ conn, job, finalized }) {
  const { accounts } = useAccounts(conn.api);
  const [got, setGot] = useState(null);
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const requester = accounts.find((a) => sameAccount(a.address, job.requester));
  // The saved file's address lives as long as the section that offers it.
  useEffect(() => () => got && URL.revokeObjectURL(got.url), [got]);
  const fetchOutput = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const out = await downloadOutput(conn, job, requester);
      setGot({ ...out, url: URL.createObjectURL(new Blob([out.bytes], { type: 'application/octet-stream' })) });
    } catch (e) {
      setProblem(e.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="download">
      <h4>Verified output</h4>
      {!requester && (
        <p>
          Only the requester ({short(job.requester)}) can download the output: connect the wallet that holds its key on the "Post a job"
          page.
        </p>
      )}
      {requester && !got && !(finalized >= job.endedAt) && (
        <p role="status">
          Settled in block #{job.endedAt}: its workers serve the output once that block is final (finalized now: #{finalized ?? '…'}).
        </p>
      )}
      {requester && !got && finalized >= job.endedAt && (
        <button type="button" onClick={fetchOutput} disabled={busy}>
          {busy ? 'Downloading…' : `Download the output (signed by ${requester.label})`}
        </button>
      )}
      {got && (
        <p data-testid="output" role="status">
          {got.bytes.length} bytes from {got.endpoint}; their blake2-256 is the settled digest {got.digest}.{' '}
          <a href={got.url} download={`job-${job.job}.out`}>
            Save job-{job.job}.out
          </a>
        </p>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}

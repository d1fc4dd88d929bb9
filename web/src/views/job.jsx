// A job: its program, terms, policy, replicas and where it is, live at each new block, and, for a
// job nobody serves, why (market_whyNoMatch).

import { useState } from 'preact/hooks';
import { useEachBlock } from '../hooks.js';
import { jobStatus as readJob, whyNoMatch as readWhy } from '../chain.js';
import { amount, short } from '../format.js';
import { whyLines } from '../why.js';
import { JobList } from './joblist.jsx';

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

export function JobPage({ conn, id, read = readJob, why = readWhy }) {
  const [wanted, setWanted] = useState(id ?? '');
  const [problem, setProblem] = useState(null);
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
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {id !== null && id !== undefined && <JobView conn={conn} id={Number(id)} read={read} why={why} />}
      {(id === null || id === undefined) && <JobList conn={conn} />}
    </section>
  );
}

function JobView({ conn, id, read, why }) {
  // Read again at each new best block: a job moves only when a block moves it.
  const [seen, error] = useEachBlock(
    conn,
    async () => {
      const status = await read(conn, id);
      return { status, noMatch: status && status.unfilled > 0 ? await why(conn, id) : null };
    },
    [conn, id],
  );
  const job = seen?.status;
  const noMatch = seen?.noMatch;
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
        <dt>Max price</dt>
        <dd>{amount(job.maxPrice)} per unit, at most {job.maxUnits} units a replica</dd>
        <dt>Posted</dt>
        <dd>block #{job.submittedAt}, deadline #{job.deadline}</dd>
        <dt>Escrow held</dt>
        <dd>{amount(job.escrow)}</dd>
        <dt>Paid to providers</dt>
        <dd data-testid="paid">{amount(paid)}</dd>
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

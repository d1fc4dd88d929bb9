// Providers: the registered providers a page at a time, and one provider's stake, capabilities,
// offers, live replicas, reputation and slashes, read again at each new block.

import { useState } from 'preact/hooks';
import { useEachBlock } from '../hooks.js';
import { providerDetail, providersPage } from '../chain.js';
import { amount, short } from '../format.js';
import { phaseName } from './job.jsx';

/// A share in parts per billion as a percentage: 950000000 → "95%".
export function perBillion(parts) {
  return `${(Number(parts) / 1e7).toFixed(Number(parts) % 1e7 === 0 ? 0 : 1)}%`;
}

export function ProvidersPage({ conn, account, list = providersPage, detail = providerDetail }) {
  if (account) return <ProviderView key={account} conn={conn} account={account} detail={detail} />;
  return <ProviderList conn={conn} list={list} />;
}

function ProviderList({ conn, list }) {
  const [cursor, setCursor] = useState([null]);
  const after = cursor[cursor.length - 1];
  const [page, error] = useEachBlock(conn, () => list(conn, after), [conn, after]);
  if (error) return <p class="error" role="alert">Reading providers failed: {String(error.message ?? error)}</p>;
  if (page === undefined) return <p>Reading providers…</p>;
  return (
    <section aria-label="providers">
      <h2>Providers</h2>
      {page.providers.length === 0 && <p role="status">No provider is registered on this chain yet.</p>}
      <table>
        <thead>
          <tr>
            <th>provider</th>
            <th>stake</th>
            <th>region</th>
            <th>CPU cores</th>
            <th>GPUs</th>
            <th>status</th>
          </tr>
        </thead>
        <tbody>
          {page.providers.map((p) => (
            <tr>
              <td class="mono">
                <a href={`#/providers/${p.account}`}>{short(p.account)}</a>
              </td>
              <td>{amount(p.stake)}</td>
              <td>{p.profile.region}</td>
              <td>{p.profile.cpuCores}</td>
              <td>{p.profile.gpus.length}</td>
              <td>{String(p.status).toLowerCase()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        {cursor.length > 1 && <button onClick={() => setCursor(cursor.slice(0, -1))}>Previous</button>}
        {page.next && <button onClick={() => setCursor([...cursor, page.next])}>Next</button>}
      </p>
    </section>
  );
}

function ProviderView({ conn, account, detail }) {
  const [p, error] = useEachBlock(conn, () => detail(conn, account), [conn, account]);
  if (error) return <p class="error" role="alert">Reading provider {account} failed: {String(error.message ?? error)}</p>;
  if (p === undefined) return <p>Reading provider {short(account)}…</p>;
  if (p === null) return <p role="status">{account} is not a registered provider on this chain.</p>;
  const gpus = p.profile.gpus.map((g) => `${g.model ? new TextDecoder().decode(hexBytes(g.model)) : 'GPU'} ${g.vramMib} MiB`);
  return (
    <section aria-label={`provider ${account}`}>
      <h2>
        Provider <span class="mono">{short(account)}</span>
      </h2>
      <dl class="facts">
        <dt>Account</dt>
        <dd class="mono">{account}</dd>
        <dt>Worker key</dt>
        <dd class="mono">{p.worker}</dd>
        <dt>Status</dt>
        <dd>{String(p.status).toLowerCase()}, registered at block #{p.registeredAt}</dd>
        <dt>Stake</dt>
        <dd data-testid="stake">
          {amount(p.stake)} ({p.reservedSlots} slot(s) held against it; {amount(p.frozen)} frozen by pending slashes)
        </dd>
        <dt>Slashed so far</dt>
        <dd>{amount(p.slashed)}</dd>
        <dt>Region</dt>
        <dd>{p.profile.region}</dd>
        <dt>Machine</dt>
        <dd>
          {p.profile.cpuCores} CPU cores, {p.profile.memoryMib} MiB memory{gpus.length ? `, ${gpus.join(', ')}` : ''}
        </dd>
      </dl>
      <h3>Offers</h3>
      {p.offers.length === 0 ? (
        <p>No offers.</p>
      ) : (
        <table data-testid="offers">
          <thead>
            <tr>
              <th>offer</th>
              <th>class</th>
              <th>price per unit</th>
              <th>slots in use</th>
              <th>expires</th>
              <th>open</th>
            </tr>
          </thead>
          <tbody>
            {p.offers.map((o) => (
              <tr>
                <td>{o.offer}</td>
                <td>{typeof o.class === 'string' ? o.class : Object.keys(o.class)[0]}</td>
                <td>{amount(o.price)}</td>
                <td>
                  {o.inUse} / {o.slots}
                </td>
                <td>#{o.expiresAt}</td>
                <td>{o.open ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Running now</h3>
      {p.replicas.length === 0 ? (
        <p>No live replicas.</p>
      ) : (
        <ul>
          {p.replicas.map((r) => (
            <li>
              <a href={`#/jobs/${r.job}`}>job {r.job}</a> replica {r.replica}:{' '}
              {phaseName(r.state)} at {amount(r.price)} a unit
            </li>
          ))}
        </ul>
      )}
      <h3>Earnings and recent results</h3>
      <Results history={p.history} />
      <h3>Reputation</h3>
      {p.reputation.length === 0 ? (
        <p>No results judged yet.</p>
      ) : (
        <ul data-testid="reputation">
          {p.reputation.map((r) => (
            <li>
              {String(r.kind)}: score {perBillion(r.score)}, {r.agreed} result(s) agreed, {r.failed} failed, {r.consecutiveValid} valid in a row
            </li>
          ))}
        </ul>
      )}
      <h3>Slashes</h3>
      {p.pending.length === 0 && p.applied.length === 0 ? (
        <p data-testid="slashes">None pending, none applied.</p>
      ) : (
        <ul data-testid="slashes">
          {p.pending.map((s) => (
            <li>
              pending: {amount(s.amount)} for {String(s.offence)} on <a href={`#/jobs/${s.job}`}>job {s.job}</a>, applied at
              block #{s.applyAt} unless cancelled
            </li>
          ))}
          {p.applied.map((s) => (
            <li>
              applied at #{s.appliedAt}: {amount(s.amount)} for {String(s.offence)} on <a href={`#/jobs/${s.job}`}>job {s.job}</a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/// What the provider earned and its latest results, from the node's index of finalized blocks.
export function Results({ history }) {
  if (!history) return <p>This node keeps no market history (market_providerHistory): ask an RPC node that does.</p>;
  if (history.indexedFrom === null) return <p>The node has not indexed any finalized block yet.</p>;
  return (
    <div data-testid="results">
      <p>
        In blocks #{history.indexedFrom}–#{history.indexedTo} (finalized, as this node indexed them): earned {amount(history.earned)} for{' '}
        {history.paid} paid replica(s); {history.offences} offence(s) reported.
      </p>
      {history.recent.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>block</th>
              <th>job</th>
              <th>replica</th>
              <th>result</th>
              <th>earned</th>
            </tr>
          </thead>
          <tbody>
            {history.recent.slice(0, 20).map((r) => (
              <tr>
                <td>#{r.block}</td>
                <td>
                  <a href={`#/jobs/${r.job}`}>job {r.job}</a>
                </td>
                <td>{r.replica}</td>
                <td>{OUTCOMES[r.outcome] ?? r.outcome}</td>
                <td>{amount(r.amount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const OUTCOMES = {
  paid: 'paid',
  missedAck: 'missed its acknowledgement',
  missedCommit: 'missed its commitment',
  missedReveal: 'missed its reveal',
  wrongResult: 'wrong result (outside the quorum)',
};

/// A 0x hex string's bytes.
function hexBytes(hex) {
  const text = String(hex).replace(/^0x/, '');
  return Uint8Array.from(text.match(/.{2}/g) ?? [], (b) => parseInt(b, 16));
}

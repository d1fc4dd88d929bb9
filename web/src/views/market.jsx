// Market: each kind's ask side from the best price up (a depth chart and its price levels), the
// resting jobs from the highest bid down, and the matches per block with their prices, live.

import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { askSide, bidSide, depth } from '../book.js';
import { amount, short } from '../format.js';
import { useEachBlock } from '../hooks.js';
import { blockEvents } from '../events.js';

const KINDS = [
  ['Wasm', 'WASM (CPU slots)'],
  ['Cuda', 'CUDA (GPU slots)'],
];

export function MarketPage({ conn }) {
  const [book, error] = useEachBlock(
    conn,
    async () => {
      const sides = await Promise.all(KINDS.map(([kind]) => Promise.all([askSide(conn, kind), bidSide(conn, kind)])));
      return sides.map(([asks, bids]) => ({ asks, bids }));
    },
    [conn],
  );
  const matches = useMatches(conn);
  const [history] = useEachBlock(
    conn,
    () => Promise.all(KINDS.map(([kind]) => conn.provider.send('market_priceHistory', [kind, 120]).catch(() => null))),
    [conn],
  );
  if (error) return <p class="error" role="alert">Reading the books failed: {String(error.message ?? error)}</p>;
  if (book === undefined) return <p>Reading the market…</p>;
  return (
    <section aria-label="market">
      <h2>Market</h2>
      {KINDS.map(([kind, label], i) => (
        <KindBook kind={kind} label={label} asks={book[i].asks} bids={book[i].bids} />
      ))}
      <h3>Matches per block</h3>
      <MatchesChart matches={matches} />
      <h3>Prices over the last hours</h3>
      {KINDS.map(([kind, label], i) => (
        <PriceHistoryChart kind={kind} label={label} history={history?.[i]} />
      ))}
    </section>
  );
}

function KindBook({ kind, label, asks, bids }) {
  const levels = depth(asks);
  return (
    <div class="book" data-testid={`book-${kind}`}>
      <h3>{label}</h3>
      <p data-testid={`best-${kind}`}>
        {asks.length === 0
          ? 'No open offer with a free slot.'
          : `Best price ${amount(asks[0].price)} per unit; ${levels[levels.length - 1].cumulative} free slot(s) in the ${asks.length} cheapest offer(s).`}{' '}
        {bids.length === 0 ? 'No job rests in the book.' : `${bids.length} job(s) rest in the book, the highest bid ${amount(bids[0].maxPrice)} per unit.`}
      </p>
      {levels.length > 0 && <DepthChart levels={levels} />}
      {asks.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>price per unit</th>
              <th>offer</th>
              <th>provider</th>
              <th>free slots</th>
            </tr>
          </thead>
          <tbody>
            {asks.slice(0, 20).map((o) => (
              <tr>
                <td>{amount(o.price)}</td>
                <td>{String(o.offer)}</td>
                <td class="mono">
                  <a href={`#/providers/${o.provider}`}>{short(o.provider)}</a>
                </td>
                <td>
                  {o.free} / {o.slots}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {bids.length > 0 && (
        <p>
          Resting:{' '}
          {bids.slice(0, 20).map((b) => (
            <a href={`#/jobs/${b.job}`}>
              job {String(b.job)} (up to {amount(b.maxPrice)}){' '}
            </a>
          ))}
        </p>
      )}
    </div>
  );
}

/// A uPlot chart in a div, rebuilt when its data change.
function Plot({ options, data, label }) {
  const el = useRef(null);
  useEffect(() => {
    if (!el.current) return undefined;
    const plot = new uPlot({ width: 640, height: 220, ...options }, data, el.current);
    return () => plot.destroy();
  }, [JSON.stringify(data)]);
  return <div ref={el} class="plot" role="img" aria-label={label} />;
}

function DepthChart({ levels }) {
  // The axis in planck for prices under a thousandth of a STRAT, in STRAT above (a float is
  // exact enough to draw; the table below is exact).
  const inPlanck = levels[levels.length - 1].price < 1_000_000_000n;
  const prices = levels.map((l) => Number(l.price) / (inPlanck ? 1 : 1e12));
  const data = [prices, levels.map((l) => l.cumulative)];
  const options = {
    scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
    axes: [
      { label: `price per unit (${inPlanck ? 'planck' : 'STRAT'})`, values: (_u, ticks) => ticks.map((t) => String(Number(t.toPrecision(3)))) },
      { label: 'free slots at or below' },
    ],
    series: [{ label: 'price' }, { label: 'free slots', stroke: '#3b6fd8', fill: 'rgba(59,111,216,0.15)', paths: uPlot.paths.stepped({ align: 1 }) }],
  };
  return <Plot options={options} data={data} label="depth chart: free slots against price" />;
}

/// Matches (`market.ReplicaAssigned`) per block with their mean price, from 20 blocks before
/// the page opened on, read from each block's events.
function useMatches(conn) {
  const [rows, setRows] = useState([]);
  useEffect(() => {
    let live = true;
    let stop = null;
    const seen = new Map();
    const add = async (number, hash) => {
      if (seen.has(number)) return;
      // The same read (and cache) as a job's timeline.
      const events = await blockEvents(conn, number, -1, hash.toHex());
      if (events === null) return; // a block whose state is gone: left out, the others still drawn
      if (seen.size >= 400) seen.delete(Math.min(...seen.keys()));
      const prices = events
        .filter((e) => e.section === 'market' && e.method === 'ReplicaAssigned')
        .map((e) => Number(e.data.price));
      seen.set(number, { number, matches: prices.length, price: prices.length ? prices.reduce((a, b) => a + b, 0) / prices.length : null });
      if (live) setRows([...seen.values()].sort((a, b) => a.number - b.number).slice(-200));
    };
    (async () => {
      const head = await conn.api.rpc.chain.getHeader();
      const top = head.number.toNumber();
      for (let n = Math.max(1, top - 20); n <= top && live; n++) {
        await add(n, await conn.api.rpc.chain.getBlockHash(n));
      }
      const s = await conn.api.rpc.chain.subscribeNewHeads((h) => add(h.number.toNumber(), h.hash));
      if (live) stop = s;
      else s();
    })().catch(() => {});
    return () => {
      live = false;
      if (stop) stop();
    };
  }, [conn]);
  return rows;
}

function MatchesChart({ matches }) {
  if (matches.length < 2) return <p>Reading the last blocks…</p>;
  const total = matches.reduce((a, r) => a + r.matches, 0);
  const data = [
    matches.map((r) => r.number),
    matches.map((r) => r.matches),
    matches.map((r) => (r.price === null ? null : r.price / 1e12)),
  ];
  const options = {
    scales: { x: { time: false }, price: {} },
    axes: [
      { label: 'block', incrs: [1, 2, 5, 10, 20, 50, 100, 200] },
      { label: 'replicas matched', incrs: [1, 2, 5, 10, 20, 50, 100] },
      { scale: 'price', side: 1, label: 'mean price (STRAT)', values: (_u, ticks) => ticks.map((t) => String(Number(t.toPrecision(3)))) },
    ],
    series: [
      { label: 'block' },
      { label: 'replicas matched', stroke: '#3b6fd8', paths: uPlot.paths.bars() },
      { label: 'mean price', scale: 'price', stroke: '#d8843b', spanGaps: true },
    ],
  };
  return (
    <div data-testid="matches">
      <p>
        {total} replica(s) matched in blocks #{matches[0].number}–#{matches[matches.length - 1].number}.
      </p>
      <Plot options={options} data={data} label="replicas matched per block, and their mean price" />
    </div>
  );
}

/// A price history in words: how many replicas matched over which blocks, at what range of prices.
export function historySummary(history, label) {
  const total = history.points.reduce((a, p) => a + p.matches, 0);
  const head = `${label}: ${total} replica(s) matched in blocks #${history.indexedFrom ?? '…'}–#${history.indexedTo ?? '…'} (finalized, as this node indexed them)`;
  const priced = history.points.filter((p) => p.min !== null);
  if (total === 0 || priced.length === 0) return `${head}.`;
  const lo = priced.reduce((m, p) => (BigInt(p.min) < m ? BigInt(p.min) : m), BigInt(priced[0].min));
  const hi = priced.reduce((m, p) => (BigInt(p.max) > m ? BigInt(p.max) : m), 0n);
  return `${head}, from ${amount(lo)} to ${amount(hi)} per unit.`;
}

/// The prices replicas were matched at over the blocks the node has indexed (up to a day of
/// finalized blocks: `market_priceHistory`), in stretches of equal length: min, mean and max
/// price per unit against time, with the matches in each stretch.
export function PriceHistoryChart({ kind, label, history }) {
  if (history === undefined) return <p>Reading the {label} price history…</p>;
  if (history === null) return <p>This node keeps no market history (market_priceHistory).</p>;
  const points = history.points;
  const summary = historySummary(history, label);
  if (!summary.endsWith('per unit.') || points.length < 2) return <p data-testid={`history-${kind}`}>{summary}</p>;
  const priced = points.filter((p) => p.mean !== null);
  const inPlanck = priced.every((p) => BigInt(p.max) < 1_000_000_000n);
  const scale = (v) => (v === null ? null : Number(BigInt(v)) / (inPlanck ? 1 : 1e12));
  const data = [points.map((p) => p.timestamp / 1000), points.map((p) => scale(p.min)), points.map((p) => scale(p.mean)), points.map((p) => scale(p.max)), points.map((p) => p.matches)];
  const unit = inPlanck ? 'planck' : 'STRAT';
  const options = {
    scales: { x: { time: true }, count: {} },
    axes: [
      {},
      { label: `price per unit (${unit})`, values: (_u, ticks) => ticks.map((t) => String(Number(t.toPrecision(3)))) },
      { scale: 'count', side: 1, label: 'replicas matched', grid: { show: false } },
    ],
    series: [
      { label: 'time' },
      { label: 'min', stroke: '#8fb3f0', spanGaps: true },
      { label: 'mean', stroke: '#3b6fd8', width: 2, spanGaps: true },
      { label: 'max', stroke: '#d8843b', spanGaps: true },
      { label: 'matched', scale: 'count', stroke: '#999', fill: 'rgba(150,150,150,0.2)', paths: uPlot.paths.bars() },
    ],
  };
  return (
    <div data-testid={`history-${kind}`}>
      <p>{summary}</p>
      <Plot options={options} data={data} label={`${label}: price per unit over time`} />
    </div>
  );
}

// The job list: every job the chain holds, newest first, in a virtualised list (only the rows in
// view are in the page) whose rows are read fifty job ids at a time, as they scroll into view
// (`market.jobs` by id: an indexed read, never a scan). New jobs appear at the top at the block
// that posts them; the rows in view are read again at each new block.

import { useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import { amount, short } from '../format.js';
import { phaseName, policyName } from './job.jsx';
import { useEachBlock } from '../hooks.js';

export const PAGE = 50;
const ROW_PX = 30;

/// The job ids of list page `page` when the next id is `next`: newest first.
export function idsOfPage(next, page) {
  const top = next - 1 - page * PAGE;
  const ids = [];
  for (let id = top; id > top - PAGE && id >= 0; id--) ids.push(id);
  return ids;
}

/// Reads the jobs with `ids` (null for a reaped one) in one storage query.
export async function readJobs({ api }, ids) {
  const jobs = await api.query.market.jobs.multi(ids);
  return jobs.map((j, i) => (j.isNone ? { job: ids[i], reaped: true } : { job: ids[i], ...j.unwrap().toJSON() }));
}

export function JobList({ conn, read = readJobs }) {
  const [next, setNext] = useState(null);
  // Page → { rows, epoch }: rows read at block epoch `epoch`; shown until read again.
  const [pages, setPages] = useState(new Map());
  const [epoch, setEpoch] = useState(0);
  const [, rerender] = useReducer((n) => n + 1, 0);
  const scroller = useRef(null);
  const virtualizer = useRef(null);
  const loading = useRef(new Set());
  const current = useRef(null);
  current.current = next;

  // The next job id, at each new block (a new job appears at the top): one read at a time, a
  // failed one asked again at the next block (useEachBlock).
  const [head] = useEachBlock(conn, async () => ({ next: (await conn.api.query.market.nextJobId()).toNumber() }), [conn]);
  useEffect(() => {
    if (!head) return;
    setNext((old) => {
      // Every page's ids shift when jobs are added: none of the pages read holds.
      if (old !== head.next) setPages(new Map());
      return head.next;
    });
    // The rows in view are read again: a job moves only when a block moves it.
    setEpoch((e) => e + 1);
  }, [head]);

  useEffect(() => {
    if (next === null || !scroller.current) return undefined;
    const v = new Virtualizer({
      count: next,
      getScrollElement: () => scroller.current,
      estimateSize: () => ROW_PX,
      overscan: 10,
      scrollToFn: elementScroll,
      observeElementRect,
      observeElementOffset,
      onChange: () => rerender(),
    });
    virtualizer.current = v;
    const unmount = v._didMount();
    v._willUpdate();
    rerender();
    return () => {
      unmount();
      virtualizer.current = null;
    };
  }, [next]);

  const items = virtualizer.current?.getVirtualItems() ?? [];
  // Read the pages the rows in view fall in.
  useEffect(() => {
    if (next === null) return;
    const wanted = new Set(items.map((item) => Math.floor(item.index / PAGE)));
    for (const page of wanted) {
      const key = `${next}/${page}/${epoch}`;
      if (pages.get(page)?.key === key || loading.current.has(key)) continue;
      loading.current.add(key);
      read(conn, idsOfPage(next, page)).then(
        (rows) => {
          loading.current.delete(key);
          // Only for the list it was read for (the next id may have moved meanwhile).
          setPages((old) => (current.current === next ? new Map(old).set(page, { rows, key }) : old));
        },
        () => loading.current.delete(key),
      );
    }
  });

  if (next === null) return <p>Reading the job list…</p>;
  if (next === 0) return <p role="status">No job has been posted on this chain yet.</p>;
  const total = virtualizer.current?.getTotalSize() ?? next * ROW_PX;
  return (
    <div>
      <p>
        {next} job(s) posted on this chain, newest first.
      </p>
      <div class="joblist-head">
        <span>job</span>
        <span>phase</span>
        <span>policy</span>
        <span>replicas</span>
        <span>max price</span>
        <span>requester</span>
      </div>
      <div ref={scroller} class="joblist" data-testid="job-list">
        <div style={{ height: `${total}px`, position: 'relative' }}>
          {items.map((item) => {
            const row = pages.get(Math.floor(item.index / PAGE))?.rows[item.index % PAGE];
            const id = next - 1 - item.index;
            return (
              <div class="joblist-row" style={{ position: 'absolute', top: 0, transform: `translateY(${item.start}px)`, height: `${item.size}px` }}>
                <a href={`#/jobs/${id}`}>job {id}</a>
                {row === undefined && <span>…</span>}
                {row?.reaped && <span>reaped</span>}
                {row && !row.reaped && (
                  <>
                    <span data-testid={`list-phase-${id}`}>{phaseName(row.phase)}</span>
                    <span>{policyName(row.policy)}</span>
                    <span>{row.replicas.length}</span>
                    <span>{amount(row.maxPrice)}</span>
                    <span class="mono" title={row.requester}>
                      {short(row.requester)}
                    </span>
                  </>
                )}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

/// The jobs one requester posted, newest first, fifty at a time, from the node's index of
/// finalized blocks (`market_requesterJobs`: the chain keeps no index of jobs per requester), each
/// row read from `market.jobs` again at each new block.
export function RequesterJobs({ conn, requester, list = (before) => conn.provider.send('market_requesterJobs', [requester, before, PAGE]), read = readJobs }) {
  const [before, setBefore] = useState([null]);
  const [seen, error] = useEachBlock(
    conn,
    async () => {
      const found = await list(before[before.length - 1]);
      return { ...found, rows: found.jobs.length ? await read(conn, found.jobs) : [] };
    },
    [conn, requester, before.length],
  );
  if (error) return <p class="error" role="alert">Reading {short(requester)}'s jobs failed: {String(error.message ?? error)}</p>;
  if (seen === undefined) return <p>Reading {short(requester)}'s jobs…</p>;
  const last = seen.jobs[seen.jobs.length - 1];
  return (
    <div data-testid="requester-jobs">
      <p role="status">
        {seen.total} job(s) by <span class="mono">{requester}</span> in blocks #{seen.indexedFrom ?? '…'}–#{seen.indexedTo ?? '…'} (finalized, as
        this node indexed them), newest first.
      </p>
      <table>
        <thead>
          <tr>
            <th>job</th>
            <th>phase</th>
            <th>policy</th>
            <th>replicas</th>
            <th>max price</th>
          </tr>
        </thead>
        <tbody>
          {seen.rows.map((row) => (
            <tr>
              <td>
                <a href={`#/jobs/${row.job}`}>job {row.job}</a>
              </td>
              <td data-testid={`requester-phase-${row.job}`}>{row.reaped ? 'reaped' : phaseName(row.phase)}</td>
              <td>{row.reaped ? '' : policyName(row.policy)}</td>
              <td>{row.reaped ? '' : row.replicas.length}</td>
              <td>{row.reaped ? '' : amount(row.maxPrice)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {before.length > 1 && (
        <button type="button" onClick={() => setBefore(before.slice(0, -1))}>
          Newer
        </button>
      )}
      {seen.jobs.length === PAGE && (
        <button type="button" onClick={() => setBefore([...before, last])}>
          Older
        </button>
      )}
    </div>
  );
}

// What the pages share: reading the chain again at each new block.

import { useEffect, useState } from 'preact/hooks';

/// Reads `read()` now and again at each new best block while the page shows; returns its latest
/// value (undefined until the first read) and the error of the last failed read. One read at a
/// time: blocks that come while a read runs ask for one more read when it ends, not one each (a
/// read slower than a block — a full book's why-no-match — still shows, and never piles up).
export function useEachBlock(conn, read, deps) {
  const [value, setValue] = useState(undefined);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    let stop = null;
    let running = false;
    let again = false;
    let head = null;
    const refresh = async (header) => {
      if (header) head = header;
      if (running) {
        again = true;
        return;
      }
      running = true;
      do {
        again = false;
        try {
          const v = await read(head);
          if (live) (setValue(v), setError(null));
        } catch (e) {
          if (live) setError(e);
        }
      } while (again && live);
      running = false;
    };
    refresh();
    conn.api.rpc.chain.subscribeNewHeads(refresh).then((s) => (live ? (stop = s) : s()));
    return () => {
      live = false;
      if (stop) stop();
    };
  }, deps);
  return [value, error];
}

/// `read` shared by the reads of one block: called once per new head (`read(head)` from
/// useEachBlock), its answer handed to every caller that asks for the same head.
export function onePerBlock(read) {
  let key;
  let answer;
  return (head) => {
    const k = head?.hash?.toHex?.() ?? 'first';
    if (k !== key) {
      key = k;
      answer = read(head);
    }
    return answer;
  };
}

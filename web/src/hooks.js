// What the pages share: reading the chain again at each new block.

import { useEffect, useState } from 'preact/hooks';

/// Reads `read()` now and again at each new best block while the page shows; returns its latest
/// value (undefined until the first read) and the error of the last failed read. A read that
/// answers after a newer one started is dropped: a slow answer never replaces a fresher one.
export function useEachBlock(conn, read, deps) {
  const [value, setValue] = useState(undefined);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    let stop = null;
    let started = 0;
    const refresh = () => {
      const mine = ++started;
      const current = () => live && mine === started;
      return read().then(
        (v) => current() && (setValue(v), setError(null)),
        (e) => current() && setError(e),
      );
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

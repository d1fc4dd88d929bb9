// Network: the best and finalized block, how far finality trails, the validators and the block
// time, live from the node's block subscriptions.

import { useEffect, useState } from 'preact/hooks';
import { followNetwork } from '../chain.js';

export function NetworkPage({ conn, follow = followNetwork }) {
  const [net, setNet] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stop = null;
    let live = true;
    follow(conn, (state) => live && setNet(state)).then(
      (s) => (live ? (stop = s) : s()),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
      if (stop) stop();
    };
  }, [conn]);
  if (error) return <p class="error" role="alert">Following the network failed: {String(error.message ?? error)}</p>;
  if (!net) return <p>Reading the network…</p>;
  const blockTime = net.blockMs === null ? '—' : `${(net.blockMs / 1000).toFixed(2)} s`;
  return (
    <section aria-label="network">
      <h2>Network: {net.chain}</h2>
      <dl class="facts">
        <dt>Best block</dt>
        <dd data-testid="best">#{net.best}</dd>
        <dt>Finalized block</dt>
        <dd data-testid="finalized">#{net.finalized}</dd>
        <dt>Finality lag</dt>
        <dd data-testid="lag">
          {net.lag} {net.lag === 1 ? 'block' : 'blocks'}
        </dd>
        <dt>Block time</dt>
        <dd data-testid="block-time">
          {blockTime} measured (slot {(net.slotMs / 1000).toFixed(0)} s)
        </dd>
        <dt>Validators</dt>
        <dd data-testid="validators">{net.validators.length}</dd>
      </dl>
      <ul class="mono">
        {net.validators.map((v) => (
          <li>{v}</li>
        ))}
      </ul>
    </section>
  );
}

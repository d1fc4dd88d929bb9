// The console's shell: the connection, the navigation (by the address's #fragment, so that every
// page can be linked to and reloaded), and the page shown.

import { useEffect, useState } from 'preact/hooks';
import { NetworkPage } from './views/network.jsx';
import { JobPage } from './views/job.jsx';
import { ProvidersPage } from './views/providers.jsx';
import { MarketPage } from './views/market.jsx';
import { SubmitPage } from './views/submit.jsx';

const PAGES = [
  ['market', 'Market'],
  ['network', 'Network'],
  ['jobs', 'Jobs'],
  ['providers', 'Providers'],
  ['submit', 'Post a job'],
];

/// The page named by a location hash: `#/network`, `#/jobs`, `#/jobs/42`, `#/jobs/by/<account>`.
export function route(hash) {
  const [page = 'market', id, more] = hash.replace(/^#\/?/, '').split('/');
  if (page === 'jobs' && id === 'by') return { page, id: null, requester: more || null };
  if (page === 'jobs') return { page, id: id === undefined || id === '' ? null : id };
  if (page === 'providers') return { page, account: id === undefined || id === '' ? null : id };
  if (PAGES.some(([name]) => name === page)) return { page };
  return { page: 'market' };
}

export function App({ endpoint, connect }) {
  const [conn, setConn] = useState(null);
  const [error, setError] = useState(null);
  const [where, setWhere] = useState(route(window.location.hash));

  useEffect(() => {
    const onHash = () => setWhere(route(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    let live = true;
    connect(endpoint).then(
      (c) => live && setConn(c),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [endpoint]);

  return (
    <div class="console">
      <header>
        <h1>Stratus</h1>
        <nav>
          {PAGES.map(([name, label]) => (
            <a href={`#/${name}`} class={where.page === name ? 'here' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <span class="endpoint" title="the node this page reads">
          {conn ? '● ' : '○ '}
          {endpoint}
        </span>
      </header>
      <main>
        {error && (
          <p class="error" role="alert">
            Cannot reach {endpoint}: {String(error.message ?? error)}. Start a node (scripts/run-local) or
            open this page with ?endpoint=ws://host:port.
          </p>
        )}
        {!error && !conn && <p>Connecting to {endpoint}…</p>}
        {conn && where.page === 'market' && <MarketPage conn={conn} />}
        {conn && where.page === 'submit' && <SubmitPage conn={conn} />}
        {conn && where.page === 'network' && <NetworkPage conn={conn} />}
        {conn && where.page === 'jobs' && <JobPage conn={conn} id={where.id} requester={where.requester} />}
        {conn && where.page === 'providers' && <ProvidersPage conn={conn} account={where.account} />}
      </main>
    </div>
  );
}

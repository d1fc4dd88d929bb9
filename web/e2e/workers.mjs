// Providers for the console's browser test: real `stratus-worker` daemons on the test's node, each
// set up as docs/provider-guide.md says and as scripts/network.sh does for `scripts/run-local`
// (import the operator into the CLI keystore, `init`, `register`, `stratus provider register`,
// `offer`, `run`), with a well-known development account as operator.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../tests/js/lib.mjs';

/// Sets up and starts operator `name`'s worker (`//Name` the operator, `//Name//worker` the
/// worker key) selling `slots` CPU slots at `price` planck a unit in `region`, its results served
/// on 127.0.0.1:`port`. Resolves with `{ name, operator, endpoint, process, log }`.
export async function startWorker({ ws, dir, worker, cli, name, region, price, port, slots = 2 }) {
  const home = path.join(dir, `worker-${name}`);
  fs.mkdirSync(home, { recursive: true });
  const keystore = path.join(dir, 'operators');
  const config = path.join(home, 'worker.toml');
  const log = path.join(home, 'worker.log');
  const suri = `//${name[0].toUpperCase()}${name.slice(1)}`;
  const env = { STRATUS_WORKER_SURI: `${suri}//worker`, STRATUS_PASSPHRASE: 'console test operators' };
  const step = async (what, command, args, input = '') => {
    const r = await run(command, args, { env, input });
    fs.appendFileSync(log, `$ ${what}\n${r.stdout}${r.stderr}`);
    if (r.status !== 0) throw new Error(`${what} failed for ${name} (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const stratus = [cli, '--endpoint', ws, '--keystore', keystore, '--account', name];
  await step('stratus account import', stratus[0], [...stratus.slice(1), 'account', 'import', name], `${suri}\n`);
  const listed = await step('stratus account list', stratus[0], [...stratus.slice(1), 'account', 'list']);
  const operator = listed.split('\n').map((l) => l.trim().split(/\s+/)).find(([n]) => n === name)?.[1];
  if (!operator) throw new Error(`no account ${name} in ${keystore}:\n${listed}`);
  await step('stratus-worker init', worker, ['--config', config, 'init', '--endpoint', ws, '--region', String(region), '--operator', operator]);
  const endpoint = `http://127.0.0.1:${port}`;
  fs.writeFileSync(
    config,
    fs
      .readFileSync(config, 'utf8')
      .replace(/^listen = .*$/m, `listen = "127.0.0.1:${port}"`)
      .replace(/^public_url = .*$/m, `public_url = "${endpoint}"`)
      .replace(/^cpu_slots = .*$/m, `cpu_slots = ${slots}`)
      .replace(/^cpu_price = .*$/m, `cpu_price = "${price} planck"`),
  );
  const registration = path.join(home, 'registration.json');
  await step('stratus-worker register', worker, ['--config', config, 'register', '--out', registration]);
  await step('stratus provider register', stratus[0], [...stratus.slice(1), 'provider', 'register', registration]);
  await step('stratus-worker offer', worker, ['--config', config, 'offer']);
  const out = fs.openSync(log, 'a');
  const process_ = spawn(worker, ['--config', config, 'run'], { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
  // Ready when its result server answers (it starts once the daemon follows the chain).
  const started = Date.now();
  for (;;) {
    if (process_.exitCode !== null) throw new Error(`${name}'s worker exited (${process_.exitCode}):\n${tail(log)}`);
    try {
      if ((await fetch(`${endpoint}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) throw new Error(`${name}'s worker did not answer ${endpoint}/health within 60 s:\n${tail(log)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { name, operator, endpoint, process: process_, log };
}

/// The last lines of a worker's log, for a failed test's message.
export function tail(log, lines = 30) {
  try {
    return fs.readFileSync(log, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

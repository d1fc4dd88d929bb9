// Post a job: an account (the dev accounts on a development or local chain, or those of a browser
// wallet: polkadot.js extension, Talisman, SubWallet — the injected-accounts interface), a
// program registered from a file or named by its hash, and a form checked as `stratus job submit`
// checks a manifest, with the expected and worst-case price, before anything is signed.

import { useEffect, useState } from 'preact/hooks';
import { blake2AsHex } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { amount } from '../format.js';
import { planJob } from '../plan.js';
import { inBlock } from '../tx.js';
import { useAccounts } from '../accounts.js';

/// The market's limits, from the runtime's constants.
export function limitsOf(api) {
  const c = api.consts.market;
  const n = (v) => Number(v.toString());
  return {
    minJobValue: BigInt(c.minJobValue.toString()),
    maxReplication: n(c.maxReplication),
    maxOutputBytes: n(c.maxOutputBytes),
    ackWindow: n(c.ackWindow),
    revealWindow: n(c.revealWindow),
    maxJobDuration: n(c.maxJobDuration),
    maxInlineInput: n(c.maxInlineInput),
    referees: n(c.referees),
    jobDeposit: BigInt(c.jobDeposit.toString()),
    maxRequirementItems: n(c.maxRequirementItems),
  };
}

/// Sends `tx` with `account`; resolves with its events once in a block.
function send(api, account, tx) {
  return inBlock(api, (cb) => account.sign(tx, cb));
}

const DEFAULTS = {
  program: '', input: '', policy: 'adaptive', maxPrice: '0.005 STRAT', maxUnits: '100000000',
  commitWindow: '20', deadline: '200', maxOutput: '1024', regions: '',
};

export function SubmitPage({ conn }) {
  const { api } = conn;
  const { accounts, connect, error: accountError } = useAccounts(api);
  const [who, setWho] = useState(0);
  const [form, setForm] = useState(DEFAULTS);
  const [plan, setPlan] = useState(null);
  const [note, setNote] = useState(null);
  const [busy, setBusy] = useState(false);

  const account = accounts[who];
  // The plan, again whenever the form or the account changes. Until it is made again, there is
  // none: a form changed a moment ago never posts the plan of the form before.
  useEffect(() => {
    let live = true;
    setPlan(null);
    (async () => {
      const limits = limitsOf(api);
      const hash = /^0x[0-9a-fA-F]{64}$/.test(form.program.trim()) ? form.program.trim() : null;
      const info = hash ? await api.query.market.programs(hash) : null;
      const regions = form.regions.split(',').map((r) => r.trim()).filter((r) => /^[0-9]+$/.test(r)).map(Number);
      const kind = info && info.isSome ? info.unwrap().kind.toString() : 'Wasm';
      const best = await conn.provider.send('market_bestPrice', [kind, { regionsAllowed: regions }, null]).catch(() => null);
      // What the chain lets a job hold: the free balance less what must stay (the existential
      // deposit, or what is frozen, whichever is more).
      const data = account ? (await api.query.system.account(account.address)).data : null;
      const keep = data ? [data.frozen.toBigInt(), BigInt(api.consts.balances.existentialDeposit.toString())].reduce((a, b) => (a > b ? a : b)) : 0n;
      const free = data && data.free.toBigInt() > keep ? data.free.toBigInt() - keep : 0n;
      const head = await api.rpc.chain.getHeader();
      const planned = planJob(form, {
        limits,
        programLen: info === null ? undefined : info.isSome ? info.unwrap().len.toNumber() : null,
        bestPrice: best === null ? null : BigInt(best),
        free,
        best: head.number.toNumber(),
      });
      if (live) setPlan({ ...planned, form, account });
    })().catch((e) => live && setPlan({ errors: [e.message] }));
    return () => {
      live = false;
    };
  }, [form, account]);

  const field = (name, label, hint) => (
    <label>
      <span>{label}</span>
      <input name={name} value={form[name]} onInput={(e) => setForm({ ...form, [name]: e.currentTarget.value })} />
      {hint && <small>{hint}</small>}
    </label>
  );

  const connectWallet = async () => {
    await connect();
    setWho(0);
  };

  // The input from a file, as a manifest's `input = { file = "…" }`: its bytes, sent inline.
  const pickInput = async (e) => {
    const file = e.currentTarget.files?.[0];
    const inputFile = file ? { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) } : null;
    setForm((f) => ({ ...f, inputFile }));
  };

  const register = async (e) => {
    const file = e.currentTarget.files?.[0];
    if (!file || !account) return;
    const code = new Uint8Array(await file.arrayBuffer());
    const hash = blake2AsHex(code, 256);
    setBusy(true);
    try {
      if ((await api.query.market.programs(hash)).isNone) {
        setNote({ info: `registering ${file.name} (${code.length} bytes)…` });
        await send(api, account, api.tx.market.registerProgram('Wasm', u8aToHex(code)));
      }
      setForm((f) => ({ ...f, program: hash }));
      setNote({ info: `program ${hash} is registered` });
    } catch (err) {
      setNote({ error: `registering ${file.name} failed: ${err.message}` });
    } finally {
      setBusy(false);
    }
  };

  const submit = async (e) => {
    e.preventDefault();
    // Only the plan of the form as it is now, for the account chosen now.
    if (!plan || plan.errors.length || !account || plan.form !== form || plan.account !== account) return;
    setBusy(true);
    setNote({ info: 'posting the job…' });
    try {
      const events = await send(api, account, api.tx.market.submitJob(plan.spec));
      const posted = events.find(({ event }) => event.section === 'market' && event.method === 'JobSubmitted');
      window.location.hash = `#/jobs/${posted.event.data.job.toString()}`;
    } catch (err) {
      setNote({ error: `posting the job failed: ${err.message}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-label="submit a job">
      <h2>Post a job</h2>
      <p>
        Account:{' '}
        <select aria-label="account" onChange={(e) => setWho(Number(e.currentTarget.value))}>
          {accounts.map((a, i) => (
            <option value={i} selected={i === who}>
              {a.label} {a.address}
            </option>
          ))}
        </select>{' '}
        <button type="button" onClick={connectWallet}>
          Connect a browser wallet
        </button>
      </p>
      {accounts.length === 0 && <p>No account yet: connect a browser wallet (dev accounts are offered on a development or local chain).</p>}
      <form class="job-form" onSubmit={submit}>
        <label>
          <span>Register a WASM program</span>
          <input type="file" name="programFile" accept=".wasm,application/wasm" onChange={register} disabled={busy || !account} />
        </label>
        {field('program', 'Program (hash)', 'the registered program to run (0x and 64 hex digits)')}
        {field('input', 'Input (text)', 'passed to the program inline')}
        <label>
          <span>…or an input file</span>
          <input type="file" name="inputFile" onChange={pickInput} />
          <small>{form.inputFile ? `${form.inputFile.name}: ${form.inputFile.bytes.length} bytes, sent inline instead of the text` : 'its bytes are sent inline instead of the text'}</small>
        </label>
        {field('policy', 'Policy', 'adaptive, replicated(2) … or unverified')}
        {field('maxPrice', 'Max price per unit', 'e.g. 0.005 STRAT or 5000000000 planck')}
        {field('maxUnits', 'Max units per replica')}
        {field('commitWindow', 'Commit window (blocks)')}
        {field('deadline', 'Deadline (blocks from now)')}
        {field('maxOutput', 'Max output (bytes)')}
        {field('regions', 'Regions allowed', 'comma-separated region codes; empty: any')}
        {plan && plan.errors.length > 0 && (
          <ul class="error" role="alert" aria-label="what to fix">
            {plan.errors.map((e) => (
              <li>{e}</li>
            ))}
          </ul>
        )}
        {plan && plan.errors.length === 0 && (
          <p data-testid="price" role="status">
            {plan.describe}. Escrow {amount(plan.escrow)}.
          </p>
        )}
        <button type="submit" disabled={busy || !account || !plan || plan.errors.length > 0}>
          Post the job
        </button>
      </form>
      {accountError && (
        <p class="error" role="alert">
          {accountError}
        </p>
      )}
      {note?.error && (
        <p class="error" role="alert">
          {note.error}
        </p>
      )}
      {note?.info && <p>{note.info}</p>}
    </section>
  );
}

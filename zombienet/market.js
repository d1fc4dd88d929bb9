// The market on the four-validator network: two providers run the real `stratus-worker`
// ($STRATUS_WORKER) against the RPC node (alice's node as the fallback endpoint), and a requester
// uses the real `stratus` CLI ($STRATUS_CLI) with a WASM program ($STRATUS_KERNEL_WASM, the
// SHA-256 job). One step per call (args[0]); each returns a number the .zndsl checks:
//
//   workers        sets up both workers as docs/provider-guide.md says (init, register, offer,
//                  run); returns how many providers have an open offer
//   replicated     a job with the default policy (adaptive), submitted and followed through the
//                  CLI: neither provider has a record, so both workers run it (the second drawn
//                  by stake) and reveal the same digest, the output downloads and is right; returns
//                  how many replicas agree
//   worker-killed  the worker holding a job's replica is killed (SIGKILL) once it acknowledged:
//                  the replica misses its commit deadline, is reissued to the other worker and the
//                  job settles with the right digest; the killed worker is started again; returns 1
//   settles        a job submitted through the CLI settles (run while a validator is paused);
//                  returns 1
//   post           posts a job (--detach) and starts `stratus job watch` on it; returns 1
//   posted-settles the job `post` posted settles with the right digest and the watch that
//                  followed it through the restart ends well (run after the RPC node — the
//                  workers' and the CLI's first endpoint — restarted while the job was in flight);
//                  returns 1
//   liar           a third provider that lies ($STRATUS_LIAR, a program built on stratus-client:
//                  it registers, offers and commits a wrong digest for every replica it gets)
//                  joins a job with policy replicated(3): the two workers outvote it, the job settles
//                  on their digest, the requester downloads the right output, the liar is not
//                  paid, its slash is deferred (its stake frozen) and then applied, and its
//                  reputation falls below the workers'; returns 1
//   stop           SIGTERM to both workers; returns how many stopped cleanly (exit 0)
//
// Workers' pids go to $STRATUS_ZOMBIE_WORK/pids so that scripts/test can stop what a failed run
// leaves behind; their logs are in $STRATUS_ZOMBIE_WORK/<name>/worker.log.
const { spawn } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const WORKER = process.env.STRATUS_WORKER;
const CLI = process.env.STRATUS_CLI;
const KERNEL = process.env.STRATUS_KERNEL_WASM;
const LIAR = process.env.STRATUS_LIAR;
const WORK = process.env.STRATUS_ZOMBIE_WORK || fs.mkdtempSync(path.join(os.tmpdir(), "stratus-zombie-"));
const REGIONS = { eve: 276, ferdie: 250 };

// js-scripts are loaded once per zombienet run: this state lasts from step to step.
const state = { workers: {}, endpoints: null };

// The CLI's keystores are encrypted: their passphrase comes from the environment.
const PASSPHRASE = { STRATUS_PASSPHRASE: "zombienet test passphrase" };

// The harness shared with tests/js (an ES module: loaded by `run`, before any step).
let lib;
const LIB = require("node:url").pathToFileURL(path.join(__dirname, "..", "tests", "js", "lib.mjs")).href;

function exec(command, args, { env = {}, input = "" } = {}) {
  return lib.run(command, args, { env: { ...PASSPHRASE, ...env }, input });
}

function must(result, what) {
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function stratus(args, input, keystore = path.join(WORK, "keys")) {
  return exec(CLI, ["--keystore", keystore, ...state.endpoints.flatMap((e) => ["--endpoint", e]), ...args], { input });
}

async function jobStatus(job) {
  return JSON.parse(must(await stratus(["--json", "job", "status", String(job)]), "stratus job status"));
}

const freePort = () => lib.freePort();
const sleep = (ms) => lib.sleep(ms);

const suriOf = (name) => `//${name[0].toUpperCase()}${name.slice(1)}`;

/// The worker's environment: its development worker key only (the operator's key is in the
/// operators' keystore, which `stratus provider register` signs with).
function keysOf(name) {
  return { STRATUS_WORKER_SURI: `${suriOf(name)}//worker` };
}

function startWorker(name) {
  const w = state.workers[name];
  const log = fs.openSync(path.join(w.dir, "worker.log"), "a");
  const child = spawn(WORKER, ["--config", w.config, "run"], {
    env: { ...process.env, ...keysOf(name), RUST_LOG: "info" },
    stdio: ["ignore", log, log],
  });
  w.child = child;
  w.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  fs.mkdirSync(path.join(WORK, "pids"), { recursive: true });
  fs.writeFileSync(path.join(WORK, "pids", name), String(child.pid));
}

async function setUpWorker(name) {
  const dir = path.join(WORK, name);
  const config = path.join(dir, "worker.toml");
  fs.mkdirSync(dir, { recursive: true });
  const env = keysOf(name);
  const cli = (...args) => exec(WORKER, ["--config", config, ...args], { env });
  const operatorKeys = path.join(WORK, "operators");
  const asOperator = (args, input = "") => stratus(["--account", name, ...args], input, operatorKeys);
  const imported = must(await asOperator(["--json", "account", "import", name], `${suriOf(name)}\n`), `${name}: account import`);
  const operator = JSON.parse(imported).address;
  must(await cli("init", ...state.endpoints.flatMap((e) => ["--endpoint", e]), "--region", String(REGIONS[name]), "--operator", operator), `${name}: init`);
  const port = await freePort();
  const text = fs.readFileSync(config, "utf8")
    .replace(/^cpu_slots = .*$/m, "cpu_slots = 1")
    .replace(/^units_per_second = .*$/m, "units_per_second = 10000000000")
    .replace(/^listen = .*$/m, `listen = "127.0.0.1:${port}"`)
    .replace(/^public_url = .*$/m, `public_url = "http://127.0.0.1:${port}"`);
  fs.writeFileSync(config, text);
  state.workers[name] = { dir, config };
  must(await cli("register"), `${name}: register`);
  must(await asOperator(["provider", "register", path.join(dir, "registration.json")]), `${name}: provider register`);
  must(await cli("offer"), `${name}: offer`);
  startWorker(name);
}

/// A SHA-256 job's input (rounds, u32 LE, then data) and its expected output.
function kernelJob(rounds, data) {
  return { input: lib.kernelInput(rounds, data), output: lib.expectedOutput(rounds, data) };
}

/// Writes a manifest and its input; returns the manifest's path and the expected output.
/// `policy`: the manifest's verification policy ("unverified", "replicated(3)"); `null` writes none, which
/// is the default, `adaptive`.
function manifest(name, { rounds = 3, data = crypto.randomBytes(64), policy = "unverified", commitWindow = "1m", maxUnits = 200_000_000 } = {}) {
  const job = kernelJob(rounds, data);
  fs.writeFileSync(path.join(WORK, `${name}.bin`), job.input);
  const file = path.join(WORK, `${name}.toml`);
  fs.writeFileSync(file, [
    `program = "${KERNEL}"`,
    `input = { file = "${name}.bin" }`,
    'max_price = "1 planck"',
    `max_units = ${maxUnits}`,
    ...(policy === null ? [] : [`policy = "${policy}"`]),
    'deadline = "20m"',
    `commit_window = "${commitWindow}"`,
    'max_output = "1 KiB"',
    "[requirements]",
    `regions_allowed = [${Object.values(REGIONS).join(", ")}]`,
    "",
  ].join("\n"));
  return { file, output: job.output };
}

function jobId(stdout) {
  const id = Number(stdout.match(/job (\d+) posted/)?.[1]);
  if (!Number.isInteger(id)) throw new Error(`no job id in:\n${stdout}`);
  return id;
}

function digestOf(bytes) {
  return zombie.util.blake2AsHex(bytes);
}

function sameAccount(a, b) {
  const hex = (x) => Buffer.from(zombie.util.decodeAddress(x)).toString("hex");
  return hex(a) === hex(b);
}

async function operators() {
  const list = JSON.parse(must(await stratus(["--json", "provider", "list"]), "stratus provider list"));
  return list;
}

/// The liar step's body: a lying provider outvoted on a replicated(3) job, not paid, its slash
/// deferred, then applied.
async function liarOutvotedAndSlashed() {
  // Charlie's account (endowed in the local preset) stands in for a dishonest provider.
  const liarSuri = "//Charlie";
  const liar = exec(LIAR, ["--ws", state.endpoints[0], "--suri", liarSuri, "--price", "1", "--lies", "1", "--timeout", "400"]);
  let liarAccount;
  for (let i = 0; ; i++) {
    const list = await operators();
    const found = list.find((p) => p.cpuCores === 64 && p.memoryMib === 65536);
    if (found && found.offers.some((o) => o.open)) { liarAccount = found.operator; break; }
    if (i === 120) throw new Error("the lying provider never offered");
    await sleep(1000);
  }
  console.log(`lying provider ${liarAccount} is on the book`);
  const { file, output } = manifest(`liar-${Date.now()}`, { policy: "replicated(3)" });
  const submitted = await stratus(["job", "submit", file]);
  console.log(submitted.stdout);
  must(submitted, "stratus job submit (replicated(3), one liar)");
  const job = jobId(submitted.stdout);
  const lied = await liar;
  console.log(lied.stdout, lied.stderr);
  must(lied, "the lying provider");
  const status = await jobStatus(job);
  if (status.phase.Settled?.digest !== digestOf(output)) throw new Error(`job ${job} did not settle on the honest digest: ${JSON.stringify(status.phase)}`);
  const liarReplica = status.replicas.find((r) => sameAccount(r.provider, liarAccount));
  if (!liarReplica || liarReplica.digest === status.phase.Settled.digest) throw new Error(`the liar had no (lying) replica: ${JSON.stringify(status.replicas)}`);
  if (liarReplica.paid !== "0") throw new Error(`the liar was paid ${liarReplica.paid}`);
  const honest = status.replicas.filter((r) => r.digest === status.phase.Settled.digest);
  // Two honest workers (and a spot-check, one job in ten, when a third honest provider is free).
  if (honest.length < 2 || honest.some((r) => r.paid === "0")) throw new Error(`the honest replicas were not all paid: ${JSON.stringify(status.replicas)}`);
  const out = path.join(WORK, "liar.out");
  for (let i = 0; ; i++) {
    const r = await stratus(["job", "result", String(job), "-o", out]);
    if (r.status === 0) break;
    if (i === 20) must(r, "stratus job result");
    await sleep(1000);
  }
  if (!fs.readFileSync(out).equals(output)) throw new Error("the requester did not get the canonical output");
  // The slash is deferred: the liar's stake is frozen, then taken (fifteen blocks: see `liar`).
  // (`provider list` reads the finalized chain, a few blocks behind the verdict.)
  const liarRow = async () => (await operators()).find((p) => sameAccount(p.operator, liarAccount));
  for (let i = 0; ; i++) {
    const pending = await liarRow();
    if (BigInt(pending.frozen) > 0n && pending.standing.some((l) => l.startsWith("pending slash"))) {
      console.log(`liar after the verdict: ${JSON.stringify(pending.standing)}`);
      break;
    }
    if (i === 60) throw new Error(`no pending slash for the liar: ${JSON.stringify(pending)}`);
    await sleep(1000);
  }
  for (let i = 0; ; i++) {
    const row = await liarRow();
    if (BigInt(row.slashed) > 0n) {
      console.log(`liar slashed: ${JSON.stringify(row.standing)}`);
      if (BigInt(row.frozen) !== 0n) throw new Error("stake still frozen after the slash applied");
      break;
    }
    if (i === 240) throw new Error("the liar's slash was never applied");
    await sleep(1000);
  }
  return 1;
}

const steps = {
  async workers() {
    if (!WORKER || !CLI || !KERNEL) throw new Error("STRATUS_WORKER, STRATUS_CLI and STRATUS_KERNEL_WASM must be set");
    must(await stratus(["account", "import", "requester"], "//Alice\n"), "stratus account import");
    for (const name of Object.keys(REGIONS)) await setUpWorker(name);
    for (;;) {
      const open = (await operators()).filter((p) => p.offers.some((o) => o.open));
      if (open.length >= 2) {
        console.log(`providers with open offers: ${open.map((p) => p.operator).join(", ")}`);
        return open.length;
      }
      await sleep(1000);
    }
  },

  async replicated() {
    // The default policy, adaptive: neither provider has a record yet, so once the first has
    // committed the job gets a second replica, drawn by stake: the other worker.
    const { file, output } = manifest("replicated", { policy: null });
    const submitted = await stratus(["job", "submit", file]);
    console.log(submitted.stdout);
    must(submitted, "stratus job submit (default policy)");
    const job = jobId(submitted.stdout);
    const status = await jobStatus(job);
    const digest = status.phase.Settled?.digest;
    if (digest !== digestOf(output)) throw new Error(`job ${job} settled on ${digest}, not the expected output's digest`);
    const agreeing = status.replicas.filter((r) => r.digest === digest);
    if (new Set(agreeing.map((r) => Buffer.from(zombie.util.decodeAddress(r.provider)).toString("hex"))).size !== agreeing.length) {
      throw new Error("two replicas of one provider");
    }
    const out = path.join(WORK, "replicated.out");
    for (let i = 0; ; i++) {
      const r = await stratus(["job", "result", String(job), "-o", out]);
      if (r.status === 0) break;
      if (i === 20) must(r, "stratus job result");
      await sleep(1000);
    }
    if (!fs.readFileSync(out).equals(output)) throw new Error("the downloaded output is not the SHA-256 expected");
    return agreeing.length;
  },

  async "worker-killed"() {
    // 32 KiB hashed 80,000 times: about 14 s of work, longer than the two blocks after which a
    // worker that has no result yet acknowledges (it runs a job at once, and its commit would
    // acknowledge it), so the worker is killed while it holds the acknowledged job. (max_units
    // must fit the commit window at the workers' units_per_second, or they decline.)
    const { file, output } = manifest("killed", {
      rounds: 80_000, data: crypto.randomBytes(32 * 1024), commitWindow: "40s", maxUnits: 250_000_000_000,
    });
    const job = jobId(must(await stratus(["job", "submit", "--detach", file]), "stratus job submit --detach"));
    let victim;
    for (;;) {
      const status = await jobStatus(job);
      const replica = status.replicas.find((r) => r.state === "Acknowledged");
      if (replica) {
        const provider = (await operators()).find((p) => sameAccount(p.operator, replica.provider));
        victim = Object.keys(REGIONS).find((name) => REGIONS[name] === provider.region);
        break;
      }
      if (status.replicas.some((r) => r.state !== "Assigned")) throw new Error(`job ${job} went past acknowledgement unseen: ${JSON.stringify(status.replicas)}`);
      await sleep(200);
    }
    state.workers[victim].child.kill("SIGKILL");
    await state.workers[victim].exited;
    console.log(`killed ${victim}'s worker holding job ${job}`);
    const watched = await stratus(["job", "watch", String(job)]);
    console.log(watched.stdout);
    must(watched, "stratus job watch");
    const status = await jobStatus(job);
    if (status.phase.Settled?.digest !== digestOf(output)) throw new Error(`job ${job}: ${JSON.stringify(status.phase)}`);
    const missed = status.replicas.filter((r) => r.state.Missed !== undefined);
    const done = status.replicas.filter((r) => r.digest === status.phase.Settled.digest);
    if (missed.length !== 1 || done.length !== 1 || sameAccount(missed[0].provider, done[0].provider)) {
      throw new Error(`expected one missed replica and one reissued to the other provider: ${JSON.stringify(status.replicas)}`);
    }
    startWorker(victim);
    return 1;
  },

  async settles() {
    const { file } = manifest(`settles-${Date.now()}`);
    const submitted = await stratus(["job", "submit", file]);
    console.log(submitted.stdout);
    must(submitted, "stratus job submit");
    return (await jobStatus(jobId(submitted.stdout))).phase.Settled ? 1 : 0;
  },

  async post() {
    const { file, output } = manifest(`posted-${Date.now()}`, { commitWindow: "1m" });
    const job = jobId(must(await stratus(["job", "submit", "--detach", file]), "stratus job submit --detach"));
    // Following the job across the node's restart: the CLI reconnects as the workers do.
    state.posted = { job, output, watch: stratus(["job", "watch", String(job)]) };
    return 1;
  },

  async "posted-settles"() {
    const { job, output, watch } = state.posted;
    const watched = await watch;
    console.log(watched.stdout, watched.stderr);
    must(watched, "stratus job watch (across the restart)");
    // `job status` reads the first endpoint's finalized state: the restarted RPC node may still
    // be catching up with the node the watch ended on.
    let status;
    for (let i = 0; i < 60; i += 1) {
      status = await jobStatus(job);
      if (status.phase.Settled) break;
      await sleep(1000);
    }
    return status.phase.Settled?.digest === digestOf(output) ? 1 : 0;
  },

  async liar() {
    if (!LIAR) throw new Error("STRATUS_LIAR must be set");
    // Fifteen blocks' slash delay instead of the local chain's two minutes (Root, Alice's sudo
    // here, may set it), put back after.
    const api = await zombie.connect(state.endpoints[0]);
    await zombie.util.cryptoWaitReady();
    const sudoer = new zombie.Keyring({ type: "sr25519" }).addFromUri("//Alice");
    const restore = await lib.shortenSlashDefer(api, sudoer, 15);
    try {
      return await liarOutvotedAndSlashed();
    } finally {
      await restore();
      await api.disconnect();
    }
  },

  async stop() {
    let clean = 0;
    for (const [name, w] of Object.entries(state.workers)) {
      w.child.kill("SIGTERM");
      const { code } = await w.exited;
      console.log(`${name}'s worker exited with ${code}`);
      fs.rmSync(path.join(WORK, "pids", name), { force: true });
      if (code === 0) clean++;
    }
    return clean;
  },
};

async function run(nodeName, networkInfo, args) {
  lib ??= await import(LIB);
  state.endpoints ??= [networkInfo.nodesByName.rpc.wsUri, networkInfo.nodesByName.alice.wsUri];
  const step = steps[args[0]];
  if (!step) throw new Error(`market.js: unknown step ${JSON.stringify(args)}`);
  return step();
}

module.exports = { run };

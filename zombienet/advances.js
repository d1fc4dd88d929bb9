// Waits until the node's best or finalized height ("best,N" / "finalized,N") has advanced by N
// blocks from where it is now, and returns by how much it advanced.
async function height(api, kind) {
  const hash = kind === "finalized" ? await api.rpc.chain.getFinalizedHead() : undefined;
  const header = await api.rpc.chain.getHeader(hash);
  return header.number.toNumber();
}

async function run(nodeName, networkInfo, args) {
  // zombienet splits `with "finalized,5"` at commas; accept either form.
  const [kind, by] = args.length > 1 ? args : String(args[0] ?? "finalized,5").split(",");
  if (!["best", "finalized"].includes(kind) || !(Number(by) > 0)) {
    throw new Error(`advances.js: expected "best,N" or "finalized,N", got ${JSON.stringify(args)}`);
  }
  const { wsUri, userDefinedTypes } = networkInfo.nodesByName[nodeName];
  const api = await zombie.connect(wsUri, userDefinedTypes);
  const start = await height(api, kind);
  const target = start + Number(by);
  for (;;) {
    const now = await height(api, kind);
    if (now >= target) {
      console.log(`${nodeName}: ${kind} height ${start} -> ${now}`);
      await api.disconnect();
      return now - start;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

module.exports = { run };

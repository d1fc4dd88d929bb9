// Waits until the node's best or finalized height ("best,N" / "finalized,N") has advanced by N
// blocks from where it is now, and returns by how much it advanced.
async function height(api, kind) {
  const hash = kind === "finalized" ? await api.rpc.chain.getFinalizedHead() : undefined;
  const header = await api.rpc.chain.getHeader(hash);
  return header.number.toNumber();
}

async function run(nodeName, networkInfo, args) {
  const [kind, by] = (args[0] ?? "finalized,5").split(",");
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

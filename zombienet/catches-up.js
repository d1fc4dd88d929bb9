// Returns 1 once this node's best block has reached the best block another node (args[0]) had
// when the check started, and its finalized block is no more than a few blocks behind.
async function run(nodeName, networkInfo, args) {
  const other = args[0] ?? "alice";
  const api = await zombie.connect(networkInfo.nodesByName[nodeName].wsUri);
  const ref = await zombie.connect(networkInfo.nodesByName[other].wsUri);
  const target = (await ref.rpc.chain.getHeader()).number.toNumber();
  for (;;) {
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    const finalized = (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
    const refFinalized = (await ref.rpc.chain.getHeader(await ref.rpc.chain.getFinalizedHead())).number.toNumber();
    if (best >= target && finalized + 4 >= refFinalized) {
      console.log(`${nodeName}: best ${best} >= ${other}'s ${target}; finalized ${finalized} (${other}: ${refFinalized})`);
      await api.disconnect();
      await ref.disconnect();
      return 1;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

module.exports = { run };

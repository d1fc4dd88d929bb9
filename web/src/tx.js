// One signed call followed into a block: what the page's forms and the browser test both need.

/// Calls `submit(callback)` (a `signAndSend` with its signer) and resolves with the events once
/// the call is in a block, or rejects with the module error's name (and its docs, when the
/// metadata has them), or when the pool drops the call, replaces it (another with its nonce) or
/// finds it invalid.
export function inBlock(api, submit) {
  return new Promise((resolve, reject) => {
    submit(({ status, events, dispatchError }) => {
      if (dispatchError) {
        const why = dispatchError.isModule ? api.registry.findMetaError(dispatchError.asModule) : null;
        const docs = why?.docs?.length ? `: ${why.docs.join(' ')}` : '';
        reject(new Error(why ? `${why.section}.${why.name}${docs}` : dispatchError.toString()));
      } else if (status.isInBlock) {
        resolve(events);
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        reject(new Error(`the transaction pool ${status.type.toLowerCase()} the call: nothing was done; send it again`));
      }
    }).catch(reject);
  });
}

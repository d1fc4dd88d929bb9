// The market's two books as the chain keeps them (pallets/market: `OfferBook` and `JobBook`),
// read a page at a time from the front: the keys are in price order, so the first page is the
// top of the book, and the browser never reads every offer.

/// The price and id in an `OfferBook` key: `price (u128, big-endian) ‖ offer id (u64, big-endian)`.
export function offerKey(bytes) {
  return { price: beUint(bytes.subarray(0, 16)), offer: beUint(bytes.subarray(16, 24)) };
}

/// The bid and id in a `JobBook` key: `(u128::MAX − max_price) (big-endian) ‖ job id (big-endian)`.
export function jobKey(bytes) {
  const inverted = beUint(bytes.subarray(0, 16));
  return { maxPrice: (1n << 128n) - 1n - inverted, job: beUint(bytes.subarray(16, 24)) };
}

function beUint(bytes) {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}

/// Offers (`{ price, free }`, in price order) as price levels with their free slots and the free
/// slots at that price or lower (the depth a job sees up to its max price).
export function depth(offers) {
  const levels = [];
  let total = 0;
  for (const { price, free } of offers) {
    total += free;
    const last = levels[levels.length - 1];
    if (last && last.price === price) {
      last.free += free;
      last.cumulative = total;
    } else {
      levels.push({ price, free, cumulative: total });
    }
  }
  return levels;
}

/// The top of a kind's ask side: up to `size` offers from the best price up, each with its
/// provider and free slots.
export async function askSide({ api }, kind, size = 200) {
  const entries = await api.query.market.offerBook.entriesPaged({ args: [kind], pageSize: size });
  const keys = entries.map(([key]) => offerKey(key.args[1].toU8a()));
  const offers = keys.length ? await api.query.market.offers.multi(keys.map((k) => k.offer)) : [];
  return keys
    .map((k, i) => {
      if (offers[i].isNone) return null;
      const o = offers[i].unwrap();
      return { ...k, provider: o.provider.toString(), slots: o.slots.toNumber(), free: o.slots.toNumber() - o.jobs.length };
    })
    .filter(Boolean);
}

/// The top of a kind's bid side: up to `size` resting jobs from the highest max price down.
export async function bidSide({ api }, kind, size = 50) {
  const entries = await api.query.market.jobBook.entriesPaged({ args: [kind], pageSize: size });
  return entries.map(([key]) => jobKey(key.args[1].toU8a()));
}

// api.cache as Auth0 has it: synchronous, at most 20 entries of 64-byte keys and 4 KB values
// (8 KB in all), 20 writes an execution, lifetimes up to 24 h. Changes go back to the host with
// the result; the host checks them again.
const CACHE_MAX_ENTRIES = 20, CACHE_MAX_KEY = 64, CACHE_MAX_VALUE = 4096, CACHE_MAX_TOTAL = 8192;
const CACHE_DEFAULT_TTL = 15 * 60 * 1000, CACHE_MAX_TTL = 24 * 60 * 60 * 1000, CACHE_MAX_WRITES = 20;
const cacheEncoder = new TextEncoder();
const byteLength = (s) => cacheEncoder.encode(s).length;

export function makeCache(ex, entries, isCurrent) {
  const store = new Map();
  for (const k of Object.keys(entries || {})) store.set(k, { value: entries[k].value, expires_at: entries[k].expires_at });
  const live = (now) => { for (const [k, r] of store) if (r.expires_at <= now) store.delete(k); };
  const err = (code) => ({ type: 'error', code });
  const cache = {
    get(key) {
      const r = store.get(String(key));
      if (!r || r.expires_at <= Date.now()) return undefined;
      return { value: r.value, expires_at: r.expires_at };
    },
    set(key, value, options) {
      if (!isCurrent()) return err('FailedToSetCacheRecord');
      if (ex.cacheWrites >= CACHE_MAX_WRITES) return err('MaxSideEffectsExceeded');
      const k = String(key);
      if (!k || byteLength(k) > CACHE_MAX_KEY) return err('CacheKeySizeExceeded');
      if (typeof value !== 'string') return err('FailedToSetCacheRecord');
      if (byteLength(value) > CACHE_MAX_VALUE) return err('CacheValueSizeExceeded');
      const now = Date.now();
      let expires = now + CACHE_DEFAULT_TTL;
      const o = options || {};
      if (o.expires_at !== undefined && o.expires_at !== null) {
        const e = Number(o.expires_at);
        if (!Number.isFinite(e)) return err('InvalidExpiry');
        if (e <= now) return err('ItemAlreadyExpired');
        if (e > now + CACHE_MAX_TTL) return err('InvalidExpiry');
        expires = e;
      }
      if (o.ttl !== undefined && o.ttl !== null) {
        const t = Number(o.ttl);
        if (!Number.isFinite(t) || t > CACHE_MAX_TTL) return err('InvalidExpiry');
        if (t <= 0) return err('ItemAlreadyExpired');
        expires = o.expires_at !== undefined && o.expires_at !== null ? Math.min(expires, now + t) : now + t;
      }
      expires = Math.floor(expires);
      live(now);
      const next = new Map(store);
      next.set(k, { value, expires_at: expires });
      if (next.size > CACHE_MAX_ENTRIES) return err('CacheSizeExceeded');
      let total = 0;
      for (const [kk, r] of next) total += byteLength(kk) + byteLength(r.value);
      if (total > CACHE_MAX_TOTAL) return err('CacheSizeExceeded');
      store.set(k, { value, expires_at: expires });
      ex.cacheWrites++;
      ex.cacheChanges[k] = { value, expires_at: expires };
      return { type: 'success', record: { value, expires_at: expires } };
    },
    delete(key) {
      if (!isCurrent()) return err('FailedToDeleteCacheRecord');
      if (ex.cacheWrites >= CACHE_MAX_WRITES) return err('MaxSideEffectsExceeded');
      const k = String(key);
      const r = store.get(k);
      if (!r || r.expires_at <= Date.now()) return err('CacheKeyDoesNotExist');
      store.delete(k);
      ex.cacheWrites++;
      ex.cacheChanges[k] = null;
      return { type: 'success' };
    },
  };
  return Object.freeze(cache);
}

import type { Redis } from 'ioredis';

/** Counts hits on a key in fixed windows; the answer says how many so far and when the window ends. */
export interface RateLimitStore {
  hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  close(): Promise<void>;
}

/** Counters in this process: right for one instance; several instances need Redis. */
export function memoryRateLimitStore(now: () => number): RateLimitStore {
  const windows = new Map<string, { count: number; resetAt: number }>();
  let lastSweep = now();
  return {
    async hit(key, windowMs) {
      const t = now();
      if (t - lastSweep > windowMs) {
        for (const [k, w] of windows) if (w.resetAt <= t) windows.delete(k);
        lastSweep = t;
      }
      let w = windows.get(key);
      if (w === undefined || w.resetAt <= t) windows.set(key, (w = { count: 0, resetAt: t + windowMs }));
      w.count++;
      return { count: w.count, resetInMs: w.resetAt - t };
    },
    async close() {
      windows.clear();
    },
  };
}

// One round trip: count the hit, start the window on the first one, report the time left.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

/** Counters in Redis, shared by every instance. */
export function redisRateLimitStore(redis: Redis, prefix = 'lanyard:rl:'): RateLimitStore {
  return {
    async hit(key, windowMs) {
      const [count, ttl] = (await redis.eval(HIT_SCRIPT, 1, prefix + key, windowMs)) as [number, number];
      return { count, resetInMs: ttl };
    },
    async close() {
      await redis.quit();
    },
  };
}

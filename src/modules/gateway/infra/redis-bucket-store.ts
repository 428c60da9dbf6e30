// Rate-limit buckets in Redis, taken by one Lua script so that check-and-decrement is atomic across
// every PayFlow process. Time comes from the Redis server (TIME), so process clocks need not agree.
// If Redis fails, the request is allowed and the failure logged: an outage of the limiter must not
// become an outage of payments.
import { Redis } from 'ioredis';
import type { Logger } from '../../../platform/log.ts';
import { describeError } from '../../../platform/db/client.ts';
import { StartupError } from '../../../platform/db/embedded.ts';
import { resultOf, type BucketLimit } from '../domain/token-bucket.ts';
import type { BucketStore } from './bucket-store.ts';

const takeScript = `
local capacity = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local rate = capacity / window_ms
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated_at')
local tokens = tonumber(state[1])
local updated_at = tonumber(state[2])
if tokens == nil or updated_at == nil then
  tokens = capacity
  updated_at = now
end
local elapsed = math.max(0, now - updated_at)
tokens = math.min(capacity, tokens + elapsed * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated_at', tostring(now))
redis.call('PEXPIRE', KEYS[1], window_ms + 1000)
return { allowed, tostring(tokens) }
`;

export const redisCommandTimeoutMs = 500;
const failureLogIntervalMs = 10_000;

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

type TakingRedis = Redis & {
  takeToken(key: string, capacity: number, windowMs: number): Promise<[number, string]>;
};

/** Connects to Redis (fails fast if it cannot) and returns a store using the atomic script. */
export async function createRedisBucketStore(url: string, prefix: string, log: Logger): Promise<BucketStore> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    commandTimeout: redisCommandTimeoutMs,
    enableOfflineQueue: false,
    connectionName: 'payflow-rate-limits',
  }) as TakingRedis;
  redis.defineCommand('takeToken', { numberOfKeys: 1, lua: takeScript });
  let lastFailureLoggedMs = 0;
  redis.on('error', (error: Error) => {
    if (Date.now() - lastFailureLoggedMs > failureLogIntervalMs) {
      lastFailureLoggedMs = Date.now();
      log.warn({ err: error }, 'rate-limit Redis error');
    }
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new StartupError(`cannot reach Redis at ${redactedUrl(url)} (REDIS_URL): ${describeError(error)}`);
  }
  return {
    async take(key, limit: BucketLimit) {
      try {
        const [allowed, tokens] = await redis.takeToken(`${prefix}${key}`, limit.capacity, limit.windowMs);
        return resultOf(allowed === 1, Number(tokens), limit);
      } catch (error) {
        if (Date.now() - lastFailureLoggedMs > failureLogIntervalMs) {
          lastFailureLoggedMs = Date.now();
          log.warn({ err: error }, 'rate limit not enforced: Redis did not answer');
        }
        return { allowed: true, remaining: limit.capacity, retryAfterMs: 0, resetMs: 0 };
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

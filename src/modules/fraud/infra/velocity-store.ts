// Velocity counters (ADR 21): per card fingerprint, email and IP, the attempts and their amounts in
// sliding windows (1 min, 1 h, 24 h), the distinct cards per IP and per email, the declines per card,
// and whether a card is new to the merchant. Two stores with the same answers: Redis (one Lua script,
// atomic, so 50 parallel attempts on one card are counted 1..50 and never twice the same number) and
// PostgreSQL when REDIS_URL is unset (one function call, under advisory locks on the counters).
// Counting an attempt is idempotent per payment: re-screening a payment (a resumed request) adds
// nothing. Emails and IPs are keyed by a hash, never stored in clear in the counters.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { createBatcher } from '../../../platform/db/batcher.ts';
import type { Sql } from '../../../platform/db/client.ts';
import { windows, type Velocity, type Window, type WindowCounts } from '../domain/screening.ts';

export interface VelocityQuery {
  readonly merchantId: string;
  readonly paymentId: string;
  readonly at: Date;
  /** The attempt's amount in the reference currency's minor units (0 when unknown). */
  readonly amountUsdMinor: number;
  readonly cardFingerprint?: string | undefined;
  readonly email?: string | undefined;
  readonly ipAddress?: string | undefined;
}

export interface VelocityStore {
  readonly kind: 'redis' | 'postgres';
  /** Counts this attempt and answers the counters, this attempt included. */
  record(query: VelocityQuery): Promise<Velocity>;
  /** Counts an outcome of the card: an acquirer decline (per payment) or a refund (per refund); idempotent. */
  recordOutcome(
    kind: 'declines' | 'refunds',
    merchantId: string,
    cardFingerprint: string,
    member: string,
    at: Date,
  ): Promise<void>;
  close(): Promise<void>;
}

const windowNames = Object.keys(windows) as Window[];
const longest = windows['24h'];
const seenRetentionMs = 90 * 86_400_000;

/**
 * Entries kept per counter (the newest): a card, email or IP tried more often than this in 24 hours
 * counts as this many. It bounds the script's work (it sums the amounts of a window's entries), so
 * flooding one counter cannot slow the screening into a timeout (which would fail open); every
 * built-in limit is far below it.
 */
export const velocityEntriesMax = 1000;

function hashed(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

/** The counter names of one attempt (absent signals have none). */
function counterNames(query: VelocityQuery) {
  const m = query.merchantId;
  const card = query.cardFingerprint;
  const email = query.email ? hashed(query.email.toLowerCase()) : undefined;
  const ip = query.ipAddress ? hashed(query.ipAddress) : undefined;
  return {
    card: card && `v:${m}:card:${card}`,
    email: email && `v:${m}:email:${email}`,
    ip: ip && `v:${m}:ip:${ip}`,
    declines: card && `v:${m}:declines:${card}`,
    refunds: card && `v:${m}:refunds:${card}`,
    ipCards: card && ip && `v:${m}:ipcards:${ip}`,
    emailCards: card && email && `v:${m}:emailcards:${email}`,
    seen: card && `v:${m}:seen:${card}`,
  };
}

function byWindow(values: readonly number[]): Record<Window, number> {
  return { '1m': values[0] ?? 0, '1h': values[1] ?? 0, '24h': values[2] ?? 0 };
}

// KEYS: card, email, ip, declines, ipcards, emailcards, seen, refunds ('' when absent).
// ARGV: now (ms), member (payment id), amount, fingerprint, windows (3), longest, seen retention, cap.
// Returns 3 × (count ×3, sum ×3) + declines ×3 + ipcards ×3 + emailcards ×3 + firstSeen + refunds ×3.
const recordScript = `
local now = tonumber(ARGV[1])
local member = ARGV[2]
local amount = ARGV[3]
local fp = ARGV[4]
local w = { tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]) }
local longest = tonumber(ARGV[8])
local out = {}
local cap = tonumber(ARGV[10])
local function trim(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - longest))
  redis.call('ZREMRANGEBYRANK', key, 0, -(cap + 1))
  redis.call('PEXPIRE', key, longest + 60000)
end
for i = 1, 3 do
  local key = KEYS[i]
  if key == '' then
    for j = 1, 6 do table.insert(out, -1) end
  else
    redis.call('ZADD', key, 'NX', now, member .. '|' .. amount)
    trim(key)
    -- One pass over the 24 h entries (at most the cap) gives all three windows.
    local items = redis.call('ZRANGEBYSCORE', key, '(' .. (now - w[3]), '+inf', 'WITHSCORES')
    local counts = { 0, 0, 0 }
    local sums = { 0, 0, 0 }
    for k = 1, #items, 2 do
      local amount = tonumber(string.match(items[k], '|(%d+)$'))
      local age = now - tonumber(items[k + 1])
      for j = 1, 3 do
        if age < w[j] then
          counts[j] = counts[j] + 1
          sums[j] = sums[j] + amount
        end
      end
    end
    for j = 1, 3 do table.insert(out, counts[j]) end
    for j = 1, 3 do table.insert(out, sums[j]) end
  end
end
for i = 4, 6 do
  local key = KEYS[i]
  if key == '' then
    for j = 1, 3 do table.insert(out, -1) end
  else
    if i > 4 then redis.call('ZADD', key, now, fp) end
    trim(key)
    for j = 1, 3 do table.insert(out, redis.call('ZCOUNT', key, '(' .. (now - w[j]), '+inf')) end
  end
end
if KEYS[7] == '' then
  table.insert(out, -1)
else
  local first = redis.call('SET', KEYS[7], member, 'NX', 'PX', ARGV[9])
  if first then
    table.insert(out, 1)
  elseif redis.call('GET', KEYS[7]) == member then
    table.insert(out, 1)
  else
    table.insert(out, 0)
  end
end
if KEYS[8] == '' then
  for j = 1, 3 do table.insert(out, -1) end
else
  trim(KEYS[8])
  for j = 1, 3 do table.insert(out, redis.call('ZCOUNT', KEYS[8], '(' .. (now - w[j]), '+inf')) end
end
return out
`;

type ScriptedRedis = Redis & {
  fraudRecord(...args: (string | number)[]): Promise<number[]>;
};

/** Decodes the script's flat answer (−1: the signal was absent). */
export function velocityFromFlat(flat: readonly number[]): Velocity {
  const counts = (offset: number): WindowCounts | undefined =>
    flat[offset] === -1
      ? undefined
      : {
          count: byWindow(flat.slice(offset, offset + 3)),
          sum: byWindow(flat.slice(offset + 3, offset + 6)),
        };
  const triple = (offset: number) =>
    flat[offset] === -1 ? undefined : byWindow(flat.slice(offset, offset + 3));
  const first = flat[27];
  return {
    ...(counts(0) && { card: counts(0)! }),
    ...(counts(6) && { email: counts(6)! }),
    ...(counts(12) && { ip: counts(12)! }),
    ...(triple(18) && { cardDeclines: triple(18)! }),
    ...(triple(21) && { ipDistinctCards: triple(21)! }),
    ...(triple(24) && { emailDistinctCards: triple(24)! }),
    ...(first !== -1 && first !== undefined && { firstSeenCard: first === 1 }),
    ...(triple(28) && { cardRefunds: triple(28)! }),
  };
}

export function redisVelocityStore(url: string, prefix: string, commandTimeoutMs: number): VelocityStore {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    connectionName: 'payflow-fraud',
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  }) as ScriptedRedis;
  redis.on('error', () => undefined); // failures surface on each command; the screening counts them
  redis.defineCommand('fraudRecord', { numberOfKeys: 8, lua: recordScript });
  // Not awaited: while Redis is unreachable (at start or later) commands fail at once (no offline
  // queue) and the screening applies the merchant's fail mode; the client reconnects on its own.
  redis.connect().catch(() => undefined);
  const key = (name: string | undefined) => (name ? `${prefix}${name}` : '');
  return {
    kind: 'redis',
    async record(query) {
      const names = counterNames(query);
      const flat = await redis.fraudRecord(
        key(names.card),
        key(names.email),
        key(names.ip),
        key(names.declines),
        key(names.ipCards),
        key(names.emailCards),
        key(names.seen),
        key(names.refunds),
        query.at.getTime(),
        query.paymentId,
        Math.max(0, Math.round(query.amountUsdMinor)),
        query.cardFingerprint ?? '',
        windows['1m'],
        windows['1h'],
        windows['24h'],
        longest,
        seenRetentionMs,
        velocityEntriesMax,
      );
      return velocityFromFlat(flat.map(Number));
    },
    async recordOutcome(kind, merchantId, cardFingerprint, member, at) {
      const name = `${prefix}v:${merchantId}:${kind}:${cardFingerprint}`;
      await redis
        .multi()
        .zadd(name, 'NX', at.getTime(), member)
        .pexpire(name, longest + 60_000)
        .exec();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

type CounterRow = { counter: string; c1: number; c2: number; c3: number; s1: string; s2: string; s3: string };

/** One screening's attempt as fraud.record_attempt takes it. */
function attemptOf(query: VelocityQuery) {
  const names = counterNames(query);
  const at = query.at;
  const since = (ms: number) => new Date(at.getTime() - ms);
  return {
    names,
    attempts: [names.card, names.email, names.ip].filter((name): name is string => !!name),
    distinct: [names.ipCards, names.emailCards].filter((name): name is string => !!name),
    outcomes: [names.declines, names.refunds].filter((name): name is string => !!name),
    seen: names.seen ?? null,
    paymentId: query.paymentId,
    fingerprint: query.cardFingerprint ?? null,
    amount: Math.max(0, Math.round(query.amountUsdMinor)),
    at,
    since1m: since(windows['1m']),
    since1h: since(windows['1h']),
    since24h: since(windows['24h']),
  };
}

/** The counters fraud.record_attempt answered, as the screening reads them. */
function velocityOf(names: ReturnType<typeof counterNames>, rows: readonly CounterRow[]): Velocity {
  const found = new Map(rows.map((row) => [row.counter, row]));
  const counts = (name: string | undefined): WindowCounts | undefined => {
    if (!name) return undefined;
    const row = found.get(name);
    return {
      count: byWindow([row?.c1 ?? 0, row?.c2 ?? 0, row?.c3 ?? 0]),
      sum: byWindow([Number(row?.s1 ?? 0), Number(row?.s2 ?? 0), Number(row?.s3 ?? 0)]),
    };
  };
  const firstSeenCard = names.seen ? found.get(names.seen)?.c1 === 1 : undefined;
  const card = counts(names.card);
  const email = counts(names.email);
  const ip = counts(names.ip);
  return {
    ...(card && { card }),
    ...(email && { email }),
    ...(ip && { ip }),
    ...(names.declines && { cardDeclines: counts(names.declines)!.count }),
    ...(names.refunds && { cardRefunds: counts(names.refunds)!.count }),
    ...(names.ipCards && { ipDistinctCards: counts(names.ipCards)!.count }),
    ...(names.emailCards && { emailDistinctCards: counts(names.emailCards)!.count }),
    ...(firstSeenCard !== undefined && { firstSeenCard }),
  };
}

/** Velocity statements running at once per store (each holds a connection of the pool). */
export const velocityStatementsInFlight = 3;
/** Screenings in one velocity statement at most. */
export const velocityBatchMax = 32;

export function postgresVelocityStore(sql: Sql): VelocityStore {
  // One statement (migrations 0801, 0802): for each screening, in order, fraud.record_attempt's
  // locks, inserts, trims, counts and first-seen check; the attempts go as JSON. Its implicit
  // transaction commits asynchronously (`set_config(…, true)` lasts until that commit): velocity
  // counters are a heuristic, not a record, and a PostgreSQL crash may lose the last ≈ 200 ms of
  // them, as Redis without fsync would (ADR 21). Their visibility and the advisory locks are exact;
  // the screening's decision is stored durably with the payment.
  const recordAll = async (attempts: readonly ReturnType<typeof attemptOf>[]): Promise<Velocity[]> => {
    const rows = await sql<(CounterRow & { index: number })[]>`
      select o_index as index, o_counter as counter, c1, c2, c3, s1, s2, s3,
        set_config('synchronous_commit', 'off', true) as commit_mode
      from fraud.record_attempts(
        ${sql.json(attempts.map(({ names: _names, ...attempt }) => attempt) as never)}, ${velocityEntriesMax})`;
    const byIndex = attempts.map((): CounterRow[] => []);
    for (const row of rows) byIndex[row.index]!.push(row);
    return attempts.map((attempt, index) => velocityOf(attempt.names, byIndex[index]!));
  };
  // Alone at low load; under load, the screenings that arrive while earlier velocity statements run
  // leave together; a batch the server refuses (a deadlock between two batches' locks) runs each
  // screening alone (ADR 18).
  const batcher = createBatcher<ReturnType<typeof attemptOf>, Velocity>({
    maxInFlight: velocityStatementsInFlight,
    maxBatch: velocityBatchMax,
    runOne: async (attempt) => (await recordAll([attempt]))[0]!,
    runBatch: recordAll,
  });
  return {
    kind: 'postgres',
    record: (query) => batcher.submit(attemptOf(query)),
    async recordOutcome(kind, merchantId, cardFingerprint, member, at) {
      await sql`insert into fraud.velocity (counter, member, amount, at)
        values (${`v:${merchantId}:${kind}:${cardFingerprint}`}, ${member}, 0, ${at})
        on conflict (counter, member) do nothing`;
    },
    async close() {},
  };
}

export const velocityWindows = windowNames;

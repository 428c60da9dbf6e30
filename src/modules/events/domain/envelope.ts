// Events as data: the versioned type name, the JSON-safe payload (amounts as JSON integers) and the
// rule that no card data ever enters an event. Pure: the caller supplies ids and times.
import assert from 'node:assert/strict';
import { amountToJson } from '../../../platform/money.ts';

/** `<aggregate>.<event>.v<N>`, e.g. `payment.captured.v1`. */
export const eventTypePattern = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+\.v[1-9][0-9]{0,3}$/;

/** Keys that would carry card data (compared case-insensitively, ignoring `_` and `-`). */
export const forbiddenPayloadKeys: ReadonlySet<string> = new Set([
  'number',
  'cardnumber',
  'pan',
  'cvc',
  'cvv',
  'cvc2',
  'cvv2',
  'securitycode',
]);

/** Bounds: nesting depth and serialized size of one payload. */
export const payloadDepthMax = 16;
export const payloadBytesMax = 65_536;

function normalizedKey(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

function jsonSafe(value: unknown, path: string, depth: number): unknown {
  assert.ok(depth <= payloadDepthMax, `event payload is nested deeper than ${payloadDepthMax} at ${path}`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    assert.ok(Number.isFinite(value), `event payload ${path} is not a finite number`);
    return value;
  }
  if (typeof value === 'bigint') return amountToJson(value);
  if (value instanceof Date) {
    assert.ok(!Number.isNaN(value.getTime()), `event payload ${path} is an invalid date`);
    return value.toISOString();
  }
  if (Array.isArray(value)) return value.map((item, index) => jsonSafe(item, `${path}[${index}]`, depth + 1));
  assert.ok(
    typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype,
    `event payload ${path} is a ${typeof value}, not JSON data`,
  );
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    assert.ok(
      !forbiddenPayloadKeys.has(normalizedKey(key)),
      `event payload key ${path}.${key} could carry card data; events never contain card numbers or CVCs`,
    );
    if (item === undefined) continue;
    result[key] = jsonSafe(item, `${path}.${key}`, depth + 1);
  }
  return result;
}

/**
 * The payload as plain JSON data: bigint → JSON integer (amountToJson: one operation's amount; sums
 * arrive as strings from totalToJson, ADR 27), Date → ISO 8601 string,
 * undefined properties dropped. Anything else that JSON cannot carry, and any key that could hold
 * card data, is a programmer error (AssertionError), so the caller's transaction aborts.
 */
export function toJsonPayload(payload: Record<string, unknown>): Record<string, unknown> {
  const result = jsonSafe(payload, 'payload', 0) as Record<string, unknown>;
  const bytes = Buffer.byteLength(JSON.stringify(result));
  assert.ok(bytes <= payloadBytesMax, `event payload is ${bytes} bytes; at most ${payloadBytesMax}`);
  return result;
}

export function assertEventType(type: string): void {
  assert.ok(eventTypePattern.test(type), `event type "${type}" is not <aggregate>.<event>.v<N>`);
}

// Identifiers: a type prefix plus a UUIDv7 in Crockford base32 (time-ordered, so primary-key
// inserts stay local in the B-tree and ids sort by creation time).
import { randomFillSync } from 'node:crypto';

const crockford = '0123456789abcdefghjkmnpqrstvwxyz';

/** Random bytes drawn from the CSPRNG 4 KB at a time (a call per id cost ≈ 4 µs: bulk inserts make millions). */
const randomPoolBytes = 4096;
const randomPool = Buffer.alloc(randomPoolBytes);
let randomPoolUsed = randomPoolBytes;

/** `length` fresh random bytes (≤ 64), valid until the next call: copy them before calling again. */
function nextRandomBytes(length: number): Buffer {
  if (randomPoolUsed + length > randomPoolBytes) {
    randomFillSync(randomPool);
    randomPoolUsed = 0;
  }
  randomPoolUsed += length;
  return randomPool.subarray(randomPoolUsed - length, randomPoolUsed);
}

/** 16 bytes of UUIDv7: 48-bit unix milliseconds, version, variant, 74 random bits. */
export function uuidv7Bytes(nowMs: number = Date.now(), random: Buffer = nextRandomBytes(10)): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(nowMs, 0, 6);
  random.copy(bytes, 6, 0, 10);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  return bytes;
}

export function uuidv7(nowMs?: number): string {
  const hex = uuidv7Bytes(nowMs).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let output = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      output += crockford[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) output += crockford[(value << (5 - bits)) & 31];
  return output;
}

/** A prefixed, time-ordered id such as `pay_01jd…` (26 base32 characters after the prefix). */
export function newId(prefix: string, nowMs?: number): string {
  return `${prefix}_${base32(uuidv7Bytes(nowMs))}`;
}

export function isId(prefix: string, value: string): boolean {
  return new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}

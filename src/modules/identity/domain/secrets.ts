// Client secrets: 32 random bytes shown once, stored only as an scrypt hash
// (`scrypt$N$r$p$salt$hash`, base64url). Verification is constant-time and runs a full scrypt even for
// unknown clients, so response time does not reveal which client ids exist.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scryptCost = 16384;
const scryptBlockSize = 8;
const scryptParallelization = 1;
const saltBytes = 16;
const hashBytes = 32;
const secretBytes = 32;
/** Secrets longer than this are rejected before hashing (no scrypt on megabyte inputs). */
export const clientSecretLengthMax = 200;

function scryptAsync(secret: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export function generateClientSecret(): string {
  return `sk_${randomBytes(secretBytes).toString('base64url')}`;
}

export async function hashClientSecret(secret: string): Promise<string> {
  const salt = randomBytes(saltBytes);
  const hash = await scryptAsync(secret, salt, hashBytes, {
    N: scryptCost,
    r: scryptBlockSize,
    p: scryptParallelization,
  });
  return [
    'scrypt',
    scryptCost,
    scryptBlockSize,
    scryptParallelization,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

// A well-formed hash of a random secret, compared against when the client does not exist.
const decoyHash = hashClientSecret(randomBytes(secretBytes).toString('base64url'));

/** True when `secret` matches `stored`; `stored` undefined (unknown client) always fails, slowly. */
export async function verifyClientSecret(secret: string, stored: string | undefined): Promise<boolean> {
  const encoded = stored ?? (await decoyHash);
  const [scheme, cost, blockSize, parallelization, salt, hash] = encoded.split('$');
  if (scheme !== 'scrypt' || !salt || !hash || secret.length > clientSecretLengthMax) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(secret, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(cost),
    r: Number(blockSize),
    p: Number(parallelization),
  });
  return timingSafeEqual(actual, expected) && stored !== undefined;
}

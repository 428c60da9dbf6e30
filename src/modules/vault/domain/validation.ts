// Helpers for reading untrusted input without ever throwing. Validation results are values: a
// failure names a stable `code`, the offending `field` and a fixed message that never echoes the
// input (the input may be a card number).
import { Secret } from './masked.ts';

export interface ValidationFailure<Code extends string, Field extends string> {
  readonly ok: false;
  readonly code: Code;
  readonly field: Field;
  readonly message: string;
}

export function validationFailure<Code extends string, Field extends string>(
  code: Code,
  field: Field,
  message: string,
): ValidationFailure<Code, Field> {
  return { ok: false, code, field, message };
}

/**
 * Reads one property of an untrusted value. A throwing getter or a revoked Proxy counts as a missing
 * field, so validation reports a field error instead of crashing.
 */
export function readField(input: unknown, name: string): unknown {
  if (typeof input !== 'object' || input === null) return undefined;
  try {
    return (input as Record<string, unknown>)[name];
  } catch {
    return undefined;
  }
}

/** Callers may hand over a clear value or one already wrapped in a Secret; both are accepted. */
export function unwrapSecret(value: unknown): unknown {
  return Secret.isSecret(value) ? value.reveal() : value;
}

/** A string of ASCII digits whose length lies within the bounds; the length check runs first so huge strings cost nothing. */
export function isAsciiDigits(value: unknown, lengthMin: number, lengthMax: number): value is string {
  if (typeof value !== 'string' || value.length < lengthMin || value.length > lengthMax) return false;
  return /^[0-9]+$/.test(value);
}

/** Programmer errors crash: time is injected by the caller and must be a real instant. */
export function assertValidDate(now: Date): void {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new TypeError('now must be a valid Date');
  }
}

// A value that must never reach a log, a JSON body or an error message by accident: card numbers,
// CVCs, key material. Every way JavaScript turns an object into text prints `[redacted]`; only an
// explicit `.reveal()` gives the value back, so each use of the clear value is visible in review.
// (Modelled on Hyperswitch's `masking::Secret`.)

export const redactedText = '[redacted]';

// The symbol node:util uses for custom inspection; Symbol.for keeps this file free of imports.
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

export class Secret<T> {
  // A private field, not a property: Object.keys, spread, structuredClone and util.inspect with
  // showHidden cannot see it.
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** True for a Secret. Never throws, not even for a revoked Proxy (a private brand check runs no traps). */
  static isSecret(value: unknown): value is Secret<unknown> {
    return typeof value === 'object' && value !== null && #value in value;
  }

  /** The clear value. Call it as late as possible and never pass the result to a logger. */
  reveal(): T {
    return this.#value;
  }

  /** A new Secret holding a value derived from this one, without revealing it to the caller. */
  map<Result>(transform: (value: T) => Result): Secret<Result> {
    return new Secret(transform(this.#value));
  }

  toString(): string {
    return redactedText;
  }

  toJSON(): string {
    return redactedText;
  }

  [Symbol.toPrimitive](): string {
    return redactedText;
  }

  [inspectCustom](): string {
    return redactedText;
  }
}

// Random untrusted values for the fuzz tests of validateCard and validateWallet: every JavaScript
// type, hostile objects (throwing getters, revoked proxies), huge strings, unicode digits and
// near-valid card numbers. Seeded, so a failure names a seed that replays it.
import { Secret } from '../../src/modules/vault/index.ts';

export type Random = () => number;

/** mulberry32: a tiny deterministic generator, good enough to pick test cases. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function pick<T>(random: Random, choices: readonly T[]): T {
  if (choices.length === 0) throw new Error('pick needs at least one choice');
  return choices[Math.floor(random() * choices.length)] as T;
}

function integerBetween(random: Random, minimum: number, maximum: number): number {
  return minimum + Math.floor(random() * (maximum - minimum + 1));
}

// Built once: allocating megabytes per iteration would only slow the suite down.
const hugeStrings = [
  '4'.repeat(1_000_000),
  '4242 '.repeat(200_000),
  'a'.repeat(5_000_000),
  '٤'.repeat(100_000),
];

// Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, fullwidth, mathematical bold digits.
const unicodeDigitSets = [
  '٠١٢٣٤٥٦٧٨٩',
  '۰۱۲۳۴۵۶۷۸۹',
  '०१२३४५६७८९',
  '০১২৩৪৫৬৭৮৯',
  '０１２３４５６７８９',
  '𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗',
];

export const validCardNumbers = [
  '4242424242424242',
  '5555555555554444',
  '378282246310005',
  '6011111111111117',
  '3566002020360505',
  '6200000000000005',
  '36227206271667',
];

function digitString(random: Random, length: number): string {
  return Array.from({ length }, () => String(integerBetween(random, 0, 9))).join('');
}

function withSeparators(random: Random, digits: string): string {
  const separators = ['', '', ' ', '-', '  ', '\t', '\u00a0', '--', '_', '.'];
  return [...digits].map((digit) => digit + pick(random, separators)).join('');
}

function unicodeDigits(random: Random, ascii: string): string {
  const set = [...pick(random, unicodeDigitSets)];
  return [...ascii].map((digit) => (random() < 0.5 ? (set[Number(digit)] ?? digit) : digit)).join('');
}

function randomCodePoints(random: Random, length: number): string {
  // Includes controls, lone surrogates, bidi overrides and astral characters.
  const pool = [
    0x00, 0x07, 0x0a, 0x1b, 0x7f, 0x85, 0xd800, 0xdfff, 0x202e, 0x2028, 0xfeff, 0x1f4b3, 0x41, 0x34,
  ];
  return Array.from({ length }, () =>
    random() < 0.5
      ? String.fromCharCode(pick(random, pool))
      : String.fromCodePoint(integerBetween(random, 0, 0x10ffff)),
  ).join('');
}

export function randomString(random: Random): string {
  const valid = pick(random, validCardNumbers);
  switch (integerBetween(random, 0, 7)) {
    case 0:
      return digitString(random, integerBetween(random, 0, 25));
    case 1:
      return withSeparators(random, valid);
    case 2:
      return unicodeDigits(random, valid);
    case 3:
      return pick(random, hugeStrings);
    case 4:
      return randomCodePoints(random, integerBetween(random, 0, 40));
    case 5:
      return ` ${valid}`.slice(integerBetween(random, 0, 1)) + pick(random, ['', ' ', '\n', 'x', '0']);
    case 6:
      return pick(random, [
        '',
        ' ',
        '-',
        '12',
        '123',
        '1234',
        '01',
        '2030',
        '٤٢',
        'null',
        '__proto__',
        'NaN',
      ]);
    default:
      return valid;
  }
}

function hostileObject(random: Random): unknown {
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  const throwingEverywhere = new Proxy(
    {},
    {
      get: () => {
        throw new Error('get trap');
      },
      has: () => {
        throw new Error('has trap');
      },
      getPrototypeOf: () => {
        throw new Error('getPrototypeOf trap');
      },
      ownKeys: () => {
        throw new Error('ownKeys trap');
      },
    },
  );
  const throwingGetters = Object.defineProperty({}, 'number', {
    get: () => {
      throw new Error('getter');
    },
    enumerable: true,
  });
  const throwingConversion = {
    toString: () => {
      throw new Error('toString');
    },
    valueOf: () => {
      throw new Error('valueOf');
    },
    [Symbol.toPrimitive]: () => {
      throw new Error('toPrimitive');
    },
  };
  return pick(random, [revocable.proxy, throwingEverywhere, throwingGetters, throwingConversion]);
}

export function randomValue(random: Random, depth = 0): unknown {
  switch (integerBetween(random, 0, 9)) {
    case 0:
      return pick(random, [
        undefined,
        null,
        true,
        false,
        0,
        -0,
        NaN,
        Infinity,
        -Infinity,
        1e308,
        4242424242424242,
      ]);
    case 1:
      return random() < 0.5 ? integerBetween(random, -100, 3000) : random() * 1e6;
    case 2:
      return pick(random, [4242424242424242n, 0n, Symbol('card'), () => '4242424242424242', new Date(NaN)]);
    case 3:
    case 4:
    case 5:
      return randomString(random);
    case 6:
      return hostileObject(random);
    case 7:
      return new Secret(depth < 2 ? randomValue(random, depth + 1) : randomString(random));
    case 8:
      return pick(random, [{}, [], Object.create(null), new String('4242424242424242'), [4242424242424242]]);
    default:
      return depth < 2 ? { number: randomValue(random, depth + 1), cvc: randomValue(random, depth + 1) } : {};
  }
}

// Fuzzed POST /tokens bodies (random JSON types, huge strings, unicode digits, numbers with spaces
// or dashes, deep nesting, broken JSON): never a 5xx, always problem+json on failure, and no
// response echoes a card number that was sent. Seeded: a failure names the seed that replays it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { seededRandom } from './support/untrusted-values.ts';

let server: TestServer;
let merchant: MerchantSession;
const seed = Number(process.env.FUZZ_SEED ?? 20261125);
const iterations = 400;

before(async () => {
  server = await startTestServer();
  merchant = await merchantSession(server, 'Fuzz merchant');
});
after(async () => {
  await server?.close();
});

const random = seededRandom(seed);
const pick = <T>(choices: readonly T[]): T => choices[Math.floor(random() * choices.length)] as T;
const between = (minimum: number, maximum: number) =>
  minimum + Math.floor(random() * (maximum - minimum + 1));
const cardNumbers = [
  '4242424242424242',
  '5555555555554444',
  '378282246310005',
  '6011111111111117',
  '36227206271667',
];
const unicodeDigits = ['٠١٢٣٤٥٦٧٨٩', '۰۱۲۳۴۵۶۷۸۹', '०१२३४५६७८९', '０１２３４５６７８９', '𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗'];

function randomString(): string {
  const number = pick(cardNumbers);
  switch (between(0, 8)) {
    case 0:
      return number;
    case 1:
      return [...number]
        .map((digit) => digit + pick(['', '', ' ', '-', '  ', '--', '\t', '\u00a0', '.']))
        .join('');
    case 2: {
      const set = [...pick(unicodeDigits)];
      return [...number].map((digit) => (random() < 0.6 ? (set[Number(digit)] ?? digit) : digit)).join('');
    }
    case 3:
      return pick(['4', '٤', 'a', '4242 ', '\u0000']).repeat(between(1_000, 200_000));
    case 4:
      return Array.from({ length: between(0, 40) }, () => String.fromCodePoint(between(0, 0x10ffff))).join(
        '',
      );
    case 5:
      return pick([
        '',
        ' ',
        '-',
        '12',
        '123',
        '1234',
        '01',
        '2030',
        'null',
        '__proto__',
        'constructor',
        'NaN',
      ]);
    case 6:
      return String(between(0, 9)).repeat(between(0, 25));
    case 7:
      return ` ${number} `;
    default:
      return number.slice(0, between(0, number.length));
  }
}

function randomValue(depth: number): unknown {
  switch (between(0, 9)) {
    case 0:
      return pick([null, true, false, 0, -1, 1e308, -1e-308, 4242424242424242, 12, 2030, 1.5]);
    case 1:
      return between(-1000, 100_000);
    case 2:
    case 3:
    case 4:
      return randomString();
    case 5:
      return depth < 3 ? Array.from({ length: between(0, 4) }, () => randomValue(depth + 1)) : [];
    case 6:
      return depth < 3 ? randomCard(depth + 1) : {};
    default:
      return depth < 3 ? { [randomString().slice(0, 20)]: randomValue(depth + 1) } : {};
  }
}

function randomCard(depth: number): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const name of [
    'number',
    'expMonth',
    'expYear',
    'cvc',
    'holderName',
    'type',
    'networkToken',
    'cryptogram',
  ]) {
    if (random() < 0.8)
      fields[name] =
        random() < 0.5 ? randomValue(depth) : name === 'number' ? pick(cardNumbers) : randomString();
  }
  if (random() < 0.1) fields['__proto__'] = { number: '4242424242424242' };
  return fields;
}

/** A valid card, sometimes with one field swapped for a random value or a reformatted number. */
function nearlyValidCard(): Record<string, unknown> {
  const number = pick(cardNumbers);
  const card: Record<string, unknown> = {
    number: random() < 0.5 ? number : number.replace(/(\d{4})(?=\d)/g, `$1${pick([' ', '-'])}`),
    expMonth: pick([1, 12, '07', 7]),
    expYear: pick([2031, '2031', 31]),
    cvc: number.startsWith('37') ? '1234' : '123',
  };
  if (random() < 0.5) card[pick(Object.keys(card))] = randomValue(2);
  return card;
}

function randomBody(): string {
  switch (between(0, 9)) {
    case 0:
      return JSON.stringify(randomValue(0));
    case 1:
      return pick([
        '',
        '{',
        '{"card":',
        'null',
        '[]',
        '"4242424242424242"',
        '{"card": {"number": 4242424242424242',
        '\u0000',
      ]);
    case 2:
      return `${'{"card":'.repeat(2000)}{}${'}'.repeat(2000)}`;
    case 3:
      return JSON.stringify({ wallet: randomCard(1) });
    case 4:
      return JSON.stringify({ card: randomCard(1), wallet: random() < 0.5 ? randomCard(1) : undefined });
    case 5:
    case 6:
      return JSON.stringify({ card: nearlyValidCard() });
    default:
      return JSON.stringify({ card: randomCard(1) });
  }
}

const luhnRun = /[0-9]{13,19}/g;

test(`${iterations} random token requests never get a 5xx or an echoed card number (seed ${seed})`, async () => {
  const statuses = new Map<number, number>();
  for (let iteration = 0; iteration < iterations; iteration += 1) {
    const body = randomBody();
    const token = random() < 0.5 ? merchant.publishableToken : merchant.token;
    const response = await fetch(`${server.baseUrl}/tokens`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': pick([
          'application/json',
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
        ]),
      },
      body,
    });
    const text = await response.text();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    assert.ok(
      response.status < 500,
      `seed ${seed}, iteration ${iteration}: ${response.status} ${text.slice(0, 300)}`,
    );
    if (response.status >= 400) assert.match(response.headers.get('content-type') ?? '', /problem\+json/);
    for (const run of text.match(luhnRun) ?? []) {
      assert.ok(
        !cardNumbers.some((number) => run.includes(number)),
        `iteration ${iteration} echoed a number: ${text}`,
      );
    }
  }
  // The generator reaches both outcomes, so the test exercises acceptance as well as rejection.
  assert.ok((statuses.get(201) ?? 0) > 0, `no body was accepted: ${[...statuses]}`);
  assert.ok((statuses.get(422) ?? 0) > 0, `no body reached domain validation: ${[...statuses]}`);
});

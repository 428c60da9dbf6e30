// The parts of the concept pages in docs/ that come from the code, so they cannot drift: the test
// cards (the simulator's list, src/simulator/test-cards.ts) and the currencies with their minor
// units (src/platform/money.ts). Each page holds them between `<!-- generated:NAME -->` and
// `<!-- /generated:NAME -->`; `npm run docs:concepts` rewrites those blocks and
// test/concept-docs.test.ts fails when a page differs from what this prints.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { testCards, type CardOutcome } from '../src/simulator/test-cards.ts';
import { amountMaxMinor, currencyExponents, formatMajor, type CurrencyCode } from '../src/platform/money.ts';
import { errorCatalogue, type ErrorArea, type Retry } from '../src/platform/error-codes.ts';

const repositoryRoot = path.resolve(import.meta.dirname, '..');

/**
 * Cards the acquirer approves but PayFlow's fraud screening scores by BIN and last four (ADR 21,
 * src/modules/fraud/domain/screening.ts testCardRisk); the score decides block (≥ 75) or review (≥ 65).
 */
const fraudTestCards: ReadonlyMap<string, string> = new Map([
  ['4100000000000019', 'risk 99: **422 `fraud_blocked`**, nothing sent to the acquirer'],
  ['4000000000004954', 'risk 85 (highest): **422 `fraud_blocked`** by the built-in rule'],
  [
    '4000000000009235',
    'risk 70 (elevated): 201 `AUTHORIZED` with `review: pending`; capture is 409 `payment_in_review` until approved',
  ],
]);

function payflowAnswer(number: string, outcome: CardOutcome): string {
  const fraud = fraudTestCards.get(number);
  if (fraud !== undefined) return fraud;
  switch (outcome.behaviour) {
    case 'answer_late':
      return '202 `PENDING` (the acquirer approved, its answer comes after `ACQUIRER_TIMEOUT_MS`); the janitor asks the acquirer and the payment becomes `AUTHORIZED`';
    case 'record_late':
      return '202 `PENDING` (the acquirer has not decided within `ACQUIRER_TIMEOUT_MS`); the janitor finishes it once the acquirer has';
    case 'refunds_fail':
      return '201 `AUTHORIZED`; a refund answers 202 pending, then fails (`refund_failed`) and its amount can be refunded again';
    case 'normal':
      break;
    default:
      outcome.behaviour satisfies never;
  }
  switch (outcome.status) {
    case 'approved':
      return '201 `AUTHORIZED`';
    case 'declined':
    case 'error':
      return `422 \`${outcome.declineCode}\` (\`paymentStatus: FAILED\`, \`declineCode\` the same)`;
    default:
      return outcome.status satisfies never;
  }
}

export function testCardsTable(): string {
  const rows = [...testCards].map(
    ([number, outcome]) =>
      `| \`${number}\` | ${outcome.status}${outcome.declineCode ? ` (\`${outcome.declineCode}\`)` : ''} | ${payflowAnswer(number, outcome)} |`,
  );
  return [
    '| number | the acquirer simulator | what `POST /v1/payments/authorize` answers |',
    '|---|---|---|',
    ...rows,
    '| any other Luhn-valid number | approved | 201 `AUTHORIZED` |',
    '| a number failing the Luhn check | declined (`incorrect_number`) | never sent: `POST /v1/tokens` refuses it first with 422 `invalid_number` |',
  ].join('\n');
}

export function currenciesTable(): string {
  const byExponent = new Map<number, CurrencyCode[]>();
  for (const [code, exponent] of Object.entries(currencyExponents) as [CurrencyCode, number][])
    byExponent.set(exponent, [...(byExponent.get(exponent) ?? []), code]);
  const rows = [...byExponent]
    .sort(([a], [b]) => a - b)
    .map(([exponent, codes]) => {
      const example = codes[0]!;
      return `| ${exponent} | \`1050\` is ${formatMajor(1050n, example)} ${example}; at most ${formatMajor(amountMaxMinor, example)} | ${codes.map((code) => `\`${code}\``).join(' ')} |`;
    });
  return ['| minor-unit digits | example | currencies |', '|---|---|---|', ...rows].join('\n');
}

const areaTitles: Readonly<Record<ErrorArea, string>> = {
  request: 'The request',
  authentication: 'Authentication, scopes and rate limits',
  idempotency: 'Idempotency keys',
  payments: 'Payments',
  declines: 'Declines (the acquirer said no)',
  vault: 'Card vault (`POST /v1/tokens`)',
  fraud: 'Fraud screening',
  webhooks: 'Webhooks',
  checkout: 'Hosted checkout',
  identity: 'Merchants, clients and dashboard users',
  settlement: 'Settlement and reconciliation',
  platform: 'The platform',
};

const retryWords: Readonly<Record<Retry, string>> = {
  no: 'no',
  yes: '**yes**, same request',
  after_change: 'after a change',
};

const cell = (text: string) => text.replaceAll('|', '\\|');

/** docs/errors.md: every code of src/platform/error-codes.ts, grouped by area. */
export function errorsTable(): string {
  const sections: string[] = [];
  for (const [area, title] of Object.entries(areaTitles) as [ErrorArea, string][]) {
    const rows = Object.entries(errorCatalogue)
      .filter(([, entry]) => entry.area === area)
      .map(
        ([code, entry]) =>
          `| \`${code}\` | ${entry.status.join(', ')} | ${cell(entry.meaning)} | ${retryWords[entry.retry]} | ${cell(entry.action)} |`,
      );
    if (rows.length === 0) continue;
    sections.push(
      [
        `### ${title}`,
        '',
        '| code | status | meaning | retry? | what to do |',
        '|---|---|---|---|---|',
        ...rows,
      ].join('\n'),
    );
  }
  return sections.join('\n\n');
}

export const generatedBlocks: Readonly<Record<string, { file: string; render: () => string }>> = {
  'test-cards': { file: 'docs/test-cards.md', render: testCardsTable },
  currencies: { file: 'docs/money.md', render: currenciesTable },
  errors: { file: 'docs/errors.md', render: errorsTable },
};

/** The page's text with the block NAME replaced by `content`; throws if the markers are missing. */
export function replaceBlock(text: string, name: string, content: string): string {
  const start = `<!-- generated:${name} -->`;
  const end = `<!-- /generated:${name} -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) throw new Error(`markers ${start} … ${end} not found`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

export function pagePath(file: string): string {
  return path.join(repositoryRoot, file);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, block] of Object.entries(generatedBlocks)) {
    const file = pagePath(block.file);
    writeFileSync(file, replaceBlock(readFileSync(file, 'utf8'), name, block.render()));
    process.stdout.write(`${block.file}: ${name} written\n`);
  }
}

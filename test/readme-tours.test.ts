// The README's shell tours, replayed as a user would run them, and every answer checked against
// /openapi.json. The blocks marked `<!-- readme-tour: NAME -->` run in README order in one bash, in
// a folder whose `.payflow/demo-credentials.json` is the demo merchant PayFlow created on its first
// start (as `npm start` does), with `localhost:8080` pointing at this PayFlow and `npx payflow` at
// this checkout's CLI. `curl` is wrapped to record each exchange (and pass its output through
// unchanged); each answer's status, content type and body are then validated against the OpenAPI
// document with @hyperjump/json-schema (an OpenAPI 3.1 validator independent of the Fastify/TypeBox
// code that generates the document and serializes the answers).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { validate } from '@hyperjump/json-schema/openapi-3-1';
import { freePort } from '../src/platform/ports.ts';
import {
  repositoryRoot,
  startTestServer,
  testPoolMax,
  testSecretsKey,
  type TestServer,
} from './support/server.ts';

interface Tour {
  readonly name: string;
  readonly script: string;
}

/** The marked ```sh blocks of the README, in order. */
export function readmeTours(readme: string): Tour[] {
  const tours: Tour[] = [];
  for (const match of readme.matchAll(/<!-- readme-tour: ([a-z-]+)[^>]*-->\n```sh\n([\s\S]*?)\n```/g))
    tours.push({ name: match[1]!, script: match[2]! });
  return tours;
}

interface Exchange {
  readonly tour: string;
  readonly method: string;
  readonly url: URL;
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

type Operation = {
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
type OpenApi = { paths: Record<string, Record<string, Operation>> };

let server: TestServer;
let folder: string;
let documentUri: string;
let document: OpenApi;

before(async () => {
  folder = mkdtempSync(path.join(os.tmpdir(), 'payflow-readme-'));
  mkdirSync(path.join(folder, '.payflow'));
  server = await startTestServer({
    env: {
      // The first start on a fresh database creates the demo merchant, as `npm start` does.
      DEMO_MERCHANT: 'true',
      // `npm start` allows loopback webhook URLs (package.json), for the webhooks tour's receiver.
      WEBHOOK_ALLOW_PRIVATE: 'true',
      PAYFLOW_DATA_DIR: path.join(folder, '.payflow'),
    },
  });
  const source = await (await fetch(`${server.baseUrl}/openapi.json`)).text();
  document = JSON.parse(source) as OpenApi;
  // A file name ending in openapi.json is read as an OpenAPI document by the validator.
  const file = path.join(folder, 'payflow.openapi.json');
  writeFileSync(file, source);
  documentUri = `file://${file}`;
});
after(async () => {
  await server?.close();
  // The folder holds the demo merchant's credentials file and the recorded exchanges.
  rmSync(folder, { recursive: true, force: true });
});

const prelude = [
  'curl() {',
  '  local id="$' + '{EPOCHREALTIME/./}-$BASHPID"',
  '  printf "%s\\n" "$TOUR" > "$TOUR_LOG/$id.tour"',
  '  command curl "$@" -D "$TOUR_LOG/$id.head" -o "$TOUR_LOG/$id.body" \\',
  '    -w \'%{http_code} %{method} %{url_effective}\' > "$TOUR_LOG/$id.meta"',
  '  local code=$?',
  '  cat "$TOUR_LOG/$id.body" 2>/dev/null',
  '  return $code',
  '}',
  'npx() { if [ "$1" = payflow ]; then shift; node "$REPOSITORY/bin/payflow.js" "$@"; else command npx "$@"; fi; }',
  'open() { echo "(would open $1)"; }',
].join('\n');

function runTours(
  tours: readonly Tour[],
  log: string,
  receiverPort: number,
): Promise<{ code: number | null; output: string }> {
  const origin = new URL(server.baseUrl);
  const script = [
    prelude,
    ...tours.map(
      (tour) =>
        `TOUR=${tour.name}\n${tour.script
          .replaceAll('localhost:8080', origin.host)
          // The webhooks tour's receiver: a free port rather than 4242.
          .replaceAll('127.0.0.1:4242', `127.0.0.1:${receiverPort}`)
          .replaceAll('--port 4242', `--port ${receiverPort}`)}\necho "== end of ${tour.name}"`,
    ),
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd: folder,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? folder,
        API: server.baseUrl,
        TOUR_LOG: log,
        REPOSITORY: repositoryRoot,
        // `npx payflow …` in the tours works on this PayFlow's database, as on the user's.
        DATABASE_URL: server.database.url,
        DATABASE_POOL_MAX: testPoolMax,
        PAYFLOW_SECRETS_KEY: testSecretsKey,
        PAYFLOW_DATA_DIR: path.join(folder, '.payflow'),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function exchangesIn(log: string): Exchange[] {
  const ids = readdirSync(log)
    .filter((name) => name.endsWith('.meta'))
    .map((name) => name.slice(0, -'.meta'.length))
    .sort();
  return ids.map((id) => {
    const [status, method, url] = readFileSync(path.join(log, `${id}.meta`), 'utf8').split(' ');
    const head = readFileSync(path.join(log, `${id}.head`), 'utf8');
    let body = readFileSync(path.join(log, `${id}.body`), 'utf8');
    // `curl -i` writes the headers into the output too.
    if (body.startsWith(head)) body = body.slice(head.length);
    const contentType =
      /^content-type: *(.*?)\r?$/im.exec(head.split(/\r?\n\r?\n/).at(-2) ?? head)?.[1] ?? '';
    return {
      tour: readFileSync(path.join(log, `${id}.tour`), 'utf8').trim(),
      method: method!,
      url: new URL(url!),
      status: Number(status),
      contentType,
      body,
    };
  });
}

/** The document's path template for a concrete path, preferring literal segments. */
function templateOf(pathname: string): string | undefined {
  const segments = pathname.split('/');
  const candidates = Object.keys(document.paths).filter((template) => {
    const parts = template.split('/');
    return (
      parts.length === segments.length &&
      parts.every((part, index) => part === segments[index] || /^\{[^}]+\}$/.test(part))
    );
  });
  const literals = (template: string) => template.split('/').filter((part) => !part.startsWith('{')).length;
  return candidates.sort((a, b) => literals(b) - literals(a))[0];
}

const pointer = (...tokens: string[]) =>
  tokens.map((token) => `/${encodeURIComponent(token.replaceAll('~', '~0').replaceAll('/', '~1'))}`).join('');

async function problemsWith(exchange: Exchange): Promise<string[]> {
  const where = `${exchange.tour}: ${exchange.method} ${exchange.url.pathname} → ${exchange.status}`;
  // Only PayFlow's answers are checked against its document (not, say, a local receiver's).
  if (exchange.url.host !== new URL(server.baseUrl).host) return [];
  const template = templateOf(exchange.url.pathname);
  // The document itself and its browsable rendering are not operations of the API.
  if (exchange.url.pathname === '/openapi.json' || exchange.url.pathname.startsWith('/docs')) return [];
  if (template === undefined) {
    // Not in the document: only PayFlow's 404 for an unknown route is allowed.
    return exchange.status === 404 && exchange.body.includes('"route_not_found"')
      ? []
      : [`${where}: the document has no path for it`];
  }
  const method = exchange.method.toLowerCase();
  const operation = document.paths[template]![method];
  if (operation === undefined) return [`${where}: the document has no ${method} on ${template}`];
  const status = String(exchange.status);
  const key = [status, `${status[0]}XX`, 'default'].find((candidate) => operation.responses[candidate]);
  if (key === undefined)
    return [`${where}: ${template} documents ${Object.keys(operation.responses).join(', ')}, not ${status}`];
  const content = operation.responses[key]!.content;
  const mediaType = exchange.contentType.split(';')[0]!.trim().toLowerCase();
  if (content === undefined) return exchange.body === '' ? [] : [`${where}: documented without a body`];
  const documented = Object.keys(content).find((type) => type.toLowerCase() === mediaType);
  if (documented === undefined)
    return [
      `${where}: answered ${mediaType || 'no content type'}; documented ${Object.keys(content).join(', ')}`,
    ];
  if (!mediaType.endsWith('json') || content[documented]!.schema === undefined) return [];
  let body: unknown;
  try {
    body = JSON.parse(exchange.body);
  } catch {
    return [`${where}: the body is not JSON: ${exchange.body.slice(0, 200)}`];
  }
  const schema = `${documentUri}#${pointer('paths', template, method, 'responses', key, 'content', documented, 'schema')}`;
  const output = await validate(schema, body as never, 'BASIC');
  if (output.valid) return [];
  const errors = (output.errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instanceLocation} ${error.absoluteKeywordLocation.split('#')[1] ?? ''}`);
  return [
    `${where}: the body does not match ${template} ${key}: ${errors.join('; ')}; body ${exchange.body.slice(0, 300)}`,
  ];
}

test(
  "the README's tours run against a real PayFlow, and every answer matches /openapi.json",
  { timeout: 240_000 },
  async () => {
    const tours = readmeTours(readFileSync(path.join(repositoryRoot, 'README.md'), 'utf8'));
    assert.deepEqual(
      tours.map((tour) => tour.name),
      [
        'five-minute',
        'identity',
        'publishable',
        'metrics',
        'idempotency',
        'webhooks',
        'vault',
        'payments',
        'settlement',
        'reconciliation',
        'fraud',
        'checkout',
      ],
    );
    const log = mkdtempSync(path.join(folder, 'exchanges-'));
    const { code, output } = await runTours(tours, log, await freePort('127.0.0.1'));
    assert.equal(code, 0, output);
    assert.doesNotMatch(output, /command not found|No such file|Unexpected token|SyntaxError/, output);
    for (const tour of tours)
      assert.ok(output.includes(`== end of ${tour.name}`), `${tour.name} ran to its end`);
    const exchanges = exchangesIn(log);
    for (const tour of tours)
      assert.ok(
        exchanges.some((exchange) => exchange.tour === tour.name),
        `${tour.name} made at least one HTTP call`,
      );
    assert.ok(exchanges.length >= 40, `${exchanges.length} exchanges`);
    const problems = (await Promise.all(exchanges.map(problemsWith))).flat();
    assert.deepEqual(problems, [], problems.join('\n'));
    // What the tours say happens, happens: a payment captured and refunded, a replay, a block.
    const statuses = (tour: string, pathname: RegExp) =>
      exchanges
        .filter((exchange) => exchange.tour === tour && pathname.test(exchange.url.pathname))
        .map((exchange) => exchange.status);
    assert.deepEqual(statuses('payments', /^\/v1\/payments\/authorize$/), [201]);
    assert.deepEqual(statuses('payments', /\/capture$/), [200]);
    assert.deepEqual(statuses('payments', /\/refund$/), [200]);
    assert.deepEqual(statuses('idempotency', /^\/v1\/tokens$/), [201, 201]);
    assert.match(output, /idempotent-replayed: true/i);
    assert.ok(statuses('fraud', /^\/v1\/payments\/authorize$/).includes(422));
    assert.deepEqual(statuses('checkout', /^\/v1\/checkout\/sessions$/), [201]);
    // The webhooks tour: an endpoint on the local receiver, one event received and verified there,
    // its delivery seen from PayFlow, the endpoint removed.
    assert.deepEqual(statuses('webhooks', /^\/v1\/webhooks\/endpoints$/), [201]);
    assert.match(output, /payment\.captured\.v1 msg_\S+ \(signature verified\)/);
    assert.match(output, /"status":"succeeded"/);
    assert.deepEqual(statuses('webhooks', /^\/v1\/webhooks\/endpoints\/we_[^/]+$/), [204]);
  },
);

test('the validator refuses an answer the document does not allow', async () => {
  const exchange: Exchange = {
    tour: 'self-check',
    method: 'GET',
    url: new URL(`${server.baseUrl}/healthz`),
    status: 200,
    contentType: 'application/json',
    body: '{"status":1}',
  };
  const template = templateOf('/healthz');
  assert.equal(template, '/healthz');
  const good = await problemsWith({
    ...exchange,
    body: await (await fetch(`${server.baseUrl}/healthz`)).text(),
  });
  assert.deepEqual(good, []);
  assert.equal((await problemsWith(exchange)).length, 1);
  assert.equal((await problemsWith({ ...exchange, status: 418 })).length, 1);
  assert.equal((await problemsWith({ ...exchange, contentType: 'text/html' })).length, 1);
  assert.equal(
    (await problemsWith({ ...exchange, url: new URL(`${server.baseUrl}/nope/x`), status: 200 })).length,
    1,
  );
});

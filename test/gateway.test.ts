// The HTTP edge: security headers, CORS allow-list, rate limits (per IP, per client, recovery),
// metrics behind admin/service tokens, HTTPS with a generated certificate, and one Redis bucket
// shared by two PayFlow processes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli, spawnServer, startTestServer, temporaryDataDir, type TestServer } from './support/server.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import {
  adminToken,
  createMerchantCredentials,
  fetchToken,
  merchantSession,
  serviceToken,
} from './support/identity.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function server(env: Record<string, string> = {}): Promise<TestServer> {
  const started = await startTestServer({ env });
  cleanups.push(() => started.close());
  return started;
}

function tokenForm(clientId: string, clientSecret: string): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    }),
  };
}

/** Sends requests until the first 429 (at most `attempts`); returns the answers up to and with it. */
async function untilRefused(send: () => Promise<Response>, attempts = 200): Promise<Response[]> {
  const answers: Response[] = [];
  for (let index = 0; index < attempts; index += 1) {
    const response = await send();
    answers.push(response);
    if (response.status === 429) return answers;
    await response.arrayBuffer();
  }
  assert.fail(`no 429 after ${attempts} requests`);
}

async function sleep(milliseconds: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, milliseconds));
}

test('security headers on API answers; a CSP that keeps /docs working; no HSTS over plain HTTP', async () => {
  const running = await server();
  const health = await fetch(`${running.baseUrl}/healthz`);
  assert.equal(health.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(health.headers.get('x-frame-options'), 'SAMEORIGIN');
  assert.equal(health.headers.get('strict-transport-security'), null);
  const docs = await fetch(`${running.baseUrl}/docs/`);
  assert.equal(docs.status, 200);
  const csp = docs.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /style-src 'self' 'unsafe-inline'/);
  assert.match(csp, /img-src 'self' data:/);
  assert.doesNotMatch(csp, /upgrade-insecure-requests/);
  // Every script the page loads is same-origin and served.
  const html = await docs.text();
  const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((match) => match[1]!);
  assert.ok(scripts.length > 0);
  for (const script of scripts) {
    assert.doesNotMatch(script, /^https?:/);
    const loaded = await fetch(new URL(script, `${running.baseUrl}/docs/`));
    assert.equal(loaded.status, 200, script);
    await loaded.arrayBuffer();
  }
  assert.doesNotMatch(html, /<script>(?!\s*<\/script>)/, 'no inline script');
});

test('CORS answers only the allow-listed origin', async () => {
  const running = await server({ CORS_ORIGINS: 'https://shop.example,http://localhost:5173' });
  const preflight = (origin: string) =>
    fetch(`${running.baseUrl}/v1/identity/whoami`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
  const allowed = await preflight('https://shop.example');
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://shop.example');
  assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization/);
  const other = await preflight('https://evil.example');
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  const simple = await fetch(`${running.baseUrl}/healthz`, { headers: { origin: 'http://localhost:5173' } });
  assert.equal(simple.headers.get('access-control-allow-origin'), 'http://localhost:5173');
});

test('the token endpoint is limited per IP: 429 problem with Retry-After, then recovery', async () => {
  const running = await server({
    RATE_LIMITS: 'merchant=1000,publishable=1000,admin=1000,service=1000,anonymous=3',
    RATE_LIMIT_WINDOW_SECONDS: '3',
  });
  const merchant = await createMerchantCredentials(running.database.sql);
  const answers = await untilRefused(() =>
    fetch(`${running.baseUrl}/oauth/token`, tokenForm(merchant.clientId, merchant.clientSecret)),
  );
  assert.ok(answers.length >= 4, 'the first three requests fit the bucket');
  assert.equal(answers[0]!.status, 200);
  assert.equal(answers[0]!.headers.get('ratelimit-limit'), '3');
  assert.equal(answers[0]!.headers.get('ratelimit-remaining'), '2');
  const refused = answers.at(-1)!;
  assert.equal(refused.status, 429);
  assert.match(refused.headers.get('content-type') ?? '', /application\/problem\+json/);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 3, `Retry-After ${retryAfter}`);
  assert.equal(refused.headers.get('ratelimit-remaining'), '0');
  assert.ok(Number(refused.headers.get('ratelimit-reset')) >= 1);
  const problem = (await refused.json()) as { code: string; status: number };
  assert.equal(problem.code, 'rate_limited');
  assert.equal(problem.status, 429);
  // Unauthenticated API calls draw from the per-IP bucket too.
  const anonymous = await untilRefused(() => fetch(`${running.baseUrl}/v1/identity/whoami`));
  assert.equal(((await anonymous.at(-1)!.json()) as { code: string }).code, 'rate_limited');
  // Health probes are never limited.
  assert.equal((await fetch(`${running.baseUrl}/healthz`)).status, 200);
  const lastRetryAfter = Number(anonymous.at(-1)!.headers.get('retry-after'));
  await sleep(lastRetryAfter * 1000);
  const recovered = await fetch(
    `${running.baseUrl}/oauth/token`,
    tokenForm(merchant.clientId, merchant.clientSecret),
  );
  assert.equal(recovered.status, 200);
});

test('authenticated calls are limited per client: one busy client does not starve another', async () => {
  const running = await server({
    RATE_LIMITS: 'merchant=3,publishable=1000,admin=1000,service=1000,anonymous=1000',
    RATE_LIMIT_WINDOW_SECONDS: '600',
  });
  const busy = await merchantSession(running);
  const quiet = await merchantSession(running);
  const answers = await untilRefused(() =>
    fetch(`${running.baseUrl}/v1/identity/whoami`, { headers: busy.headers() }),
  );
  assert.equal(answers.length, 4);
  assert.equal(answers.at(-1)!.headers.get('ratelimit-limit'), '3');
  const other = await fetch(`${running.baseUrl}/v1/identity/whoami`, { headers: quiet.headers() });
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('ratelimit-remaining'), '2');
  // A second token of the busy client draws from the same bucket.
  const again = await fetchToken(running.baseUrl, busy.clientId, busy.clientSecret);
  const refused = await fetch(`${running.baseUrl}/v1/identity/whoami`, {
    headers: { authorization: `Bearer ${again}` },
  });
  assert.equal(refused.status, 429);
});

test('metrics: Prometheus text for admin and service tokens only', async () => {
  const running = await server();
  const session = await merchantSession(running);
  await fetch(`${running.baseUrl}/v1/identity/whoami`, { headers: session.headers() });
  assert.equal((await fetch(`${running.baseUrl}/metrics`)).status, 401);
  const merchantCall = await fetch(`${running.baseUrl}/metrics`, { headers: session.headers() });
  assert.equal(merchantCall.status, 403);
  for (const token of [await adminToken(running), await serviceToken(running)]) {
    const response = await fetch(`${running.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(
      text,
      /payflow_http_requests_total\{method="GET",route="\/v1\/identity\/whoami",status_code="200"\} 1/,
    );
    assert.match(
      text,
      /payflow_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/v1\/identity\/whoami"/,
    );
    assert.match(text, /payflow_process_resident_memory_bytes|payflow_nodejs_heap_size_total_bytes/);
    assert.doesNotMatch(text, new RegExp(session.merchantId), 'no ids in labels');
  }
});

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function httpsGet(
  url: string,
  ca: Buffer,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      })
      .on('error', reject);
  });
}

test('with TLS_CERT_FILE and TLS_KEY_FILE PayFlow serves HTTPS with HSTS', async (t) => {
  if (!opensslAvailable()) {
    t.skip('openssl is not installed: cannot generate a test certificate');
    return;
  }
  const directory = mkdtempSync(path.join(os.tmpdir(), 'payflow-tls-'));
  const cert = path.join(directory, 'cert.pem');
  const key = path.join(directory, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const running = await server({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
  assert.match(running.baseUrl, /^https:\/\//);
  const ca = readFileSync(cert);
  const health = await httpsGet(`${running.baseUrl}/healthz`, ca);
  assert.equal(health.status, 200);
  assert.match(String(health.headers['strict-transport-security']), /max-age=31536000/);
  await assert.rejects(httpsGet(`${running.baseUrl}/healthz`, Buffer.from('')), 'an unknown CA is refused');
  await assert.rejects(
    fetch(running.baseUrl.replace('https:', 'http:') + '/healthz'),
    'no plain HTTP on the port',
  );
});

test('two PayFlow processes share one Redis bucket', async (t) => {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    t.skip('REDIS_URL is unset: the shared-bucket test needs a real Redis');
    return;
  }
  const database: TestDatabase = await createTestDatabase();
  cleanups.push(() => database.drop());
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    RATE_LIMIT_REDIS_PREFIX: `payflow-test:${randomBytes(6).toString('hex')}:`,
    RATE_LIMITS: 'merchant=6,publishable=1000,admin=1000,service=1000,anonymous=1000',
    RATE_LIMIT_WINDOW_SECONDS: '600',
    SIMULATOR_PORT: '0', // two processes on one machine: no fixed port for the built-in acquirer
    VAULT_MASTER_KEY: randomBytes(32).toString('hex'), // one keyring for both processes
  };
  const first = await spawnServer(env);
  cleanups.push(() => first.stop());
  const second = await spawnServer(env);
  cleanups.push(() => second.stop());
  const merchant = await createMerchantCredentials(database.sql);
  const token = await fetchToken(first.baseUrl, merchant.clientId, merchant.clientSecret);
  const statuses: number[] = [];
  const remaining: (string | null)[] = [];
  for (let index = 0; index < 8; index += 1) {
    const target = index % 2 === 0 ? first : second;
    const response = await fetch(`${target.baseUrl}/v1/identity/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    statuses.push(response.status);
    remaining.push(response.headers.get('ratelimit-remaining'));
    await response.arrayBuffer();
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
  assert.deepEqual(remaining.slice(0, 6), ['5', '4', '3', '2', '1', '0']);
});

test('TLS and Redis misconfiguration stop the start with one line', async () => {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const base = {
    DATABASE_URL: database.url,
    PORT: '0',
    SIMULATOR_PORT: '0',
    PAYFLOW_DATA_DIR: temporaryDataDir(),
  };
  const halfTls = await runCli(['start'], { ...base, TLS_CERT_FILE: '/nonexistent/cert.pem' });
  assert.equal(halfTls.code, 1);
  assert.equal(halfTls.stderr.trim().split('\n').length, 1, halfTls.stderr);
  assert.match(halfTls.stderr, /TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
  const missingFile = await runCli(['start'], {
    ...base,
    TLS_CERT_FILE: '/nonexistent/cert.pem',
    TLS_KEY_FILE: '/nonexistent/key.pem',
  });
  assert.equal(missingFile.code, 1);
  assert.match(missingFile.stderr, /cannot read TLS_CERT_FILE/);
  const noRedis = await runCli(['start'], { ...base, REDIS_URL: 'redis://127.0.0.1:1' });
  assert.equal(noRedis.code, 1);
  assert.equal(noRedis.stderr.trim().split('\n').length, 1, noRedis.stderr);
  assert.match(noRedis.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
});

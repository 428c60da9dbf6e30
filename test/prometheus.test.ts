// Metrics as an operator's Prometheus sees them: a real Prometheus server (Debian's `prometheus`,
// which .ci/run installs) scrapes a running PayFlow's /metrics with a service token, and its own
// query API answers the questions the shipped alert rules and Grafana dashboard ask: request rate,
// latency histograms, outbox lag, consumer lag, dead letters, webhook failures, job progress. The
// rules pass `promtool check rules` (and a broken rule does not), and every metric the rules and the
// dashboard name is one Prometheus actually scraped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/platform/ports.ts';
import { repositoryRoot, startTestServer } from './support/server.ts';
import { merchantSession, serviceToken } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';

const rulesFile = path.join(repositoryRoot, 'ops/prometheus/alerts.yml');
const dashboardFile = path.join(repositoryRoot, 'ops/grafana/payflow-dashboard.json');

function installed(binary: string): boolean {
  const found = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return !found.error && found.status === 0;
}

const prometheusMissing = installed('prometheus')
  ? false
  : 'no `prometheus` on PATH (apt-get install prometheus; .ci/run does): the scrape test runs a real one';
const promtoolMissing = installed('promtool')
  ? false
  : 'no `promtool` on PATH (Debian package prometheus): the rules check needs it';

/** PromQL expressions of the dashboard's panels and of the alert rules. */
function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as {
    panels: { targets?: { expr?: string }[] }[];
  };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ''));
}

function ruleExpressions(): string[] {
  // Each `expr:` is either on its line or a `|` block indented below it.
  const lines = readFileSync(rulesFile, 'utf8').split('\n');
  const expressions: string[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const match = /^(\s*)expr:\s*(.*)$/.exec(lines[index]!);
    if (!match) continue;
    if (match[2] !== '|') {
      expressions.push(match[2]!);
      continue;
    }
    const block: string[] = [];
    while (index + 1 < lines.length && /^\s{10,}\S/.test(lines[index + 1]!))
      block.push(lines[++index]!.trim());
    expressions.push(block.join(' '));
  }
  return expressions;
}

/** The PayFlow metric names an expression uses (histogram series mapped to their family's series). */
function metricNames(expression: string): string[] {
  return [...expression.matchAll(/\bpayflow_[a-z0-9_]+/g)].map((match) => match[0]);
}

test('the alert rules pass promtool check rules; a broken rule fails it', { skip: promtoolMissing }, () => {
  const checked = spawnSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
  assert.equal(checked.status, 0, checked.stdout + checked.stderr);
  assert.match(checked.stdout, /SUCCESS: [1-9]\d* rules found/);
  const directory = mkdtempSync(path.join(os.tmpdir(), 'payflow-rules-'));
  try {
    const broken = path.join(directory, 'broken.yml');
    writeFileSync(broken, readFileSync(rulesFile, 'utf8').replace('> 60', '> > 60'));
    const failed = spawnSync('promtool', ['check', 'rules', broken], { encoding: 'utf8' });
    assert.notEqual(failed.status, 0, 'promtool accepted a rule with a syntax error');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  // The rules' unit tests (series in, alerts expected out), e.g. the fraud velocity alert.
  const unit = spawnSync(
    'promtool',
    ['test', 'rules', path.join(path.dirname(rulesFile), 'alerts.test.yml')],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(unit.status, 0, unit.stdout + unit.stderr);
  assert.match(unit.stdout, /SUCCESS/);
});

test(
  'a real Prometheus scrapes /metrics and answers the dashboard’s and alerts’ questions; they name only scraped metrics',
  { skip: prometheusMissing, timeout: 180_000 },
  async (t) => {
    const acquirer = await startTestAcquirer();
    t.after(() => acquirer.close());
    const server = await startTestServer({
      env: paymentsEnv(acquirer.url, {
        EVENTS_POLL_INTERVAL_MS: '100',
        WEBHOOK_POLL_INTERVAL_MS: '100',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_RETRY_SCHEDULE: '100ms',
      }),
    });
    t.after(() => server.close());
    const directory = mkdtempSync(path.join(os.tmpdir(), 'payflow-prometheus-'));
    t.after(() => rmSync(directory, { recursive: true, force: true }));
    // A merchant first: the pool's first query fetches the array types the client insert needs.
    const merchant = await merchantSession(server);
    const tokenFile = path.join(directory, 'token');
    writeFileSync(tokenFile, await serviceToken(server));
    const target = new URL(server.baseUrl);
    writeFileSync(
      path.join(directory, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${rulesFile}`,
        'scrape_configs:',
        '  - job_name: payflow',
        '    metrics_path: /metrics',
        '    authorization:',
        '      type: Bearer',
        `      credentials_file: ${tokenFile}`,
        '    static_configs:',
        `      - targets: ['${target.host}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const prometheus: ChildProcess = spawn(
      'prometheus',
      [
        `--config.file=${path.join(directory, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(directory, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    t.after(async () => {
      if (prometheus.exitCode !== null) return;
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    });
    const prometheusUrl = `http://127.0.0.1:${port}`;

    // Traffic: a payment (requests, SQL, an event through the outbox) and a webhook endpoint that
    // always fails (a failed delivery after its one retry).
    const endpoint = await call(server.baseUrl, merchant, 'POST', '/webhooks/endpoints', {
      url: `http://127.0.0.1:${await freePort()}/nobody-listens`,
      eventTypes: ['payment.authorized.v1'],
    });
    assert.equal(endpoint.status, 201, endpoint.text);
    const token = await tokenize(server.baseUrl, merchant);
    const authorized = await call(
      server.baseUrl,
      merchant,
      'POST',
      '/payments/authorize',
      authorizeBody(token),
    );
    assert.equal(authorized.status, 201, authorized.text);

    async function query(
      expression: string,
    ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
      const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expression)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      assert.equal(body.status, 'success', `${expression}: ${body.error}`);
      return body.data!.result;
    }

    async function eventually(expression: string, holds: (values: number[]) => boolean, what: string) {
      const deadline = Date.now() + 60_000;
      let last: number[] = [];
      for (;;) {
        const ready = await fetch(`${prometheusUrl}/-/ready`).then(
          (response) => response.ok,
          () => false,
        );
        if (ready) {
          last = (await query(expression)).map((sample) => Number(sample.value[1]));
          if (holds(last)) return last;
        }
        assert.ok(Date.now() < deadline, `${what}: ${expression} gave [${last.join(', ')}]`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }

    await eventually('up{job="payflow"}', (values) => values[0] === 1, 'the target is up');
    await eventually(
      'sum(rate(payflow_http_requests_total[1m]))',
      (values) => values[0]! > 0,
      'request rate',
    );
    await eventually(
      'histogram_quantile(0.99, sum by (le) (rate(payflow_http_request_duration_seconds_bucket[1m])))',
      (values) => values.length === 1 && Number.isFinite(values[0]) && values[0]! > 0,
      'p99 latency from the histogram',
    );
    await eventually('payflow_events_outbox_lag_seconds', (values) => values.length === 1, 'outbox lag');
    await eventually('payflow_events_outbox_unpublished', (values) => values.length === 1, 'outbox size');
    await eventually(
      'payflow_events_consumer_lag{group="webhooks"}',
      (values) => values.length === 1 && values[0] === 0,
      'the webhooks group caught up',
    );
    await eventually('payflow_events_dead_letters', (values) => values[0] === 0, 'no dead letters');
    await eventually(
      'payflow_webhooks_deliveries_failed',
      (values) => values[0] === 1,
      'the delivery to an endpoint nobody listens on failed for good',
    );
    await eventually(
      'sum(payflow_job_runs_total{outcome="ok"})',
      (values) => values[0]! > 0,
      'job progress counted',
    );
    await eventually(
      'time() - max(payflow_job_last_success_timestamp_seconds{job_name="events-relay"})',
      (values) => values.length === 1 && values[0]! < 60,
      'the relay ran recently',
    );

    // The rules loaded and evaluate without error; the failed webhook is pending or firing.
    const rules = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const loaded = rules.data.groups.flatMap((group) => group.rules);
    assert.ok(loaded.length >= 8, `rules loaded: ${loaded.map((rule) => rule.name).join(', ')}`);
    for (const rule of loaded) assert.notEqual(rule.health, 'err', `${rule.name}: ${rule.lastError}`);
    await eventually('ALERTS{alertname="PayflowWebhooksFailing"}', (values) => values.length === 1, 'alert');

    // Every metric the dashboard and the rules name is one Prometheus scraped from PayFlow.
    const scraped = new Set(
      ((await (await fetch(`${prometheusUrl}/api/v1/label/__name__/values`)).json()) as { data: string[] })
        .data,
    );
    const named = [...dashboardExpressions(), ...ruleExpressions()].flatMap(metricNames);
    assert.ok(named.length >= 15, `too few metric names found: ${named.join(', ')}`);
    const missing = [...new Set(named)].filter((name) => !scraped.has(name));
    assert.deepEqual(missing, [], 'the dashboard or the rules name metrics that PayFlow does not serve');
    // …and every label a selector matches on exists on that metric's series.
    for (const expression of [...dashboardExpressions(), ...ruleExpressions()]) {
      for (const [, name, matchers] of expression.matchAll(/\b(payflow_[a-z0-9_]+)\{([^}]*)\}/g)) {
        const response = await fetch(`${prometheusUrl}/api/v1/series?match[]=${encodeURIComponent(name!)}`);
        const series = ((await response.json()) as { data: Record<string, string>[] }).data;
        const labels = new Set(series.flatMap((labelSet) => Object.keys(labelSet)));
        for (const [, label] of matchers!.matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)) {
          assert.ok(labels.has(label!), `${name} has no label ${label} (it has ${[...labels].join(', ')})`);
        }
      }
    }
    // Every dashboard query is valid PromQL and returns data.
    for (const expression of dashboardExpressions()) {
      assert.ok((await query(expression)).length > 0, `no data for the dashboard query ${expression}`);
    }
  },
);

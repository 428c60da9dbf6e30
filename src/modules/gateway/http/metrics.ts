// Prometheus metrics: request count and latency by method, route template and status, plus the
// process metrics of prom-client, in the process's registry where other modules add their gauges.
// GET /metrics needs a token with `metrics:read` (admin, service).
import { Counter, Histogram, collectDefaultMetrics } from 'prom-client';
import type { HttpApp } from '../../../platform/http/app.ts';
import { routeTemplateOf } from '../../../platform/http/api-paths.ts';
import type { MetricsRegistry } from '../../../platform/metrics.ts';
import { requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';

const latencyBucketsSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function registerMetrics(
  app: HttpApp,
  authenticator: RequestAuthenticator,
  registry: MetricsRegistry,
): void {
  collectDefaultMetrics({ register: registry, prefix: 'payflow_' });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({
    name: 'payflow_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'payflow_http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method, route template and status.',
    labelNames,
    buckets: latencyBucketsSeconds,
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The template (/v1/payments/:id), never the raw URL: ids would explode the label space.
    const labels = {
      method: request.method,
      route: routeTemplateOf(request) ?? 'unmatched',
      status_code: String(reply.statusCode),
    };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (admin or service token)',
        security: [{ bearer: [] }],
        documentedResponses: {
          200: {
            description: 'The Prometheus text exposition format.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          401: {
            description: '`authentication_required`, `invalid_token`.',
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
          403: {
            description: '`insufficient_scope`.',
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        },
      },
      preHandler: requireScopes(authenticator, 'metrics:read'),
    },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
}

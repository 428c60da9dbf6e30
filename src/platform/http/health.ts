// Liveness and readiness. `/healthz` answers while the process runs; `/readyz` only while the database
// answers and every migration is applied, so a load balancer sends no traffic to a half-started node.
import { Type } from 'typebox';
import type { HttpApp } from './app.ts';
import { problem } from '../errors.ts';
import { sendProblem } from './problem-handler.ts';

export interface ReadinessCheck {
  /** Resolves to undefined when ready, or to a short reason when not. */
  (): Promise<string | undefined>;
}

/** A readiness probe answers within this bound even while connections to the database hang. */
const readinessTimeoutMs = 1_000;

function bounded(check: ReadinessCheck): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('database did not answer in time'), readinessTimeoutMs);
  });
  return Promise.race([check().catch(() => 'database unreachable'), timeout]).finally(() =>
    clearTimeout(timer),
  );
}

const healthResponse = Type.Object({ status: Type.Literal('ok') });

export function registerHealthRoutes(app: HttpApp, readiness: ReadinessCheck): void {
  app.get(
    '/healthz',
    {
      schema: { tags: ['health'], summary: 'Liveness', response: { 200: healthResponse } },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: database reachable, migrations applied',
        documentedResponses: {
          200: {
            description: 'Ready.',
            content: { 'application/json': { schema: healthResponse } },
          },
          503: {
            description: '`not_ready`: the database does not answer or migrations are not applied.',
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        },
      },
      logLevel: 'warn',
    },
    async (request, reply) => {
      const reason = await bounded(readiness);
      if (reason !== undefined) {
        return sendProblem(reply, { ...problem(503, 'not_ready', reason), requestId: request.id });
      }
      return { status: 'ok' as const };
    },
  );
}

// Operator routes for the dead-letter queue (ADR 32): the same listing and replay as
// `payflow events dlq list|replay`, for an admin token or an operator's dashboard session. Listing
// needs admin:read, replaying admin:events; a merchant's token or session gets 403.
import { Type } from 'typebox';
import { DomainError } from '../../../platform/errors.ts';
import type { Sql } from '../../../platform/db/client.ts';
import type { HttpApp } from '../../../platform/http/app.ts';
import { requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { listDeadLetters, replayDeadLetters } from '../infra/dead-letters.ts';

const DeadLetterBody = Type.Object({
  id: Type.String(),
  topic: Type.String(),
  consumerGroup: Type.String(),
  position: Type.String({ description: 'The event’s position in the log (a decimal string).' }),
  eventId: Type.String(),
  type: Type.String(),
  aggregateId: Type.String(),
  error: Type.String({ description: 'The consumer’s last error.' }),
  attempts: Type.Integer(),
  deadAt: Type.String(),
});

export function registerEventRoutes(app: HttpApp, sql: Sql, authenticator: RequestAuthenticator): void {
  const tags = ['events'];
  const security = [{ bearer: [] }];
  app.get(
    '/v1/admin/events/dead-letters',
    {
      schema: {
        tags,
        summary: 'Dead-lettered events not yet replayed, oldest first, at most 1000 (admin)',
        security,
        response: { 200: Type.Object({ data: Type.Array(DeadLetterBody) }) },
      },
      preHandler: requireScopes(authenticator, 'admin:read'),
    },
    async () => ({
      data: (await listDeadLetters(sql)).map((letter) => ({
        ...letter,
        position: letter.position.toString(),
        deadAt: letter.deadAt.toISOString(),
      })),
    }),
  );
  app.post(
    '/v1/admin/events/dead-letters/:id/replay',
    {
      schema: {
        tags,
        summary:
          "Send a dead-lettered event back to its consumer group (admin); the group's inbox keeps one effect",
        security,
        params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
        response: { 200: Type.Object({ id: Type.String(), replayed: Type.Literal(true) }) },
      },
      preHandler: requireScopes(authenticator, 'admin:events'),
    },
    async (request) => {
      const [replayed] = await replayDeadLetters(sql, [request.params.id]);
      if (!replayed)
        throw new DomainError(
          'dead_letter_not_found',
          404,
          'No dead-lettered event waiting for replay has this id.',
        );
      return { id: replayed, replayed: true as const };
    },
  );
}

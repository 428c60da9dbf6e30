// Fraud over HTTP (ADR 21). Merchants read their rules, lists, settings and review queue with
// payments:read and change them with payments:write; only their own (the merchant comes from the
// token). Operators (admin:read) see every merchant's review queue.
import { Type } from 'typebox';
import { documented } from './documented.ts';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { DomainError } from '../../../platform/errors.ts';
import { findRule, listRules } from '../infra/fraud-repository.ts';
import {
  addToList,
  backtestRule,
  changeRule,
  createRule,
  fraudSettings,
  listView,
  removeFromList,
  removeRule,
  ruleView,
  setVelocityFailMode,
} from '../application/manage-rules.ts';
import type { FraudDependencies } from '../application/screen-payment.ts';

/** What the review endpoints need from payments (its face), resolved when a request arrives. */
export interface ReviewActions {
  listInReview(merchantId: string | undefined, limit: number): Promise<readonly Record<string, unknown>[]>;
  approveReview(merchantId: string, paymentId: string): Promise<Record<string, unknown>>;
  rejectReview(merchantId: string, paymentId: string): Promise<Record<string, unknown>>;
}

const tags = ['fraud'];
// No control characters (NUL included) in anything stored as text.
const printable = '^[^\\u0000-\\u001f\\u007f]*$';
const RuleText = Type.String({
  pattern: printable,
  minLength: 1,
  maxLength: 2000,
  description: 'e.g. block if :amount_in_usd: > 5000 and :card_country: != :ip_country:',
});
const IdParams = Type.Object({ id: Type.String({ pattern: '^rule_[0-9a-z]{26}$' }) });
const PaymentParams = Type.Object({ paymentId: Type.String({ minLength: 1, maxLength: 64 }) });
const ListParams = Type.Object({ name: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }) });
const ListValueParams = Type.Object({
  name: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  value: Type.String({ minLength: 1, maxLength: 320 }),
});
const LimitQuery = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1 to 100, default 50.' })),
});

function limitOf(text: string | undefined): number {
  const value = Number(text ?? 50);
  if (value < 1 || value > 100) throw new DomainError('invalid_limit', 400, 'limit must be 1 to 100.');
  return value;
}

export function registerFraudRoutes(
  app: HttpApp,
  dependencies: FraudDependencies & {
    readonly authenticator: RequestAuthenticator;
    readonly reviews: () => ReviewActions | undefined;
  },
): void {
  const { authenticator, sql } = dependencies;
  const read = requireScopes(authenticator, 'payments:read');
  const write = requireScopes(authenticator, 'payments:write');
  const reviews = () => {
    const actions = dependencies.reviews();
    if (!actions)
      throw new DomainError(
        'reviews_unavailable',
        503,
        'The payments module is not running in this process.',
      );
    return actions;
  };

  app.get(
    '/fraud/rules',
    {
      preHandler: read,
      schema: {
        documentedResponses: documented.listRules,
        tags,
        summary: "The merchant's rules, and the built-in rules that run before them",
      },
    },
    async (request) => ({
      data: (await listRules(sql, merchantIdOf(request))).map(ruleView),
      builtin: dependencies.builtins.map((rule) => ({
        id: rule.id,
        action: rule.parsed.action,
        rule: rule.source,
      })),
    }),
  );

  app.post(
    '/fraud/rules',
    {
      preHandler: write,
      schema: {
        documentedResponses: documented.createRule,
        tags,
        summary: 'Add a rule (validated: a bad rule is 400 rule_invalid with the position of the bad token)',
        body: Type.Object(
          {
            rule: RuleText,
            description: Type.Optional(Type.String({ maxLength: 500, pattern: printable })),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createRule(dependencies, merchantIdOf(request), request.body)),
  );

  app.post(
    '/fraud/rules/test',
    {
      preHandler: read,
      schema: {
        documentedResponses: documented.backtest,
        tags,
        summary: "Backtest a draft rule over the merchant's decisions of the last N days (changes nothing)",
        body: Type.Object(
          { rule: RuleText, days: Type.Optional(Type.Integer({ minimum: 1, maximum: 90 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      backtestRule(dependencies, merchantIdOf(request), request.body.rule, request.body.days ?? 30),
  );

  app.get(
    '/fraud/rules/:id',
    {
      preHandler: read,
      schema: { documentedResponses: documented.getRule, tags, summary: 'One rule', params: IdParams },
    },
    async (request) => {
      const rule = await findRule(sql, merchantIdOf(request), request.params.id);
      if (!rule) throw new DomainError('rule_not_found', 404, 'No such rule.');
      return ruleView(rule);
    },
  );

  app.patch(
    '/fraud/rules/:id',
    {
      preHandler: write,
      schema: {
        documentedResponses: documented.changeRule,
        tags,
        summary: 'Change a rule (a new version)',
        params: IdParams,
        body: Type.Object(
          {
            rule: Type.Optional(RuleText),
            description: Type.Optional(
              Type.Union([Type.String({ maxLength: 500, pattern: printable }), Type.Null()]),
            ),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => changeRule(dependencies, merchantIdOf(request), request.params.id, request.body),
  );

  app.delete(
    '/fraud/rules/:id',
    {
      preHandler: write,
      schema: {
        documentedResponses: documented.deleteRule,
        tags,
        summary: 'Delete a rule (kept in its version history)',
        params: IdParams,
      },
    },
    async (request, reply) => {
      await removeRule(dependencies, merchantIdOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/fraud/lists',
    {
      preHandler: read,
      schema: {
        documentedResponses: documented.lists,
        tags,
        summary: "The merchant's allow and block lists (@name in rules)",
      },
    },
    async (request) => ({ data: await listView(dependencies, merchantIdOf(request)) }),
  );

  app.post(
    '/fraud/lists/:name',
    {
      preHandler: write,
      schema: {
        documentedResponses: documented.addToList,
        tags,
        summary: 'Add values to a list (created on first use; compared without case)',
        params: ListParams,
        body: Type.Object(
          {
            values: Type.Array(Type.String({ minLength: 1, maxLength: 320 }), {
              minItems: 1,
              maxItems: 1000,
            }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const [list] = await addToList(
        dependencies,
        merchantIdOf(request),
        request.params.name,
        request.body.values,
      );
      return list;
    },
  );

  app.delete(
    '/fraud/lists/:name/:value',
    {
      preHandler: write,
      schema: {
        documentedResponses: documented.removeFromList,
        tags,
        summary: 'Remove a value from a list',
        params: ListValueParams,
      },
    },
    async (request, reply) => {
      await removeFromList(dependencies, merchantIdOf(request), request.params.name, request.params.value);
      return reply.code(204).send();
    },
  );

  app.get(
    '/fraud/settings',
    {
      preHandler: read,
      schema: {
        documentedResponses: documented.settings,
        tags,
        summary: 'What screening does when the velocity store is down',
      },
    },
    async (request) => fraudSettings(dependencies, merchantIdOf(request)),
  );

  app.put(
    '/fraud/settings',
    {
      preHandler: write,
      schema: {
        documentedResponses: documented.setSettings,
        tags,
        summary: "Set the merchant's velocity fail mode: open (screen without velocity) or closed (block)",
        body: Type.Object(
          { velocityFailMode: Type.Union([Type.Literal('open'), Type.Literal('closed')]) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      setVelocityFailMode(dependencies, merchantIdOf(request), request.body.velocityFailMode),
  );

  app.get(
    '/fraud/reviews',
    {
      preHandler: read,
      schema: {
        documentedResponses: documented.reviews,
        tags,
        summary: 'Payments waiting for a review decision',
        querystring: LimitQuery,
      },
    },
    async (request) => ({
      data: await reviews().listInReview(merchantIdOf(request), limitOf(request.query.limit)),
    }),
  );

  app.post(
    '/fraud/reviews/:paymentId/approve',
    {
      preHandler: write,
      schema: {
        documentedResponses: documented.approve,
        tags,
        summary: 'Approve a payment in review (captures it if it was created with capture: true)',
        params: PaymentParams,
      },
    },
    async (request) => reviews().approveReview(merchantIdOf(request), request.params.paymentId),
  );

  app.post(
    '/fraud/reviews/:paymentId/reject',
    {
      preHandler: write,
      schema: {
        documentedResponses: documented.reject,
        tags,
        summary: 'Reject a payment in review (its authorization is voided at the acquirer)',
        params: PaymentParams,
      },
    },
    async (request) => reviews().rejectReview(merchantIdOf(request), request.params.paymentId),
  );

  app.get(
    '/v1/admin/fraud/rules',
    {
      preHandler: requireScopes(authenticator, 'admin:read'),
      schema: {
        documentedResponses: documented.operatorRules,
        tags,
        summary: "One merchant's rules, lists and settings (operators)",
        // Optional in the schema so that an unauthenticated call is 401 before it is 400.
        querystring: Type.Object({
          merchantId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
        }),
      },
    },
    async (request) => {
      const merchantId = request.query.merchantId;
      if (merchantId === undefined)
        throw new DomainError('validation_failed', 400, 'merchantId is required (?merchantId=mer_…).');
      return {
        merchantId,
        rules: (await listRules(sql, merchantId)).map(ruleView),
        lists: await listView(dependencies, merchantId),
        settings: await fraudSettings(dependencies, merchantId),
      };
    },
  );

  app.get(
    '/v1/admin/fraud/reviews',
    {
      preHandler: requireScopes(authenticator, 'admin:read'),
      schema: {
        documentedResponses: documented.operatorReviews,
        tags,
        summary: "Every merchant's payments waiting for a review decision (operators)",
        querystring: LimitQuery,
      },
    },
    async (request) => ({ data: await reviews().listInReview(undefined, limitOf(request.query.limit)) }),
  );
}

// The fraud answers, for /openapi.json only (`documentedResponses`: the routes build the bodies;
// Fastify does not serialize with these).
import { Type } from 'typebox';
import { currency, dateTime, jsonAnswer, minorUnits, noContent } from '../../../platform/http/documented.ts';

const action = Type.Union([Type.Literal('allow'), Type.Literal('block'), Type.Literal('review')]);
const rulesetVersion = Type.Integer({
  description: "The merchant's ruleset version after the change (every change adds one).",
});

const Rule = Type.Object({
  id: Type.String({ pattern: '^rule_[0-9a-z]{26}$' }),
  action,
  rule: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  enabled: Type.Boolean(),
  version: Type.Integer(),
  createdAt: dateTime,
  updatedAt: dateTime,
});
const ChangedRule = Type.Object({ ...Rule.properties, rulesetVersion });
const List = Type.Object({
  name: Type.String(),
  values: Type.Array(Type.String(), { description: 'Trimmed and lower-cased.' }),
});
const Settings = Type.Object({
  velocityFailMode: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
  rulesetVersion,
});
// A payment in review: the payment as GET /payments/{id} lists it (`review` says where it stands).
const ReviewPayment = Type.Object(
  {
    paymentId: Type.String({ pattern: '^pay_[0-9a-z]{26}$' }),
    status: Type.String(),
    amount: minorUnits,
    currency,
    review: Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')]),
    createdAt: dateTime,
  },
  { additionalProperties: true },
);
const OperatorReviewPayment = Type.Object(
  { ...ReviewPayment.properties, merchantId: Type.String() },
  { additionalProperties: true },
);

export const documented = {
  listRules: {
    200: jsonAnswer(
      Type.Object({
        data: Type.Array(Rule),
        builtin: Type.Array(Type.Object({ id: Type.String(), action, rule: Type.String() }), {
          description: 'Built-in rules (operator-configured limits), run before the merchant’s.',
        }),
      }),
      "The merchant's rules, and the built-in ones.",
    ),
  },
  createRule: { 201: jsonAnswer(ChangedRule, 'The rule, version 1.') },
  backtest: {
    200: jsonAnswer(
      Type.Object({
        action,
        days: Type.Integer(),
        evaluated: Type.Integer({ description: 'Decisions the draft ran over.' }),
        matched: Type.Integer(),
        changed: Type.Integer({ description: 'Matches whose decision then was another action.' }),
        examples: Type.Array(
          Type.Object({
            paymentId: Type.String(),
            createdAt: dateTime,
            decisionThen: Type.String(),
            values: Type.Record(Type.String(), Type.Unknown(), {
              description: 'The attributes the rule read, as they were.',
            }),
          }),
          { maxItems: 10 },
        ),
      }),
      'What the draft would have done (nothing is changed).',
    ),
  },
  getRule: { 200: jsonAnswer(Rule, 'The rule.') },
  changeRule: { 200: jsonAnswer(ChangedRule, 'The rule, its version one higher.') },
  deleteRule: { 204: noContent('Deleted (kept in its version history).') },
  lists: { 200: jsonAnswer(Type.Object({ data: Type.Array(List) }), 'Every list with its values.') },
  addToList: { 200: jsonAnswer(List, 'The list with all its values.') },
  removeFromList: { 204: noContent('Removed.') },
  settings: { 200: jsonAnswer(Settings, "The merchant's screening settings.") },
  setSettings: { 200: jsonAnswer(Settings, 'The settings as changed.') },
  reviews: {
    200: jsonAnswer(Type.Object({ data: Type.Array(ReviewPayment) }), 'Payments with `review: pending`.'),
  },
  approve: { 200: jsonAnswer(ReviewPayment, 'The payment, `review: approved`.') },
  reject: { 200: jsonAnswer(ReviewPayment, 'The payment, `review: rejected` (its authorization voided).') },
  operatorRules: {
    200: jsonAnswer(
      Type.Object({
        merchantId: Type.String(),
        rules: Type.Array(Rule),
        lists: Type.Array(List),
        settings: Settings,
      }),
      "The merchant's rules, lists and settings.",
    ),
  },
  operatorReviews: {
    200: jsonAnswer(
      Type.Object({ data: Type.Array(OperatorReviewPayment) }),
      "Every merchant's payments with `review: pending`, each with its `merchantId`.",
    ),
  },
};

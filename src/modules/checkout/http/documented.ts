// The checkout answers, for /openapi.json only (`documentedResponses`: the routes build the bodies;
// Fastify does not serialize with these).
import { Type } from 'typebox';
import { currency, dateTime, jsonAnswer, minorUnits } from '../../../platform/http/documented.ts';

const sessionId = Type.String({ pattern: '^cs_[0-9a-hjkmnp-tv-z]{26}$' });
const status = Type.Union([Type.Literal('open'), Type.Literal('completed'), Type.Literal('expired')]);

const Session = Type.Object({
  id: sessionId,
  url: Type.String({ description: 'The hosted page to send the payer to.' }),
  status,
  amount: minorUnits,
  currency,
  description: Type.String(),
  successUrl: Type.String(),
  cancelUrl: Type.String(),
  capture: Type.Boolean(),
  createdAt: dateTime,
  expiresAt: dateTime,
  paymentId: Type.Optional(Type.String({ description: 'Once a payment was made for it.' })),
  completedAt: Type.Optional(dateTime),
});

const PayerView = Type.Object({
  id: sessionId,
  status,
  merchantName: Type.String(),
  amount: minorUnits,
  currency,
  description: Type.String(),
  expiresAt: dateTime,
  cancelUrl: Type.String(),
  publishableKey: Type.Optional(Type.String({ description: 'While open: to tokenize the card.' })),
  redirectUrl: Type.Optional(Type.String({ description: 'Once completed: where the payer goes next.' })),
});

const Completed = Type.Object({
  status: Type.Literal('completed'),
  paymentId: Type.String(),
  redirectUrl: Type.String(),
});

export const documented = {
  create: { 201: jsonAnswer(Session, 'Created (`Location` names it); send the payer to `url`.') },
  get: { 200: jsonAnswer(Session, 'The session.') },
  payer: { 200: jsonAnswer(PayerView, "What the payer's page shows (nothing else of the merchant's).") },
  pay: {
    200: jsonAnswer(Completed, 'Paid: send the payer to `redirectUrl`.'),
    202: jsonAnswer(
      Type.Object({ status: Type.Literal('processing') }),
      'The acquirer has not answered yet: ask again.',
    ),
  },
};

// Helpers for `documentedResponses`, the answers a route shows in /openapi.json without Fastify
// serializing with them (a Fastify response schema drops members it does not list, and would turn a
// total into whatever type the schema says). The application builds the bodies; test/readme-tours.test.ts
// validates the real answers of the README's tours against these schemas.
import { Type, type TSchema } from 'typebox';

/** A JSON success answer. */
export const jsonAnswer = (schema: TSchema, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** An answer without a body (204). */
export const noContent = (description: string) => ({ description });

export const dateTime = Type.String({ format: 'date-time' });
export const nullableDateTime = Type.Union([dateTime, Type.Null()]);
export const currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code.' });
/** One operation's amount: a JSON integer of minor units (src/platform/money.ts `amountToJson`). */
export const minorUnits = Type.Integer({ description: 'Minor units of `currency` (a JSON integer).' });

// Pure request/response mapping between PayFlow and the acquirer's wire format (the simulator's
// contract). Every answer is validated against a TypeBox schema: an answer that does not match is an
// unknown outcome (OWASP API10), never a crash and never a decline.
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type {
  AuthorizationCall,
  AuthorizationOutcome,
  InquiryOutcome,
  OperationOutcome,
  PaymentMethodType,
} from '../../application/ports.ts';

const Identifier = Type.String({ minLength: 1, maxLength: 128 });
const DeclineCode = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_]+$' });
const AcquirerAmount = Type.Integer({ minimum: 1, maximum: 999_999_999_999 });

const AuthorizationAnswerSchema = Type.Object({
  reference: Type.String(),
  authorizationId: Identifier,
  status: Type.Union([
    Type.Literal('approved'),
    Type.Literal('declined'),
    Type.Literal('requires_action'),
    Type.Literal('error'),
  ]),
  declineCode: Type.Optional(DeclineCode),
  approvedAmount: Type.Optional(AcquirerAmount),
  redirectUrl: Type.Optional(Type.String({ maxLength: 2048, pattern: '^https?://' })),
});
const checkAuthorizationAnswer = Compile(AuthorizationAnswerSchema);

const OperationAnswerSchema = Type.Object({
  reference: Type.String(),
  authorizationId: Identifier,
  captureId: Type.Optional(Identifier),
  refundId: Type.Optional(Identifier),
  voidId: Type.Optional(Identifier),
  status: Type.Union([
    Type.Literal('captured'),
    Type.Literal('refunded'),
    Type.Literal('voided'),
    Type.Literal('pending'),
    Type.Literal('failed'),
    Type.Literal('declined'),
  ]),
  declineCode: Type.Optional(DeclineCode),
});
const checkOperationAnswer = Compile(OperationAnswerSchema);

const ErrorAnswerSchema = Type.Object({ error: Type.String({ maxLength: 64 }) });
const checkErrorAnswer = Compile(ErrorAnswerSchema);

export type OperationKind = 'capture' | 'refund' | 'void';

/** The acquirer's authorization request body. Card data is revealed here and nowhere else. */
export function authorizationRequestBody(
  method: PaymentMethodType,
  call: AuthorizationCall,
): Record<string, unknown> {
  const base = {
    reference: call.reference,
    amount: Number(call.amount),
    currency: call.currency,
    method,
    ...(call.returnUrl !== undefined && { returnUrl: call.returnUrl }),
  };
  const credentials = call.credentials;
  if (method === 'bank_redirect') return base;
  if (method === 'card' && credentials?.kind === 'card') {
    return {
      ...base,
      card: {
        number: credentials.number.reveal(),
        expMonth: credentials.expMonth,
        expYear: credentials.expYear,
        ...(credentials.cvc !== undefined && { cvc: credentials.cvc.reveal() }),
      },
    };
  }
  if (method === 'wallet' && credentials?.kind === 'wallet') {
    return {
      ...base,
      wallet: {
        type: credentials.type,
        networkToken: credentials.networkToken.reveal(),
        cryptogram: credentials.cryptogram.reveal(),
        expMonth: credentials.expMonth,
        expYear: credentials.expYear,
      },
    };
  }
  throw new Error(`credentials of kind ${credentials?.kind ?? 'none'} cannot pay by ${method}`);
}

function unknown(reason: string): { readonly type: 'unknown'; readonly reason: string } {
  return { type: 'unknown', reason };
}

function errorCodeOf(body: unknown): string | undefined {
  return checkErrorAnswer.Check(body) ? (body as Static<typeof ErrorAnswerSchema>).error : undefined;
}

/** Maps an authorization answer (from the call or an inquiry) for the given reference. */
export function authorizationOutcomeOf(
  reference: string,
  statusCode: number,
  body: unknown,
): AuthorizationOutcome {
  if (statusCode === 400 && errorCodeOf(body) === 'invalid_request') {
    // The acquirer refused the request without recording anything: a definitive refusal.
    return { type: 'declined', declineCode: 'acquirer_rejected_request' };
  }
  if (statusCode !== 200) return unknown(`acquirer answered ${statusCode} ${errorCodeOf(body) ?? ''}`.trim());
  if (!checkAuthorizationAnswer.Check(body)) return unknown('acquirer answer failed validation');
  const answer = body as Static<typeof AuthorizationAnswerSchema>;
  if (answer.reference !== reference) return unknown('acquirer answered for another reference');
  switch (answer.status) {
    case 'approved':
      if (answer.approvedAmount === undefined) return unknown('approved answer without an amount');
      return {
        type: 'approved',
        acquirerAuthorizationId: answer.authorizationId,
        approvedAmount: BigInt(answer.approvedAmount),
      };
    case 'declined':
    case 'error':
      return {
        type: 'declined',
        declineCode: answer.declineCode ?? (answer.status === 'error' ? 'processing_error' : 'card_declined'),
        acquirerAuthorizationId: answer.authorizationId,
      };
    case 'requires_action':
      if (answer.redirectUrl === undefined) return unknown('requires_action answer without a redirect URL');
      return {
        type: 'requires_action',
        acquirerAuthorizationId: answer.authorizationId,
        redirectUrl: answer.redirectUrl,
      };
    default:
      return answer.status satisfies never;
  }
}

const successStatus: Record<OperationKind, string> = {
  capture: 'captured',
  refund: 'refunded',
  void: 'voided',
};

/** Maps a capture, refund or void answer. */
export function operationOutcomeOf(
  kind: OperationKind,
  reference: string,
  statusCode: number,
  body: unknown,
): OperationOutcome {
  const errorCode = errorCodeOf(body);
  if (statusCode === 400 && errorCode === 'invalid_request')
    return { type: 'declined', declineCode: 'acquirer_rejected_request' };
  if (statusCode === 404 && errorCode === 'unknown_authorization')
    return { type: 'declined', declineCode: 'unknown_authorization' };
  if (statusCode !== 200) return unknown(`acquirer answered ${statusCode} ${errorCode ?? ''}`.trim());
  if (!checkOperationAnswer.Check(body)) return unknown('acquirer answer failed validation');
  const answer = body as Static<typeof OperationAnswerSchema>;
  if (answer.reference !== reference) return unknown('acquirer answered for another reference');
  const operationId = answer.captureId ?? answer.refundId ?? answer.voidId;
  if (operationId === undefined) return unknown('acquirer answer without an operation id');
  if (answer.status === successStatus[kind]) return { type: 'succeeded', operationId };
  if (answer.status === 'pending' && kind === 'refund') return { type: 'pending', operationId };
  if (answer.status === 'declined' || answer.status === 'failed') {
    return { type: 'declined', declineCode: answer.declineCode ?? `${kind}_declined` };
  }
  return unknown(`acquirer answered status ${answer.status} to a ${kind}`);
}

/** Maps `GET /v1/operations/{reference}`: 404 means the acquirer recorded nothing under it. */
export function inquiryOutcomeOf<T>(
  statusCode: number,
  body: unknown,
  map: (body: unknown) => T,
): InquiryOutcome<T> {
  if (statusCode === 404 && errorCodeOf(body) === 'unknown_reference') return { type: 'not_found' };
  if (statusCode !== 200) return unknown(`acquirer inquiry answered ${statusCode}`);
  return { type: 'found', outcome: map(body) };
}

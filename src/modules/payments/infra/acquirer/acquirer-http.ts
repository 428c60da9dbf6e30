// The HTTP side of the acquirer adapter: sends JSON with a deadline and hands status and parsed body
// to the pure mapping. A timeout, a refused connection or a body that is not JSON is an unknown
// outcome: the caller keeps the payment PENDING and asks again later under the same reference.
import type {
  AcquirerOperations,
  AuthorizationCall,
  AuthorizationOutcome,
  InquiryOutcome,
  OperationOutcome,
  PaymentMethodType,
} from '../../application/ports.ts';
import {
  authorizationOutcomeOf,
  authorizationRequestBody,
  inquiryOutcomeOf,
  operationOutcomeOf,
  type OperationKind,
} from './acquirer-mapping.ts';
import {
  createHttpClient,
  HttpCallError,
  type HttpAnswer,
  type HttpClient,
} from '../../../../platform/http/client.ts';
import { injectTraceHeaders, SpanKind, withSpan } from '../../../../platform/tracing.ts';

export interface AcquirerHttpSettings {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:8090. */
  readonly baseUrl: string;
  /** Deadline of one acquirer call. */
  readonly timeoutMs: number;
}

type RawAnswer = { readonly type: 'answer'; readonly statusCode: number; readonly body: unknown };
type Transport = RawAnswer | { readonly type: 'unknown'; readonly reason: string };

const answerBodyMaxBytes = 64 * 1024;

export class AcquirerHttpClient implements AcquirerOperations {
  private readonly http: HttpClient = createHttpClient();

  constructor(private readonly settings: AcquirerHttpSettings) {}

  private send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Transport> {
    // One client span per call (ADR 23); the acquirer gets the trace context as `traceparent`.
    const route = path.replace(/\/v1\/authorizations\/[^/]+/, '/v1/authorizations/{id}');
    return withSpan(
      `acquirer ${method} ${route}`,
      { kind: SpanKind.CLIENT, attributes: { 'http.request.method': method, 'url.template': route } },
      async (span) => {
        const answer = await this.sendUntraced(method, path, body);
        if (answer.type === 'answer') span.setAttribute('http.response.status_code', answer.statusCode);
        else span.setAttribute('payflow.acquirer.outcome', 'unknown');
        return answer;
      },
    );
  }

  private async sendUntraced(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Transport> {
    let answer: HttpAnswer;
    try {
      answer = await this.http.call({
        method,
        url: `${this.settings.baseUrl}${path}`,
        headers: injectTraceHeaders(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(body !== undefined && { body: JSON.stringify(body) }),
        timeoutMs: this.settings.timeoutMs,
        maxAnswerBytes: answerBodyMaxBytes,
      });
    } catch (error) {
      // Never the request: its body could hold card data.
      if (!(error instanceof HttpCallError)) return { type: 'unknown', reason: 'acquirer call failed' };
      if (error.reason === 'timeout') return { type: 'unknown', reason: 'acquirer timed out' };
      if (error.reason === 'answer_too_large')
        return { type: 'unknown', reason: 'acquirer answer too large' };
      return { type: 'unknown', reason: `acquirer unreachable (${error.message})` };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      return { type: 'unknown', reason: `acquirer answered ${answer.status} with a body that is not JSON` };
    }
    return { type: 'answer', statusCode: answer.status, body: parsed };
  }

  async authorize(method: PaymentMethodType, call: AuthorizationCall): Promise<AuthorizationOutcome> {
    const answer = await this.send('POST', '/v1/authorizations', authorizationRequestBody(method, call));
    if (answer.type === 'unknown') return answer;
    return authorizationOutcomeOf(call.reference, answer.statusCode, answer.body);
  }

  private async operate(
    kind: OperationKind,
    acquirerAuthorizationId: string,
    reference: string,
    body: Record<string, unknown>,
  ): Promise<OperationOutcome> {
    const path = `/v1/authorizations/${encodeURIComponent(acquirerAuthorizationId)}/${kind}s`;
    const answer = await this.send('POST', path, { reference, ...body });
    if (answer.type === 'unknown') return answer;
    return operationOutcomeOf(kind, reference, answer.statusCode, answer.body);
  }

  capture(acquirerAuthorizationId: string, reference: string, amount: bigint): Promise<OperationOutcome> {
    return this.operate('capture', acquirerAuthorizationId, reference, { amount: Number(amount) });
  }

  refund(acquirerAuthorizationId: string, reference: string, amount: bigint): Promise<OperationOutcome> {
    return this.operate('refund', acquirerAuthorizationId, reference, { amount: Number(amount) });
  }

  void(acquirerAuthorizationId: string, reference: string): Promise<OperationOutcome> {
    return this.operate('void', acquirerAuthorizationId, reference, {});
  }

  private async inquire(reference: string): Promise<Transport> {
    return this.send('GET', `/v1/operations/${encodeURIComponent(reference)}`);
  }

  async inquireAuthorization(reference: string): Promise<InquiryOutcome<AuthorizationOutcome>> {
    const answer = await this.inquire(reference);
    if (answer.type === 'unknown') return answer;
    return inquiryOutcomeOf(answer.statusCode, answer.body, (body) =>
      authorizationOutcomeOf(reference, 200, body),
    );
  }

  async inquireOperation(reference: string): Promise<InquiryOutcome<OperationOutcome>> {
    const answer = await this.inquire(reference);
    if (answer.type === 'unknown') return answer;
    return inquiryOutcomeOf(answer.statusCode, answer.body, (body) => {
      const kind = (body as { kind?: unknown }).kind;
      if (kind !== 'capture' && kind !== 'refund' && kind !== 'void')
        return { type: 'unknown', reason: 'inquiry answered another kind of operation' };
      return operationOutcomeOf(kind, reference, 200, body);
    });
  }
}

// The registry of payments operations and their entry points: the routes and the janitor reach the
// operations through here. It imports the operations and the runner; nothing imports it back but the
// module's face and routes (imports run routes → operations.ts → each operation → pipeline.ts).
import type { ApiAnswer } from '../domain/payment.ts';
import type { IdempotencyKey } from '../infra/idempotency-repository.ts';
import { authorizeOperation, type AuthorizeInput } from './authorize-payment.ts';
import { captureOperation, type CaptureInput } from './capture-payment.ts';
import type { ContinuationMode, PaymentsDependencies } from './dependencies.ts';
import { createPipeline, type RequestAnswer } from './pipeline.ts';
import { refundOperation, type RefundInput } from './refund-payment.ts';
import { voidOperation, type VoidInput } from './void-payment.ts';

export type { RequestAnswer } from './pipeline.ts';
export { janitorBatchMax } from './pipeline.ts';

/** Every operation whose keys the janitor resumes, one per key operation. */
const pipeline = createPipeline([authorizeOperation, captureOperation, refundOperation, voidOperation]);

export function authorizePayment(
  dependencies: PaymentsDependencies,
  input: AuthorizeInput,
): Promise<RequestAnswer> {
  return pipeline.run(dependencies, authorizeOperation, input);
}

export function capturePayment(
  dependencies: PaymentsDependencies,
  input: CaptureInput,
): Promise<RequestAnswer> {
  return pipeline.run(dependencies, captureOperation, input);
}

export function refundPayment(
  dependencies: PaymentsDependencies,
  input: RefundInput,
): Promise<RequestAnswer> {
  return pipeline.run(dependencies, refundOperation, input);
}

export function voidPayment(dependencies: PaymentsDependencies, input: VoidInput): Promise<RequestAnswer> {
  return pipeline.run(dependencies, voidOperation, input);
}

export function resumeKey(
  dependencies: PaymentsDependencies,
  key: IdempotencyKey,
  mode: ContinuationMode,
): Promise<ApiAnswer> {
  return pipeline.resumeKey(dependencies, key, mode);
}

export const resolveResource = pipeline.resolveResource;
export const runJanitor = pipeline.runJanitor;

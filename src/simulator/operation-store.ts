// Idempotency by client reference. Every mutating call first claims its reference: a new reference is
// reserved until the call records its answer (or releases it); a known one replays the stored answer
// when the request is the same, and is refused when it differs. Requests are kept only as a SHA-256
// fingerprint so no card data is held after the decision.
import { createHash } from 'node:crypto';
import type {
  AuthorizationAnswer,
  CaptureAnswer,
  OperationInquiry,
  OperationKind,
  RefundAnswer,
  VoidAnswer,
} from './contract.ts';

export type OperationAnswer = AuthorizationAnswer | CaptureAnswer | RefundAnswer | VoidAnswer;

export type Claim =
  | { readonly type: 'new' }
  | { readonly type: 'replay'; readonly answer: OperationAnswer }
  /** Same reference, different request (or a different kind of operation). */
  | { readonly type: 'mismatch' }
  /** Same request still being decided; retrying later can help. */
  | { readonly type: 'in_use' }
  /** The simulator holds `referencesMax` references already. */
  | { readonly type: 'full' };

interface StoredOperation {
  readonly fingerprint: string;
  inquiry: OperationInquiry;
}

/** Canonical JSON (sorted keys) so property order never changes a fingerprint. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Fingerprint of a request: its kind, the authorization it targets and its body. */
export function fingerprintOf(kind: OperationKind, authorizationId: string, body: unknown): string {
  return createHash('sha256').update(canonicalJson({ kind, authorizationId, body })).digest('hex');
}

export function answerOf(inquiry: OperationInquiry): OperationAnswer {
  const { kind: _kind, ...answer } = inquiry;
  return answer;
}

export class OperationStore {
  private readonly operations = new Map<string, StoredOperation>();
  /** References claimed but not yet recorded, with their request fingerprint. */
  private readonly reservations = new Map<string, string>();

  constructor(private readonly referencesMax: number) {}

  claim(reference: string, fingerprint: string): Claim {
    const stored = this.operations.get(reference);
    if (stored) {
      return stored.fingerprint === fingerprint
        ? { type: 'replay', answer: answerOf(stored.inquiry) }
        : { type: 'mismatch' };
    }
    const reserved = this.reservations.get(reference);
    if (reserved !== undefined) return reserved === fingerprint ? { type: 'in_use' } : { type: 'mismatch' };
    if (this.operations.size + this.reservations.size >= this.referencesMax) return { type: 'full' };
    this.reservations.set(reference, fingerprint);
    return { type: 'new' };
  }

  /** Stores the answer of a claimed reference; from now on it is replayed and found by inquiry. */
  record(inquiry: OperationInquiry): void {
    const fingerprint = this.reservations.get(inquiry.reference);
    if (fingerprint === undefined)
      throw new Error(`record without a claim for reference ${inquiry.reference}`);
    this.reservations.delete(inquiry.reference);
    this.operations.set(inquiry.reference, { fingerprint, inquiry });
  }

  /** Gives a claimed reference back unrecorded (the request was refused before any work). */
  release(reference: string): void {
    this.reservations.delete(reference);
  }

  /** Replaces a stored answer when an asynchronous outcome arrives (bank decision, refund failure). */
  replace(inquiry: OperationInquiry): void {
    const stored = this.operations.get(inquiry.reference);
    if (!stored || stored.inquiry.kind !== inquiry.kind) {
      throw new Error(`replace of unknown ${inquiry.kind} reference ${inquiry.reference}`);
    }
    stored.inquiry = inquiry;
  }

  /** The stored operation (fingerprint and current answer), for the journal. */
  stored(
    reference: string,
  ): { readonly fingerprint: string; readonly inquiry: OperationInquiry } | undefined {
    return this.operations.get(reference);
  }

  /** Puts back an operation read from the journal at start. */
  load(reference: string, fingerprint: string, inquiry: OperationInquiry): void {
    this.operations.set(reference, { fingerprint, inquiry });
  }

  find(reference: string): OperationInquiry | undefined {
    return this.operations.get(reference)?.inquiry;
  }
}

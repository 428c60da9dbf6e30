// Email and SMS as data: what PayFlow sends (a payer's receipt, a merchant's endpoint-disabled notice),
// rendered from facts to plain text. Pure: no clock, no I/O. Receipts show amounts in major units with
// the currency code, the merchant and the payment id; never card data.
import { formatMajor, isCurrencyCode, type CurrencyCode } from '../../../platform/money.ts';

export type MessageChannel = 'email' | 'sms';
export type MessageKind = 'payment_receipt' | 'endpoint_disabled';

/** A message to queue: one per (kind, channel, sourceId). */
export interface NewMessage {
  readonly channel: MessageChannel;
  readonly kind: MessageKind;
  readonly merchantId: string;
  /** What the message is about (payment id, notice id): a second queueing of it adds nothing. */
  readonly sourceId: string;
  readonly recipient: string;
  /** Email only. */
  readonly subject: string | null;
  readonly body: string;
}

/** One SMS segment of GSM-7 text; receipts are kept within it. */
export const smsLengthMax = 160;
export const subjectLengthMax = 200;

// Names come from merchants: in a subject or an SMS, no line breaks or other control characters.
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const controlCharacters = /[\u0000-\u001f\u007f]+/g;

function singleLine(text: string, lengthMax: number): string {
  const line = text.replace(controlCharacters, ' ').trim();
  return line.length <= lengthMax ? line : `${line.slice(0, lengthMax - 1)}…`;
}

export interface ReceiptFacts {
  readonly paymentId: string;
  /** The captured amount, minor units. */
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly merchantName: string | undefined;
  readonly capturedAt: Date;
}

export function formatAmount(amount: bigint, currency: CurrencyCode): string {
  return `${formatMajor(amount, currency)} ${currency}`;
}

export function renderReceiptEmail(facts: ReceiptFacts): { subject: string; body: string } {
  const merchant = facts.merchantName === undefined ? undefined : singleLine(facts.merchantName, 100);
  const amount = formatAmount(facts.amount, facts.currency);
  return {
    subject: singleLine(`Your receipt from ${merchant ?? 'PayFlow'}: ${amount}`, subjectLengthMax),
    body: [
      merchant === undefined ? 'Thank you for your payment.' : `Thank you for your payment to ${merchant}.`,
      '',
      `Amount paid: ${amount}`,
      `Payment: ${facts.paymentId}`,
      `Date: ${facts.capturedAt.toISOString()}`,
      '',
      'Keep this email as your receipt. Questions about the purchase go to the merchant.',
      '',
    ].join('\n'),
  };
}

export function renderReceiptSms(facts: ReceiptFacts): string {
  const merchant = facts.merchantName === undefined ? 'PayFlow' : singleLine(facts.merchantName, 40);
  return singleLine(
    `${merchant}: payment of ${formatAmount(facts.amount, facts.currency)} received. Ref ${facts.paymentId}`,
    smsLengthMax,
  );
}

export interface EndpointDisabledFacts {
  readonly merchantName: string | undefined;
  readonly endpointId: string;
  readonly url: string;
  readonly deliveryId: string;
  readonly attempts: number;
}

export function renderEndpointDisabledEmail(facts: EndpointDisabledFacts): { subject: string; body: string } {
  const greeting =
    facts.merchantName === undefined ? 'Hello,' : `Hello ${singleLine(facts.merchantName, 100)},`;
  return {
    subject: 'Your PayFlow webhook endpoint was disabled',
    body: [
      greeting,
      '',
      `Deliveries to your webhook endpoint ${facts.endpointId} (${singleLine(facts.url, 2048)}) kept failing.`,
      `After ${facts.attempts} attempts at delivery ${facts.deliveryId} PayFlow disabled the endpoint:`,
      'it receives no more events until it is enabled again. Its pending deliveries were given up.',
      '',
      'Check that the endpoint answers 2xx within the timeout, then enable it again.',
      '',
    ].join('\n'),
  };
}

/** What a receipt needs from a `payment.captured.v1` payload; undefined fields were absent. */
export interface CapturedPayment {
  readonly paymentId: string;
  readonly capturedAmount: bigint;
  readonly currency: CurrencyCode;
  /** Which receipts the payer asked for; the addresses are read from the payments module. */
  readonly receipt: { readonly email: boolean; readonly sms: boolean };
  /** Only in events staged before personal data left the events (kept readable for them). */
  readonly legacyEmail: string | undefined;
  readonly legacyPhone: string | undefined;
}

/** Reads a captured event's payload; a malformed one throws (the consumer retries, then dead-letters). */
export function capturedPaymentOf(payload: Record<string, unknown>): CapturedPayment {
  const { paymentId, capturedAmount, currency, receipt, receiptEmail, receiptPhone } = payload;
  if (typeof paymentId !== 'string' || paymentId === '')
    throw new Error('payment.captured.v1 payload has no paymentId');
  if (typeof capturedAmount !== 'number' || !Number.isSafeInteger(capturedAmount) || capturedAmount <= 0)
    throw new Error(`payment.captured.v1 payload of ${paymentId} has no positive integer capturedAmount`);
  if (typeof currency !== 'string' || !isCurrencyCode(currency))
    throw new Error(`payment.captured.v1 payload of ${paymentId} has no known currency`);
  return {
    paymentId,
    capturedAmount: BigInt(capturedAmount),
    currency,
    receipt: {
      email: isRecord(receipt) && receipt['email'] === true,
      sms: isRecord(receipt) && receipt['sms'] === true,
    },
    legacyEmail: typeof receiptEmail === 'string' ? receiptEmail : undefined,
    legacyPhone: typeof receiptPhone === 'string' ? receiptPhone : undefined,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

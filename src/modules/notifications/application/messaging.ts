// Wiring of email and SMS for the notifications module: the transports configuration asks for, the
// `receipts` consumer group, and the `messages-sender` job. Kept apart from index.ts, which stays the
// module's face.
import type { Job, PlatformContext } from '../../../platform/module.ts';
import type { EventsFace } from '../../events/index.ts';
import type { IdentityFace } from '../../identity/index.ts';
import type { PaymentsFace } from '../../payments/index.ts';
import type { Queryable } from '../../../platform/db/client.ts';
import type { MessageChannel } from '../domain/messages.ts';
import { smsTransport, smtpTransport, type MessageTransport } from '../infra/message-transports.ts';
import {
  messagePollIntervalMs,
  messageSendTimeoutMs,
  eraseReceiptRecipients,
  queueReceipts,
  sendDueMessages,
  type MerchantContactReader,
} from './messages.ts';
import { notificationsSettings } from '../settings.ts';

export interface Messaging {
  readonly job: Job;
  /** The identity face's contact reader (undefined without the identity module). */
  readonly merchantContact: MerchantContactReader | undefined;
  close(): void;
}

export function startMessaging(
  context: PlatformContext,
  faces: {
    identity: Partial<Pick<IdentityFace, 'merchantContact'>> | undefined;
    events: EventsFace | undefined;
    payments?: Pick<PaymentsFace, 'receiptContact'> | undefined;
  },
): Messaging {
  const { log } = context;
  const own = context.settings(notificationsSettings);
  const now = () => context.clock.now();
  const transports: Partial<Record<MessageChannel, MessageTransport>> = {};
  if (own.smtpUrl !== undefined)
    transports.email = smtpTransport({
      url: own.smtpUrl,
      from: own.emailFrom,
      timeoutMs: messageSendTimeoutMs,
    });
  if (own.smsProviderUrl !== undefined)
    transports.sms = smsTransport({
      url: own.smsProviderUrl,
      from: own.smsFrom,
      timeoutMs: messageSendTimeoutMs,
    });
  const merchantContact = faces.identity?.merchantContact?.bind(faces.identity);
  const payments = faces.payments;
  const receiptContact = payments
    ? (merchantId: string, paymentId: string, sql: Queryable) =>
        payments.receiptContact(merchantId, paymentId, sql)
    : undefined;
  faces.events?.subscribe(
    'receipts',
    ['payment.captured.v1', 'payment.payer_data_erased.v1'],
    (event, { transaction, merchantId, aggregateId }) =>
      event.type === 'payment.payer_data_erased.v1'
        ? eraseReceiptRecipients(transaction, merchantId, aggregateId, now())
        : queueReceipts(transaction, event, merchantId, merchantContact, now(), receiptContact),
  );
  return {
    merchantContact,
    job: {
      name: 'messages-sender',
      intervalMs: messagePollIntervalMs,
      run: async (signal) => void (await sendDueMessages({ sql: context.sql, log, now, transports }, signal)),
    },
    close() {
      for (const transport of Object.values(transports)) transport.close();
    },
  };
}

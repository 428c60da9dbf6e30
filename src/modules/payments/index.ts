// The payments module's public face: authorize, capture, refund and void payments through the atomic
// phases (docs/adr/0009-idempotency-and-unknown-outcomes.md), with idempotency keys, a janitor for
// unknown acquirer outcomes, authorization expiry and the key reaper. The acquirer is reached through
// one processor strategy per method; with ACQUIRER_URL unset the acquirer simulator runs in-process.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Queryable } from '../../platform/db/client.ts';
import type { ModuleDefinition } from '../../platform/module.ts';
import { ConfigError } from '../../platform/config.ts';
import { newId } from '../../platform/ids.ts';
import type { Job, PlatformContext } from '../../platform/module.ts';
import { startSimulator, type RunningSimulator } from '../../simulator/index.ts';
import type { EventsFace } from '../events/index.ts';
import type { IdentityFace } from '../identity/index.ts';
import {
  authorizationHold,
  authorizeAndCaptureJournals,
  captureJournal,
  expiryJournal,
  refundJournal,
  voidJournal,
  type Journal,
  type JournalKind,
  type LedgerFace,
} from '../ledger/index.ts';
import type { VaultFace } from '../vault/index.ts';
import type { FraudFace, ReviewActions } from '../fraud/index.ts';
import { currencyExponent } from '../../platform/money.ts';
import { approveReview, listInReview, rejectReview } from './application/review-payment.ts';
import type { PaymentsDependencies, PaymentsSettings } from './application/dependencies.ts';
import { expireAuthorizations, reapIdempotencyKeys } from './application/maintenance-jobs.ts';
import { sendDueOwedOperations } from './application/owed-operations.ts';
import type {
  CardDataPort,
  EventStager,
  LedgerPort,
  ProcessorCredentials,
  RiskPort,
} from './application/ports.ts';
import { getPayment } from './application/read-payments.ts';
import { runJanitor } from './application/operations.ts';
import { parseSchedule } from './domain/retry-schedule.ts';
import { registerPaymentRoutes } from './http/routes.ts';
import { AcquirerHttpClient } from './infra/acquirer/acquirer-http.ts';
import { createProcessorFactory } from './infra/processors.ts';
import { findReceiptContact } from './infra/payment-repository.ts';

export { stateDiagramMermaid, paymentStatuses, type PaymentStatus } from './domain/payment-state.ts';
export { notificationSignatureValid } from './http/routes.ts';

/** The fraud module's screening, as payments' RiskPort (the currency's exponent added). */
function riskPort(fraud: FraudFace | undefined): RiskPort | undefined {
  if (!fraud?.screening) return undefined;
  return {
    assess: (request) =>
      fraud.assess({
        ...request,
        exponent: currencyExponent(request.currency),
      }),
    recorded: (paymentId) => fraud.recorded(paymentId),
  };
}

/**
 * What later modules (settlement, notifications) may use: `faces['payments'] as PaymentsFace`. The
 * fraud module's review routes use the review methods (ReviewActions).
 */
export interface PaymentsFace extends ReviewActions {
  /** The acquirer's base URL (ACQUIRER_URL, or the simulator this process started). */
  readonly acquirerUrl: string;
  /** The payment as GET /payments/{id} shows it (with its ledger figures); DomainError 404 if unknown. */
  getPayment(merchantId: string, paymentId: string): Promise<Record<string, unknown>>;
  /**
   * The payer's receipt contact of a payment (personal data: never put in events), read in the
   * caller's transaction; undefined when the payment is unknown to that merchant.
   */
  receiptContact(
    merchantId: string,
    paymentId: string,
    caller?: Queryable,
  ): Promise<{ email: string | null; phone: string | null } | undefined>;
  /** Runs one janitor pass now (tests, operators): resumes due and abandoned idempotency keys. */
  runJanitor(): Promise<number>;
  /** Runs one expiry pass now. */
  expireAuthorizations(): Promise<number>;
  /**
   * Sends the due operations PayFlow owes the acquirer now: voids (cancelled redirects, expiries,
   * late approvals) and captures of approved `capture: true` bank redirects.
   */
  sendOwedAcquirerOperations(): Promise<number>;
}

const journalTypes: Record<JournalKind, string> = {
  authorization_hold: 'AUTH',
  capture: 'CAPTURE',
  void: 'VOID',
  expiry: 'EXPIRY',
  refund: 'REFUND',
  fee: 'FEE',
  acquirer_settlement: 'SETTLEMENT',
  merchant_payout: 'PAYOUT',
  reconciliation_adjustment: 'ADJUSTMENT',
};

function ledgerPort(ledger: LedgerFace): LedgerPort {
  const stamp = (occurredAt: Date) => ({ journalId: newId('jnl'), occurredAt });
  return {
    async record(transaction, payment, record, occurredAt) {
      let journals: readonly Journal[];
      switch (record.kind) {
        case 'authorization_hold':
          journals = [authorizationHold(payment, record, stamp(occurredAt))];
          break;
        case 'authorization_hold_and_capture':
          journals = authorizeAndCaptureJournals(payment, record, {
            hold: stamp(occurredAt),
            capture: stamp(occurredAt),
          });
          break;
        case 'capture':
          journals = [captureJournal(payment, record, stamp(occurredAt))];
          break;
        case 'void':
          journals = [voidJournal(payment, record, stamp(occurredAt))];
          break;
        case 'expiry':
          journals = [expiryJournal(payment, record, stamp(occurredAt))];
          break;
        case 'refund':
          journals = [refundJournal(payment, record, stamp(occurredAt))];
          break;
        default:
          return record satisfies never;
      }
      // Issued together: the journals' statements go out pipelined, in order on the transaction's connection.
      await Promise.all(journals.map((journal) => ledger.post(transaction, journal)));
    },
    async view(sql, merchantId, paymentId) {
      const [entries, balance] = await Promise.all([
        ledger.paymentEntries(sql, merchantId, paymentId),
        ledger.paymentBalance(sql, merchantId, paymentId),
      ]);
      return {
        balance: balance.net,
        hold: balance.authorizedHold,
        entries: entries.map((entry) => ({
          entryId: entry.entryId,
          type: journalTypes[entry.journalKind],
          account: entry.accountRole,
          amount: entry.amount,
          createdAt: entry.createdAt,
        })),
      };
    },
  };
}

function cardDataPort(vault: VaultFace): CardDataPort {
  return {
    async describe(merchantId, token) {
      const description = await vault.describe(merchantId, token);
      if (!description) return undefined;
      return description.card
        ? {
            kind: 'card',
            brand: description.card.brand,
            last4: description.card.last4,
            bin: description.card.bin,
            fingerprint: description.card.fingerprint,
          }
        : { kind: 'wallet', brand: description.wallet.brand, last4: description.wallet.last4 };
    },
    async describeMany(merchantId, tokens) {
      const descriptions = await vault.describeMany(merchantId, tokens);
      return new Map(
        descriptions.map((description) => {
          const card = description.card ?? description.wallet;
          return [description.token, { brand: card.brand, last4: card.last4 }] as const;
        }),
      );
    },
    tokensEndingIn: (merchantId, last4) => vault.tokensEndingIn(merchantId, last4),
    async credentialsFor(merchantId, token): Promise<ProcessorCredentials> {
      const data = await vault.detokenizeForProcessor({
        merchantId,
        token,
        purpose: 'authorization',
        actor: 'payments',
      });
      if (data.kind === 'card') {
        return {
          kind: 'card',
          number: data.number,
          expMonth: data.expMonth,
          expYear: data.expYear,
          ...(data.cvc !== undefined && { cvc: data.cvc }),
        };
      }
      return {
        kind: 'wallet',
        type: data.type === 'google_pay' ? 'google_pay' : 'apple_pay',
        networkToken: data.networkToken,
        cryptogram: data.cryptogram,
        expMonth: data.expMonth,
        expYear: data.expYear,
      };
    },
  };
}

function eventStager(events: EventsFace | undefined, context: PlatformContext): EventStager {
  if (events) return { stage: async (transaction, event) => void (await events.stage(transaction, event)) };
  context.log.warn('payments: no events module, so payment events are not staged');
  return { stage: async () => undefined };
}

function scheduleFrom(text: string): readonly number[] {
  try {
    return parseSchedule(text);
  } catch (error) {
    throw new ConfigError('PAYMENT_INQUIRY_SCHEDULE', error instanceof Error ? error.message : String(error));
  }
}

function settingsFrom(context: PlatformContext): PaymentsSettings {
  const { config } = context;
  return {
    keyLockTimeoutMs: config.idempotencyKeyLockTimeoutMs,
    inquiryScheduleMs: scheduleFrom(config.paymentInquirySchedule),
    authorizationValidityMs: config.authorizationValiditySeconds * 1000,
    keyRetentionMs: config.idempotencyKeyRetentionHours * 3_600_000,
    crashAfterProcessor: config.faultCrashAfterProcessor,
  };
}

/** The acquirer: ACQUIRER_URL, or the simulator started in this process on SIMULATOR_PORT. */
async function acquirerFor(
  context: PlatformContext,
): Promise<{ url: string; notifySecret: string | undefined; simulator?: RunningSimulator }> {
  const { config } = context;
  if (config.acquirerUrl)
    return { url: config.acquirerUrl.replace(/\/+$/, ''), notifySecret: config.acquirerNotifySecret };
  const notifySecret = config.acquirerNotifySecret ?? randomBytes(32).toString('base64');
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const payflowUrl =
    config.publicBaseUrl ?? (config.port === 0 ? undefined : `http://${host}:${config.port}`);
  const simulator = await startSimulator({
    port: config.simulatorPort,
    host: '127.0.0.1',
    notifySecret,
    logger: context.log.child({ component: 'acquirer-simulator' }),
    ...(payflowUrl !== undefined && {
      notifyUrl: `${payflowUrl.replace(/\/+$/, '')}/internal/acquirer/notifications`,
    }),
  });
  context.log.info({ url: simulator.url }, 'acquirer simulator listening');
  return { url: simulator.url, notifySecret, simulator };
}

function jobsFor(dependencies: PaymentsDependencies, intervalMs: number): Job[] {
  return [
    {
      name: 'payments.janitor',
      intervalMs,
      run: async (signal) => void (await runJanitor(dependencies, signal)),
    },
    {
      name: 'payments.expire-authorizations',
      intervalMs,
      run: async () => void (await expireAuthorizations(dependencies)),
    },
    {
      name: 'payments.owed-acquirer-operations',
      intervalMs,
      run: async (signal) => void (await sendDueOwedOperations(dependencies, undefined, signal)),
    },
    {
      name: 'payments.reap-idempotency-keys',
      intervalMs,
      run: async () => void (await reapIdempotencyKeys(dependencies)),
    },
  ];
}

export const paymentsModule: ModuleDefinition = {
  manifest: {
    name: 'payments',
    migrationsDirectory: fileURLToPath(new URL('./migrations', import.meta.url)),
  },
  async create(context, faces) {
    const ledger = faces['ledger'] as LedgerFace | undefined;
    const vault = faces['vault'] as VaultFace | undefined;
    if (!ledger || !vault) throw new Error('payments needs the ledger and vault modules before it');
    const acquirer = await acquirerFor(context);
    const dependencies: PaymentsDependencies = {
      sql: context.sql,
      clock: context.clock,
      ids: { newId: (prefix) => newId(prefix) },
      cardData: cardDataPort(vault),
      ledger: ledgerPort(ledger),
      events: eventStager(faces['events'] as EventsFace | undefined, context),
      processors: createProcessorFactory(
        new AcquirerHttpClient({ baseUrl: acquirer.url, timeoutMs: context.config.acquirerTimeoutMs }),
      ),
      risk: riskPort(faces['fraud'] as FraudFace | undefined),
      settings: settingsFrom(context),
      log: context.log.child({ module: 'payments' }),
    };
    const face: PaymentsFace = {
      acquirerUrl: acquirer.url,
      getPayment: (merchantId, paymentId) => getPayment(dependencies, merchantId, paymentId),
      receiptContact: (merchantId, paymentId, caller) =>
        findReceiptContact(caller ?? context.sql, merchantId, paymentId),
      runJanitor: () => runJanitor(dependencies),
      expireAuthorizations: () => expireAuthorizations(dependencies),
      sendOwedAcquirerOperations: () => sendDueOwedOperations(dependencies),
      listInReview: (merchantId, limit) => listInReview(dependencies, merchantId, limit),
      approveReview: (merchantId, paymentId) => approveReview(dependencies, merchantId, paymentId),
      rejectReview: (merchantId, paymentId) => rejectReview(dependencies, merchantId, paymentId),
    };
    (faces['fraud'] as FraudFace | undefined)?.attachReviews(face);
    return {
      name: 'payments',
      face,
      jobs: jobsFor(dependencies, context.config.paymentJobIntervalMs),
      registerRoutes(app) {
        const identity = faces['identity'] as IdentityFace | undefined;
        if (!identity) {
          context.log.warn('payments: no identity module, so the payments API is not served');
          return;
        }
        registerPaymentRoutes(app, {
          authenticator: identity.authenticator,
          dependencies,
          notifySecret: acquirer.notifySecret,
        });
      },
      async close() {
        await acquirer.simulator?.close();
      },
    };
  },
};

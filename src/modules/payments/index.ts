// The payments module's public face: authorize, capture, refund and void payments through the atomic
// phases (docs/adr/0009-idempotency-and-unknown-outcomes.md), with idempotency keys, a janitor for
// unknown acquirer outcomes, authorization expiry and the key reaper. The acquirer (ACQUIRER_URL, or
// the simulator the app starts) is reached through one processor strategy per method; the other
// modules' faces reach the application through the adapters in infra/module-ports.ts.
import { fileURLToPath } from 'node:url';
import type { Queryable } from '../../platform/db/client.ts';
import type { ModuleDefinition } from '../../platform/module.ts';
import { newId } from '../../platform/ids.ts';
import type { Job, PlatformContext } from '../../platform/module.ts';
import type { EventsFace } from '../events/index.ts';
import type { IdentityFace } from '../identity/index.ts';
import type { LedgerFace } from '../ledger/index.ts';
import type { VaultFace } from '../vault/index.ts';
import type { FraudFace, ReviewActions } from '../fraud/index.ts';
import { approveReview, listInReview, rejectReview } from './application/review-payment.ts';
import type { PaymentsDependencies } from './application/dependencies.ts';
import { expireAuthorizations, reapIdempotencyKeys } from './application/maintenance-jobs.ts';
import { sendDueOwedOperations } from './application/owed-operations.ts';
import { getPayment } from './application/read-payments.ts';
import { countUnresolved, keyOperations } from './application/resolve-unresolved.ts';
import { registerScrapedGauges } from '../../platform/metrics.ts';
import { runJanitor } from './application/operations.ts';
import { registerPaymentRoutes } from './http/routes.ts';
import { paymentsCommands } from './cli.ts';
import { paymentsSettings, settingsFrom } from './settings.ts';

export { paymentsSettings } from './settings.ts';
import { AcquirerHttpClient } from './infra/acquirer/acquirer-http.ts';
import { createProcessorFactory } from './infra/processors.ts';
import { cardDataPort, eventStager, ledgerPort, riskPort } from './infra/module-ports.ts';
import { findReceiptContact } from './infra/payment-repository.ts';

export { stateDiagramMermaid, paymentStatuses, type PaymentStatus } from './domain/payment-state.ts';
export { notificationSignatureValid } from './http/routes.ts';

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

/** Operations waiting for an operator (ADR 34), read at every scrape; alerted on in ops/prometheus/alerts.yml. */
function registerUnresolvedGauge(context: PlatformContext): void {
  if (!context.metrics) return;
  registerScrapedGauges(context.metrics, context.log, {
    source: 'payments-unresolved',
    sql: context.sql,
    read: countUnresolved,
    gauges: [
      {
        name: 'payflow_payments_awaiting_resolution',
        help: 'Operations whose acquirer outcome stayed unknown past the whole inquiry schedule, waiting for an operator (payflow payments resolve), by operation.',
        labelNames: ['operation'],
        value: (counts) =>
          keyOperations.map((operation) => ({ labels: { operation }, value: counts[operation] })),
      },
    ],
  });
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
    settings: paymentsSettings,
    migrationsDirectory: fileURLToPath(new URL('./migrations', import.meta.url)),
    commands: paymentsCommands,
  },
  async create(context, faces) {
    const ledger = faces['ledger'] as LedgerFace | undefined;
    const vault = faces['vault'] as VaultFace | undefined;
    if (!ledger || !vault) throw new Error('payments needs the ledger and vault modules before it');
    // The acquirer is the app's decision (ACQUIRER_URL, or the simulator it started): src/apps/acquirer.ts.
    const acquirer = context.acquirer;
    if (!acquirer) throw new Error('payments needs an acquirer: the platform starts one before the modules');
    const dependencies: PaymentsDependencies = {
      sql: context.sql,
      clock: context.clock,
      ids: { newId: (prefix) => newId(prefix) },
      cardData: cardDataPort(vault),
      ledger: ledgerPort(ledger),
      events: eventStager(faces['events'] as EventsFace | undefined, context),
      processors: createProcessorFactory(
        new AcquirerHttpClient({
          baseUrl: acquirer.url,
          timeoutMs: context.settings(paymentsSettings).acquirerTimeoutMs,
        }),
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
    registerUnresolvedGauge(context);
    return {
      name: 'payments',
      face,
      jobs: jobsFor(dependencies, context.settings(paymentsSettings).paymentJobIntervalMs),
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
    };
  },
};

// The payments module's environment variables (ADR 30), declared here and listed on its manifest
// (the app validates them at start; the README's configuration table shows them), and the settings
// the running module and its CLI alike derive from them.
import {
  boolean,
  ConfigError,
  declareSettings,
  integer,
  text,
  variable,
  type Settings,
} from '../../platform/settings.ts';
import type { PlatformContext } from '../../platform/module.ts';
import type { PaymentsSettings } from './application/dependencies.ts';
import { parseSchedule } from './domain/retry-schedule.ts';

export const paymentsSettings = declareSettings(
  {
    acquirerTimeoutMs: variable(
      'ACQUIRER_TIMEOUT_MS',
      '10000',
      'Deadline of one call to the acquirer; no answer by then is an unknown outcome (202, the janitor asks later).',
      integer(50, 600000),
    ),
    paymentInquirySchedule: variable(
      'PAYMENT_INQUIRY_SCHEDULE',
      '5m,1h,1d,1d,1d,1d,1d',
      'When the janitor asks the acquirer again about an unknown outcome (Kill Bill schedule; units ms, s, m, h, d). After the last step: manual review.',
      text,
    ),
    paymentJobIntervalMs: variable(
      'PAYMENT_JOB_INTERVAL_MS',
      '1000',
      'How often the payments janitor, expiry, owed acquirer operations (voids, captures) and key reaper jobs run.',
      integer(10, 3600000),
    ),
    idempotencyKeyLockTimeoutMs: variable(
      'IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS',
      '60000',
      'A key held longer than this by a silent request is taken over (its process died); must exceed `ACQUIRER_TIMEOUT_MS`.',
      integer(100, 3600000),
    ),
    authorizationValiditySeconds: variable(
      'AUTHORIZATION_VALIDITY_SECONDS',
      '604800',
      'How long an authorization holds funds (7 days) before the expiry job releases it.',
      integer(1, 31536000),
    ),
    faultCrashAfterProcessor: variable(
      'PAYFLOW_FAULT_CRASH_AFTER_PROCESSOR',
      'false',
      'Test only: the process kills itself between the acquirer answer and phase 2 (crash-recovery tests). Never set in production.',
      boolean,
    ),
  },
  (settings) =>
    // Otherwise a request still waiting for the acquirer could have its key taken over.
    settings.idempotencyKeyLockTimeoutMs <= settings.acquirerTimeoutMs
      ? [
          new ConfigError(
            'IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS',
            `must exceed ACQUIRER_TIMEOUT_MS (${settings.idempotencyKeyLockTimeoutMs} <= ${settings.acquirerTimeoutMs})`,
          ),
        ]
      : [],
);

export type PaymentsVariables = Settings<typeof paymentsSettings.variables>;

function scheduleFrom(text: string): readonly number[] {
  try {
    return parseSchedule(text);
  } catch (error) {
    throw new ConfigError('PAYMENT_INQUIRY_SCHEDULE', error instanceof Error ? error.message : String(error));
  }
}

export function settingsFrom(context: PlatformContext): PaymentsSettings {
  const settings = context.settings(paymentsSettings);
  return {
    keyLockTimeoutMs: settings.idempotencyKeyLockTimeoutMs,
    inquiryScheduleMs: scheduleFrom(settings.paymentInquirySchedule),
    authorizationValidityMs: settings.authorizationValiditySeconds * 1000,
    keyRetentionMs: context.config.idempotencyKeyRetentionHours * 3_600_000,
    crashAfterProcessor: settings.faultCrashAfterProcessor,
  };
}

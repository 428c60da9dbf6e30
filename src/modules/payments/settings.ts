// The payments settings from the validated configuration, for the running module and its CLI alike.
import { ConfigError } from '../../platform/config.ts';
import type { PlatformContext } from '../../platform/module.ts';
import type { PaymentsSettings } from './application/dependencies.ts';
import { parseSchedule } from './domain/retry-schedule.ts';

function scheduleFrom(text: string): readonly number[] {
  try {
    return parseSchedule(text);
  } catch (error) {
    throw new ConfigError('PAYMENT_INQUIRY_SCHEDULE', error instanceof Error ? error.message : String(error));
  }
}

export function settingsFrom(context: PlatformContext): PaymentsSettings {
  const { config } = context;
  return {
    keyLockTimeoutMs: config.idempotencyKeyLockTimeoutMs,
    inquiryScheduleMs: scheduleFrom(config.paymentInquirySchedule),
    authorizationValidityMs: config.authorizationValiditySeconds * 1000,
    keyRetentionMs: config.idempotencyKeyRetentionHours * 3_600_000,
    crashAfterProcessor: config.faultCrashAfterProcessor,
  };
}

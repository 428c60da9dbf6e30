// The notifications module's environment variables (ADR 30): declared here, listed on its manifest (so the
// app validates them at start and the README's configuration table shows them), read with
// `context.settings(notificationsSettings)`.
import {
  boolean,
  declareSettings,
  integer,
  optionalUrl,
  text,
  variable,
  type Settings,
} from '../../platform/settings.ts';

export const notificationsSettings = declareSettings({
  webhookAllowPrivate: variable(
    'WEBHOOK_ALLOW_PRIVATE',
    'false',
    'Allow webhook URLs that resolve to loopback, private, link-local or metadata addresses. Local development and tests only.',
    boolean,
  ),
  webhookTimeoutMs: variable(
    'WEBHOOK_TIMEOUT_MS',
    '10000',
    'Deadline of one webhook delivery attempt (connect, send, answer).',
    integer(50, 600000),
  ),
  webhookRetrySchedule: variable(
    'WEBHOOK_RETRY_SCHEDULE',
    '5s,5m,30m,2h,5h,10h,14h,20h,24h',
    'Delays before each retry of a failed webhook delivery (plus up to 10 % jitter; units ms, s, m, h, d). After the last one the endpoint is disabled.',
    text,
  ),
  webhookPollIntervalMs: variable(
    'WEBHOOK_POLL_INTERVAL_MS',
    '1000',
    'How often the webhook sender looks for due deliveries.',
    integer(10, 600000),
  ),
  webhookRotationGraceSeconds: variable(
    'WEBHOOK_ROTATION_GRACE_SECONDS',
    '86400',
    'After a secret rotation, how long the previous secret also signs deliveries.',
    integer(0, 2592000),
  ),
  smtpUrl: variable(
    'SMTP_URL',
    undefined,
    'SMTP server for email (receipts, endpoint-disabled notices), e.g. `smtp://user:pass@mail.example.com:587` or `smtps://…:465`. Unset: messages are stored and logged with the address masked, not sent.',
    optionalUrl('smtp:', 'smtps:'),
  ),
  emailFrom: variable(
    'EMAIL_FROM',
    'PayFlow <no-reply@payflow.local>',
    "Sender address of PayFlow's email.",
    text,
  ),
  smsProviderUrl: variable(
    'SMS_PROVIDER_URL',
    undefined,
    'Twilio-style SMS endpoint (form POST of `To`, `From`, `Body`; credentials as URL user and password, sent as HTTP Basic). Unset: SMS are stored and logged masked, not sent.',
    optionalUrl('http:', 'https:'),
  ),
  smsFrom: variable(
    'SMS_FROM',
    'PayFlow',
    'Sender of SMS messages (a number or an alphanumeric sender id).',
    text,
  ),
});

export type NotificationsVariables = Settings<typeof notificationsSettings.variables>;

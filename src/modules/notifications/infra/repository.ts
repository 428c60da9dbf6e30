// SQL of the notifications schema's webhook tables. Every merchant-facing read is scoped by merchant
// id. Signing secrets are written only sealed (ADR 16) and unsealed only where a caller needs them.
// Rows are snake_case here and nowhere else: every function answers in the domain's names
// (domain/webhooks.ts).
import type { Queryable } from '../../../platform/db/client.ts';
import type { SealBinding, SecretSealer } from '../../../platform/secrets.ts';
import type {
  DeliveryAttempt,
  DeliveryStatus,
  DueDelivery,
  WebhookDelivery,
  WebhookEndpoint,
} from '../domain/webhooks.ts';

interface EndpointRow {
  id: string;
  merchant_id: string;
  url: string;
  event_types: string[];
  previous_secret_expires_at: Date | null;
  enabled: boolean;
  disabled_reason: string | null;
  failure_count: number;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  merchant_id: string;
  event_id: string;
  event_type: string;
  payment_id: string | null;
  body: string;
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface AttemptRow {
  delivery_id: string;
  attempt_number: number;
  attempted_at: Date;
  webhook_timestamp: bigint;
  status_code: number | null;
  latency_ms: number;
  response_body: string | null;
  error: string | null;
  succeeded: boolean;
}

type SecretColumn = 'secret_sealed' | 'previous_secret_sealed';

function endpointOf(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    url: row.url,
    eventTypes: row.event_types,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    failureCount: row.failure_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function deliveryOf(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    merchantId: row.merchant_id,
    eventId: row.event_id,
    eventType: row.event_type,
    paymentId: row.payment_id,
    body: row.body,
    status: row.status,
    attemptCount: row.attempt_count,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function attemptOf(row: AttemptRow): DeliveryAttempt {
  return {
    deliveryId: row.delivery_id,
    attemptNumber: row.attempt_number,
    attemptedAt: row.attempted_at,
    webhookTimestamp: Number(row.webhook_timestamp),
    statusCode: row.status_code,
    latencyMs: row.latency_ms,
    responseBody: row.response_body,
    error: row.error,
    succeeded: row.succeeded,
  };
}

export const endpointsTable = 'notifications.webhook_endpoints';

/** Where an endpoint's sealed secret belongs: it opens only in this row and column. */
export function secretBinding(id: string, column: SecretColumn): SealBinding {
  return { table: endpointsTable, id, column };
}

/** The sealed column if set, else the clear one an older PayFlow wrote (sealed at the next start). */
function openSecret(
  sealer: SecretSealer,
  id: string,
  column: SecretColumn,
  sealed: string | null,
  clear: string | null,
): string | null {
  return sealed === null ? clear : sealer.unseal(sealed, secretBinding(id, column));
}

const endpointColumns = `id, merchant_id, url, event_types, previous_secret_expires_at, enabled,
  disabled_reason, failure_count, created_at, updated_at`;

export interface NewEndpoint {
  readonly id: string;
  readonly merchantId: string;
  readonly url: string;
  readonly eventTypes: readonly string[];
  /** Stored sealed. */
  readonly secret: string;
  readonly createdAt: Date;
}

export async function insertEndpoint(
  sql: Queryable,
  sealer: SecretSealer,
  endpoint: NewEndpoint,
): Promise<WebhookEndpoint> {
  const sealed = sealer.seal(endpoint.secret, secretBinding(endpoint.id, 'secret_sealed'));
  const [inserted] = await sql<EndpointRow[]>`
    insert into notifications.webhook_endpoints
      (id, merchant_id, url, event_types, secret_sealed, created_at, updated_at)
    values (${endpoint.id}, ${endpoint.merchantId}, ${endpoint.url}, ${sql.array([...endpoint.eventTypes])},
            ${sealed}, ${endpoint.createdAt}, ${endpoint.createdAt})
    returning ${sql.unsafe(endpointColumns)}`;
  return endpointOf(inserted!);
}

/** The endpoint's current signing secret, unsealed; undefined if there is no such endpoint. */
export async function currentSecret(
  sql: Queryable,
  sealer: SecretSealer,
  merchantId: string,
  id: string,
): Promise<string | undefined> {
  const [row] = await sql<{ secret: string | null; secret_sealed: string | null }[]>`
    select secret, secret_sealed from notifications.webhook_endpoints
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null`;
  return row
    ? (openSecret(sealer, id, 'secret_sealed', row.secret_sealed, row.secret) ?? undefined)
    : undefined;
}

export async function findEndpoint(
  sql: Queryable,
  merchantId: string,
  id: string,
): Promise<WebhookEndpoint | undefined> {
  const [row] = await sql<EndpointRow[]>`
    select ${sql.unsafe(endpointColumns)} from notifications.webhook_endpoints
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null`;
  return row && endpointOf(row);
}

export async function listEndpoints(sql: Queryable, merchantId: string): Promise<WebhookEndpoint[]> {
  const rows = await sql<EndpointRow[]>`
    select ${sql.unsafe(endpointColumns)} from notifications.webhook_endpoints
    where merchant_id = ${merchantId} and deleted_at is null order by id`;
  return rows.map(endpointOf);
}

/** Soft-deletes the endpoint and gives up its pending deliveries; false if there was none. */
export async function deleteEndpoint(
  sql: Queryable,
  merchantId: string,
  id: string,
  now: Date,
): Promise<boolean> {
  const deleted = await sql`
    update notifications.webhook_endpoints set deleted_at = ${now}, updated_at = ${now}
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null`;
  if (deleted.count === 0) return false;
  await failPendingDeliveries(sql, id, now);
  return true;
}

/** The endpoint's pending deliveries fail (except `exceptId`): nothing more is sent for them. */
export async function failPendingDeliveries(
  sql: Queryable,
  endpointId: string,
  now: Date,
  exceptId?: string,
): Promise<void> {
  await sql`
    update notifications.webhook_deliveries set status = 'failed', next_attempt_at = null, updated_at = ${now}
    where endpoint_id = ${endpointId} and status = 'pending'
      and (${exceptId ?? null}::text is null or id <> ${exceptId ?? null}::text)`;
}

/**
 * The current secret becomes the previous one (signing until `graceUntil`) and `secret` the current
 * one. Each is sealed for its own column, so the old one is unsealed and sealed again under the row
 * lock. Undefined if there is no such endpoint.
 */
export async function rotateSecret(
  sql: Queryable,
  sealer: SecretSealer,
  merchantId: string,
  id: string,
  secret: string,
  graceUntil: Date,
  now: Date,
): Promise<WebhookEndpoint | undefined> {
  const [current] = await sql<{ secret: string | null; secret_sealed: string | null }[]>`
    select secret, secret_sealed from notifications.webhook_endpoints
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null
    for update`;
  if (!current) return undefined;
  const previous = openSecret(sealer, id, 'secret_sealed', current.secret_sealed, current.secret)!;
  const [row] = await sql<EndpointRow[]>`
    update notifications.webhook_endpoints
    set previous_secret = null,
        previous_secret_sealed = ${sealer.seal(previous, secretBinding(id, 'previous_secret_sealed'))},
        previous_secret_expires_at = ${graceUntil},
        secret = null, secret_sealed = ${sealer.seal(secret, secretBinding(id, 'secret_sealed'))},
        updated_at = ${now}
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null
    returning ${sql.unsafe(endpointColumns)}`;
  return row && endpointOf(row);
}

/**
 * Enables the endpoint again and clears its failure state; deliveries that failed stay failed (the
 * merchant retries those it wants). Undefined if there is no such endpoint.
 */
export async function enableEndpoint(
  sql: Queryable,
  merchantId: string,
  id: string,
  now: Date,
): Promise<WebhookEndpoint | undefined> {
  const [row] = await sql<EndpointRow[]>`
    update notifications.webhook_endpoints
    set enabled = true, disabled_reason = null, failure_count = 0, updated_at = ${now}
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null
    returning ${sql.unsafe(endpointColumns)}`;
  return row && endpointOf(row);
}

/**
 * Disables the endpoint at the merchant's request: nothing is sent to it until it is enabled again
 * (its pending deliveries wait). Undefined if there is no such endpoint.
 */
export async function disableEndpoint(
  sql: Queryable,
  merchantId: string,
  id: string,
  now: Date,
): Promise<WebhookEndpoint | undefined> {
  const [row] = await sql<EndpointRow[]>`
    update notifications.webhook_endpoints
    set enabled = false, disabled_reason = 'disabled by the merchant', updated_at = ${now}
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null
    returning ${sql.unsafe(endpointColumns)}`;
  return row && endpointOf(row);
}

/** Disables an enabled endpoint whose deliveries kept failing; false if it was not enabled. */
export async function disableFailingEndpoint(
  sql: Queryable,
  endpointId: string,
  reason: string,
  now: Date,
): Promise<boolean> {
  const disabled = await sql`
    update notifications.webhook_endpoints
    set enabled = false, updated_at = ${now}, disabled_reason = ${reason}
    where id = ${endpointId} and enabled`;
  return disabled.count > 0;
}

/** Enabled endpoints of the merchant that want the event type. */
export async function subscribedEndpoints(
  sql: Queryable,
  merchantId: string,
  type: string,
): Promise<WebhookEndpoint[]> {
  const rows = await sql<EndpointRow[]>`
    select ${sql.unsafe(endpointColumns)} from notifications.webhook_endpoints
    where merchant_id = ${merchantId} and deleted_at is null and enabled and ${type} = any(event_types)
    order by id`;
  return rows.map(endpointOf);
}

export type NewDelivery = Pick<
  WebhookDelivery,
  'id' | 'endpointId' | 'merchantId' | 'eventId' | 'eventType' | 'paymentId' | 'body' | 'createdAt'
>;

/** One delivery per (endpoint, event): a redelivered event adds nothing. */
export async function insertDelivery(sql: Queryable, delivery: NewDelivery): Promise<void> {
  await sql`
    insert into notifications.webhook_deliveries
      (id, endpoint_id, merchant_id, event_id, event_type, payment_id, body, status, next_attempt_at,
       created_at, updated_at)
    values (${delivery.id}, ${delivery.endpointId}, ${delivery.merchantId}, ${delivery.eventId},
            ${delivery.eventType}, ${delivery.paymentId}, ${delivery.body}, 'pending', ${delivery.createdAt},
            ${delivery.createdAt}, ${delivery.createdAt})
    on conflict (endpoint_id, event_id, merchant_id) do nothing`;
}

/**
 * Claims up to `limit` due deliveries by pushing their next attempt past the lease, so no other
 * sender takes them meanwhile; a sender that dies leaves them due again when the lease ends.
 */
export async function claimDueDeliveries(
  sql: Queryable,
  sealer: SecretSealer,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<DueDelivery[]> {
  const rows = await sql<
    (DeliveryRow & {
      url: string;
      secret: string | null;
      secret_sealed: string | null;
      previous_secret: string | null;
      previous_secret_sealed: string | null;
      previous_secret_expires_at: Date | null;
    })[]
  >`
    with due as (
      select delivery.id
      from notifications.webhook_deliveries delivery
      join notifications.webhook_endpoints endpoint on endpoint.id = delivery.endpoint_id
      where delivery.status = 'pending' and delivery.next_attempt_at <= ${now}
        and endpoint.enabled and endpoint.deleted_at is null
      order by delivery.next_attempt_at
      limit ${limit}
      for update of delivery skip locked
    )
    update notifications.webhook_deliveries delivery
    set next_attempt_at = ${leaseUntil}
    from due, notifications.webhook_endpoints endpoint
    where delivery.id = due.id and endpoint.id = delivery.endpoint_id
    returning delivery.*, endpoint.url, endpoint.secret, endpoint.secret_sealed, endpoint.previous_secret,
              endpoint.previous_secret_sealed, endpoint.previous_secret_expires_at`;
  return rows.map((row) => ({
    ...deliveryOf(row),
    url: row.url,
    secret: openSecret(sealer, row.endpoint_id, 'secret_sealed', row.secret_sealed, row.secret)!,
    previousSecret: openSecret(
      sealer,
      row.endpoint_id,
      'previous_secret_sealed',
      row.previous_secret_sealed,
      row.previous_secret,
    ),
    previousSecretExpiresAt: row.previous_secret_expires_at,
  }));
}

export async function insertAttempt(
  sql: Queryable,
  merchantId: string,
  attempt: DeliveryAttempt,
): Promise<void> {
  await sql`
    insert into notifications.webhook_attempts
      (delivery_id, merchant_id, attempt_number, attempted_at, webhook_timestamp, status_code, latency_ms,
       response_body, error, succeeded)
    values (${attempt.deliveryId}, ${merchantId}, ${attempt.attemptNumber}, ${attempt.attemptedAt},
            ${BigInt(attempt.webhookTimestamp)}, ${attempt.statusCode}, ${attempt.latencyMs},
            ${attempt.responseBody}, ${attempt.error}, ${attempt.succeeded})`;
}

/** The attempt succeeded: the delivery is done and its endpoint's failure count starts again. */
export async function markDeliverySucceeded(
  sql: Queryable,
  delivery: Pick<WebhookDelivery, 'id' | 'endpointId'>,
  attemptCount: number,
  now: Date,
): Promise<void> {
  await sql`
    update notifications.webhook_deliveries
    set status = 'succeeded', attempt_count = ${attemptCount}, next_attempt_at = null, updated_at = ${now}
    where id = ${delivery.id}`;
  await sql`
    update notifications.webhook_endpoints set failure_count = 0 where id = ${delivery.endpointId}`;
}

export async function countEndpointFailure(sql: Queryable, endpointId: string): Promise<void> {
  await sql`
    update notifications.webhook_endpoints set failure_count = failure_count + 1
    where id = ${endpointId}`;
}

/** The next attempt after a failed one; a delete meanwhile gave the delivery up: it stays failed. */
export async function scheduleDeliveryRetry(
  sql: Queryable,
  id: string,
  attemptCount: number,
  nextAttemptAt: Date,
  now: Date,
): Promise<void> {
  await sql`
    update notifications.webhook_deliveries
    set attempt_count = ${attemptCount}, updated_at = ${now},
        next_attempt_at = case when status = 'pending' then ${nextAttemptAt}::timestamptz end
    where id = ${id}`;
}

/** The last retry failed: the delivery fails for good (a manual retry may still send it). */
export async function failDelivery(
  sql: Queryable,
  id: string,
  attemptCount: number,
  now: Date,
): Promise<void> {
  await sql`
    update notifications.webhook_deliveries
    set status = 'failed', attempt_count = ${attemptCount}, next_attempt_at = null, updated_at = ${now}
    where id = ${id}`;
}

export interface NewNotice {
  readonly id: string;
  readonly merchantId: string;
  readonly kind: 'webhook_endpoint_disabled';
  readonly subject: string;
  readonly body: string;
  readonly createdAt: Date;
}

/** A notice for the merchant (shown in the dashboard). */
export async function insertNotice(sql: Queryable, notice: NewNotice): Promise<void> {
  await sql`
    insert into notifications.notices (id, merchant_id, kind, subject, body, created_at)
    values (${notice.id}, ${notice.merchantId}, ${notice.kind}, ${notice.subject}, ${notice.body},
            ${notice.createdAt})`;
}

export async function findDelivery(
  sql: Queryable,
  merchantId: string,
  id: string,
): Promise<WebhookDelivery | undefined> {
  const [row] = await sql<DeliveryRow[]>`
    select * from notifications.webhook_deliveries where id = ${id} and merchant_id = ${merchantId}`;
  return row && deliveryOf(row);
}

export async function listDeliveries(
  sql: Queryable,
  endpointId: string,
  limit: number,
): Promise<WebhookDelivery[]> {
  const rows = await sql<DeliveryRow[]>`
    select * from notifications.webhook_deliveries where endpoint_id = ${endpointId}
    order by created_at desc, id desc limit ${limit}`;
  return rows.map(deliveryOf);
}

/** The merchant's latest deliveries of events about one payment, newest first. */
export async function listPaymentDeliveries(
  sql: Queryable,
  merchantId: string,
  paymentId: string,
  limit: number,
): Promise<WebhookDelivery[]> {
  const rows = await sql<DeliveryRow[]>`
    select * from notifications.webhook_deliveries
    where merchant_id = ${merchantId} and payment_id = ${paymentId}
    order by created_at desc, id desc limit ${limit}`;
  return rows.map(deliveryOf);
}

export async function attemptsOf(sql: Queryable, deliveryIds: readonly string[]): Promise<DeliveryAttempt[]> {
  if (deliveryIds.length === 0) return [];
  const rows = await sql<AttemptRow[]>`
    select * from notifications.webhook_attempts where delivery_id = any(${sql.array([...deliveryIds])})
    order by delivery_id, attempt_number`;
  return rows.map(attemptOf);
}

/** Makes the delivery pending and due now (a manual retry; the same webhook-id). */
export async function scheduleDeliveryNow(sql: Queryable, id: string, now: Date): Promise<WebhookDelivery> {
  const [row] = await sql<DeliveryRow[]>`
    update notifications.webhook_deliveries
    set status = 'pending', next_attempt_at = ${now}, updated_at = ${now}
    where id = ${id} returning *`;
  if (!row) throw new Error(`delivery ${id} vanished`);
  return deliveryOf(row);
}

/** The newest sealed current secret (to prove at start that the secrets key opens it). */
export async function newestSealedSecret(
  sql: Queryable,
): Promise<{ endpointId: string; sealed: string } | undefined> {
  const [row] = await sql<{ id: string; secret_sealed: string }[]>`
    select id, secret_sealed from notifications.webhook_endpoints
    where secret_sealed is not null order by updated_at desc, id desc limit 1`;
  return row && { endpointId: row.id, sealed: row.secret_sealed };
}

/** Endpoints (deleted ones too) with a secret an older PayFlow stored in clear, locked. */
export async function lockClearSecrets(
  sql: Queryable,
): Promise<{ endpointId: string; secret: string | null; previousSecret: string | null }[]> {
  const rows = await sql<{ id: string; secret: string | null; previous_secret: string | null }[]>`
    select id, secret, previous_secret from notifications.webhook_endpoints
    where secret is not null or previous_secret is not null
    order by id for update`;
  return rows.map((row) => ({ endpointId: row.id, secret: row.secret, previousSecret: row.previous_secret }));
}

/** Stores the sealed forms (null: that one was not in clear) and clears the clear columns. */
export async function replaceClearSecrets(
  sql: Queryable,
  endpointId: string,
  secretSealed: string | null,
  previousSecretSealed: string | null,
): Promise<void> {
  await sql`
    update notifications.webhook_endpoints
    set secret_sealed = coalesce(${secretSealed}::text, secret_sealed), secret = null,
        previous_secret_sealed = coalesce(${previousSecretSealed}::text, previous_secret_sealed),
        previous_secret = null
    where id = ${endpointId}`;
}

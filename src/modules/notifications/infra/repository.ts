// SQL of the notifications schema. Every merchant-facing read is scoped by merchant id. Signing
// secrets are written only sealed (ADR 16) and unsealed only where a caller needs them.
import type { Queryable } from '../../../platform/db/client.ts';
import type { SealBinding, SecretSealer } from '../../../platform/secrets.ts';

/** An endpoint without its secrets (see currentSecret and claimDueDeliveries for those). */
export interface EndpointRow {
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

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  merchant_id: string;
  event_id: string;
  event_type: string;
  /** The payment the event is about (its payload's paymentId), if any. */
  payment_id: string | null;
  body: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempt_count: number;
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface AttemptRow {
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

export const endpointsTable = 'notifications.webhook_endpoints';

/** Where an endpoint's sealed secret belongs: it opens only in this row and column. */
export function secretBinding(id: string, column: 'secret_sealed' | 'previous_secret_sealed'): SealBinding {
  return { table: endpointsTable, id, column };
}

/** The sealed column if set, else the clear one an older PayFlow wrote (sealed at the next start). */
function openSecret(
  sealer: SecretSealer,
  id: string,
  column: 'secret_sealed' | 'previous_secret_sealed',
  sealed: string | null,
  clear: string | null,
): string | null {
  return sealed === null ? clear : sealer.unseal(sealed, secretBinding(id, column));
}

const endpointColumns = `id, merchant_id, url, event_types, previous_secret_expires_at, enabled,
  disabled_reason, failure_count, created_at, updated_at`;

export async function insertEndpoint(
  sql: Queryable,
  sealer: SecretSealer,
  row: Omit<
    EndpointRow,
    'previous_secret_expires_at' | 'enabled' | 'disabled_reason' | 'failure_count' | 'updated_at'
  > & { secret: string },
): Promise<EndpointRow> {
  const sealed = sealer.seal(row.secret, secretBinding(row.id, 'secret_sealed'));
  const [inserted] = await sql<EndpointRow[]>`
    insert into notifications.webhook_endpoints
      (id, merchant_id, url, event_types, secret_sealed, created_at, updated_at)
    values (${row.id}, ${row.merchant_id}, ${row.url}, ${sql.array(row.event_types)}, ${sealed},
            ${row.created_at}, ${row.created_at})
    returning ${sql.unsafe(endpointColumns)}`;
  return inserted!;
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
): Promise<EndpointRow | undefined> {
  const [row] = await sql<EndpointRow[]>`
    select ${sql.unsafe(endpointColumns)} from notifications.webhook_endpoints
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null`;
  return row;
}

export async function listEndpoints(sql: Queryable, merchantId: string): Promise<EndpointRow[]> {
  return sql<EndpointRow[]>`
    select ${sql.unsafe(endpointColumns)} from notifications.webhook_endpoints
    where merchant_id = ${merchantId} and deleted_at is null order by id`;
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
  await sql`
    update notifications.webhook_deliveries set status = 'failed', next_attempt_at = null, updated_at = ${now}
    where endpoint_id = ${id} and status = 'pending'`;
  return true;
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
): Promise<EndpointRow | undefined> {
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
  return row;
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
): Promise<EndpointRow | undefined> {
  const [row] = await sql<EndpointRow[]>`
    update notifications.webhook_endpoints
    set enabled = true, disabled_reason = null, failure_count = 0, updated_at = ${now}
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null
    returning ${sql.unsafe(endpointColumns)}`;
  return row;
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
): Promise<EndpointRow | undefined> {
  const [row] = await sql<EndpointRow[]>`
    update notifications.webhook_endpoints
    set enabled = false, disabled_reason = 'disabled by the merchant', updated_at = ${now}
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null
    returning ${sql.unsafe(endpointColumns)}`;
  return row;
}

/** Enabled endpoints of the merchant that want the event type. */
export async function subscribedEndpoints(
  sql: Queryable,
  merchantId: string,
  type: string,
): Promise<EndpointRow[]> {
  return sql<EndpointRow[]>`
    select ${sql.unsafe(endpointColumns)} from notifications.webhook_endpoints
    where merchant_id = ${merchantId} and deleted_at is null and enabled and ${type} = any(event_types)
    order by id`;
}

/** One delivery per (endpoint, event): a redelivered event adds nothing. */
export async function insertDelivery(
  sql: Queryable,
  row: Pick<
    DeliveryRow,
    'id' | 'endpoint_id' | 'merchant_id' | 'event_id' | 'event_type' | 'payment_id' | 'body' | 'created_at'
  >,
): Promise<void> {
  await sql`
    insert into notifications.webhook_deliveries
      (id, endpoint_id, merchant_id, event_id, event_type, payment_id, body, status, next_attempt_at,
       created_at, updated_at)
    values (${row.id}, ${row.endpoint_id}, ${row.merchant_id}, ${row.event_id}, ${row.event_type},
            ${row.payment_id}, ${row.body}, 'pending', ${row.created_at}, ${row.created_at}, ${row.created_at})
    on conflict (endpoint_id, event_id) do nothing`;
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
): Promise<
  (DeliveryRow & {
    url: string;
    secret: string;
    previous_secret: string | null;
    previous_secret_expires_at: Date | null;
  })[]
> {
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
  return rows.map(({ secret_sealed, previous_secret_sealed, ...row }) => ({
    ...row,
    secret: openSecret(sealer, row.endpoint_id, 'secret_sealed', secret_sealed, row.secret)!,
    previous_secret: openSecret(
      sealer,
      row.endpoint_id,
      'previous_secret_sealed',
      previous_secret_sealed,
      row.previous_secret,
    ),
  }));
}

export async function insertAttempt(sql: Queryable, row: AttemptRow): Promise<void> {
  await sql`
    insert into notifications.webhook_attempts
      (delivery_id, attempt_number, attempted_at, webhook_timestamp, status_code, latency_ms,
       response_body, error, succeeded)
    values (${row.delivery_id}, ${row.attempt_number}, ${row.attempted_at}, ${row.webhook_timestamp},
            ${row.status_code}, ${row.latency_ms}, ${row.response_body}, ${row.error}, ${row.succeeded})`;
}

export async function findDelivery(
  sql: Queryable,
  merchantId: string,
  id: string,
): Promise<DeliveryRow | undefined> {
  const [row] = await sql<DeliveryRow[]>`
    select * from notifications.webhook_deliveries where id = ${id} and merchant_id = ${merchantId}`;
  return row;
}

export async function listDeliveries(
  sql: Queryable,
  endpointId: string,
  limit: number,
): Promise<DeliveryRow[]> {
  return sql<DeliveryRow[]>`
    select * from notifications.webhook_deliveries where endpoint_id = ${endpointId}
    order by created_at desc, id desc limit ${limit}`;
}

/** The merchant's latest deliveries of events about one payment, newest first. */
export async function listPaymentDeliveries(
  sql: Queryable,
  merchantId: string,
  paymentId: string,
  limit: number,
): Promise<DeliveryRow[]> {
  return sql<DeliveryRow[]>`
    select * from notifications.webhook_deliveries
    where merchant_id = ${merchantId} and payment_id = ${paymentId}
    order by created_at desc, id desc limit ${limit}`;
}

export async function attemptsOf(sql: Queryable, deliveryIds: readonly string[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  return sql<AttemptRow[]>`
    select * from notifications.webhook_attempts where delivery_id = any(${sql.array([...deliveryIds])})
    order by delivery_id, attempt_number`;
}

/** Makes the delivery pending and due now (a manual retry; the same webhook-id). */
export async function scheduleDeliveryNow(sql: Queryable, id: string, now: Date): Promise<DeliveryRow> {
  const [row] = await sql<DeliveryRow[]>`
    update notifications.webhook_deliveries
    set status = 'pending', next_attempt_at = ${now}, updated_at = ${now}
    where id = ${id} returning *`;
  if (!row) throw new Error(`delivery ${id} vanished`);
  return row;
}

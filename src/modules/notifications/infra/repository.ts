// SQL of the notifications schema. Every merchant-facing read is scoped by merchant id.
import type { Queryable } from '../../../platform/db/client.ts';

export interface EndpointRow {
  id: string;
  merchant_id: string;
  url: string;
  event_types: string[];
  secret: string;
  previous_secret: string | null;
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

export async function insertEndpoint(
  sql: Queryable,
  row: Omit<
    EndpointRow,
    | 'previous_secret'
    | 'previous_secret_expires_at'
    | 'enabled'
    | 'disabled_reason'
    | 'failure_count'
    | 'updated_at'
  >,
): Promise<EndpointRow> {
  const [inserted] = await sql<EndpointRow[]>`
    insert into notifications.webhook_endpoints
      (id, merchant_id, url, event_types, secret, created_at, updated_at)
    values (${row.id}, ${row.merchant_id}, ${row.url}, ${sql.array(row.event_types)}, ${row.secret},
            ${row.created_at}, ${row.created_at})
    returning *`;
  return inserted!;
}

export async function findEndpoint(
  sql: Queryable,
  merchantId: string,
  id: string,
): Promise<EndpointRow | undefined> {
  const [row] = await sql<EndpointRow[]>`
    select * from notifications.webhook_endpoints
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null`;
  return row;
}

export async function listEndpoints(sql: Queryable, merchantId: string): Promise<EndpointRow[]> {
  return sql<EndpointRow[]>`
    select * from notifications.webhook_endpoints
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

export async function rotateSecret(
  sql: Queryable,
  merchantId: string,
  id: string,
  secret: string,
  graceUntil: Date,
  now: Date,
): Promise<EndpointRow | undefined> {
  const [row] = await sql<EndpointRow[]>`
    update notifications.webhook_endpoints
    set previous_secret = secret, previous_secret_expires_at = ${graceUntil}, secret = ${secret},
        updated_at = ${now}
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null
    returning *`;
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
    returning *`;
  return row;
}

/** Enabled endpoints of the merchant that want the event type. */
export async function subscribedEndpoints(
  sql: Queryable,
  merchantId: string,
  type: string,
): Promise<EndpointRow[]> {
  return sql<EndpointRow[]>`
    select * from notifications.webhook_endpoints
    where merchant_id = ${merchantId} and deleted_at is null and enabled and ${type} = any(event_types)
    order by id`;
}

/** One delivery per (endpoint, event): a redelivered event adds nothing. */
export async function insertDelivery(
  sql: Queryable,
  row: Pick<
    DeliveryRow,
    'id' | 'endpoint_id' | 'merchant_id' | 'event_id' | 'event_type' | 'body' | 'created_at'
  >,
): Promise<void> {
  await sql`
    insert into notifications.webhook_deliveries
      (id, endpoint_id, merchant_id, event_id, event_type, body, status, next_attempt_at, created_at, updated_at)
    values (${row.id}, ${row.endpoint_id}, ${row.merchant_id}, ${row.event_id}, ${row.event_type}, ${row.body},
            'pending', ${row.created_at}, ${row.created_at}, ${row.created_at})
    on conflict (endpoint_id, event_id) do nothing`;
}

/**
 * Claims up to `limit` due deliveries by pushing their next attempt past the lease, so no other
 * sender takes them meanwhile; a sender that dies leaves them due again when the lease ends.
 */
export async function claimDueDeliveries(
  sql: Queryable,
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
  return sql`
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
    returning delivery.*, endpoint.url, endpoint.secret, endpoint.previous_secret,
              endpoint.previous_secret_expires_at`;
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

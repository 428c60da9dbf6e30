// A table of webhook deliveries (an endpoint's, or a payment's): event, status, the last attempt's
// response code or error, attempts, and Resend for users whose role may write webhooks. Resend asks
// the API to send the same delivery again now (same webhook-id); the table then shows it pending
// until the sender has tried it.
import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useState } from 'react';
import { api, messageFor, type DashboardSession, type WebhookDelivery } from './api.ts';

function lastResponse(delivery: WebhookDelivery): string {
  const last = delivery.attempts[delivery.attempts.length - 1];
  if (!last) return 'not tried yet';
  if (last.statusCode !== null) return String(last.statusCode);
  return last.error ?? 'no answer';
}

export function DeliveriesTable(props: {
  readonly session: DashboardSession;
  readonly deliveries: readonly WebhookDelivery[];
  /** The query to refresh after a resend. */
  readonly queryKey: QueryKey;
  readonly caption: string;
  /** Deliveries to several endpoints (a payment's): show which endpoint each went to. */
  readonly showEndpoint?: boolean;
}) {
  const { session, deliveries } = props;
  const queryClient = useQueryClient();
  const canWrite = session.user.scopes.includes('webhooks:write');
  const [notice, setNotice] = useState<string | undefined>();
  const resend = useMutation({
    mutationFn: (id: string) => api.resendDelivery(id, session.csrfToken),
    onSuccess: async (delivery) => {
      setNotice(`Delivery ${delivery.id} will be sent again now.`);
      await queryClient.invalidateQueries({ queryKey: props.queryKey });
    },
  });
  if (deliveries.length === 0) return <p>No deliveries yet.</p>;
  return (
    <>
      {notice && (
        <p role="status" className="notice" data-testid="delivery-notice">
          {notice}
        </p>
      )}
      {resend.error && (
        <p role="alert" className="problem">
          {messageFor(resend.error)}
        </p>
      )}
      <div className="table-scroll">
        <table className="narrow" data-testid="deliveries">
          <caption className="visually-hidden">{props.caption}</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              {props.showEndpoint && <th scope="col">Endpoint</th>}
              <th scope="col">Status</th>
              <th scope="col">Response</th>
              <th scope="col" className="number">
                Attempts
              </th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Resend</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((delivery) => (
              <tr key={delivery.id} data-delivery-id={delivery.id} data-status={delivery.status}>
                <td>
                  {delivery.eventType}
                  <br />
                  <span className="mono">{delivery.id}</span>
                </td>
                {props.showEndpoint && <td className="mono">{delivery.endpointId}</td>}
                <td>{delivery.status}</td>
                <td className="mono" data-testid="delivery-response">
                  {lastResponse(delivery)}
                </td>
                <td className="number">{delivery.attemptCount}</td>
                <td>{new Date(delivery.createdAt).toLocaleString()}</td>
                <td className="row-actions">
                  {canWrite && (
                    <button
                      type="button"
                      className="secondary small"
                      disabled={resend.isPending}
                      onClick={() => resend.mutate(delivery.id)}
                    >
                      Resend<span className="visually-hidden"> {delivery.id}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

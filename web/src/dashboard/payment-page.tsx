// One payment: its amounts, its timeline, its ledger entries and the fraud screening's decision, with
// the actions its state and the user's role allow (each behind a confirmation, see payment-actions).
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { formatAmount } from '../shared/money.ts';
import { api, messageFor, type DashboardSession, type PaymentDetail, type TimelineEntry } from './api.ts';
import { Link } from './navigation.tsx';
import { availableActions, PaymentActionDialog, type PaymentAction } from './payment-actions.tsx';
import { CardDescription } from './card-description.tsx';
import { DeliveriesTable } from './webhook-deliveries.tsx';

const actionLabels: Record<PaymentAction, string> = { capture: 'Capture', refund: 'Refund', void: 'Void' };

export function PaymentPage(props: { readonly session: DashboardSession; readonly paymentId: string }) {
  const { session, paymentId } = props;
  const payment = useQuery({ queryKey: ['payment', paymentId], queryFn: () => api.payment(paymentId) });
  const [action, setAction] = useState<PaymentAction | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  return (
    <section aria-labelledby="payment-heading">
      <p>
        <Link to="/dashboard/payments">← All payments</Link>
      </p>
      <h1 id="payment-heading">Payment</h1>
      {notice && (
        <p role="status" className="notice" data-testid="notice">
          {notice}
        </p>
      )}
      {payment.isPending && <p aria-busy="true">Loading the payment…</p>}
      {payment.error && (
        <p role="alert" className="problem">
          {messageFor(payment.error)}
        </p>
      )}
      {payment.data && (
        <>
          <Summary payment={payment.data} />
          <div className="actions">
            {availableActions(payment.data, session).map((name) => (
              <button
                key={name}
                type="button"
                className={name === 'capture' ? 'small' : 'secondary small'}
                onClick={() => {
                  setNotice(undefined);
                  setAction(name);
                }}
              >
                {actionLabels[name]}
              </button>
            ))}
          </div>
          <Amounts payment={payment.data} />
          <Risk payment={payment.data} />
          <Timeline paymentId={paymentId} currency={payment.data.currency} />
          <Ledger payment={payment.data} />
          <Deliveries session={session} paymentId={paymentId} />
          {action && (
            <PaymentActionDialog
              key={action}
              action={action}
              payment={payment.data}
              session={session}
              onClose={(message) => {
                setAction(undefined);
                if (message) setNotice(message);
              }}
            />
          )}
        </>
      )}
    </section>
  );
}

function Summary({ payment }: { readonly payment: PaymentDetail }) {
  return (
    <dl className="facts">
      <dt>Id</dt>
      <dd className="mono" data-testid="payment-id">
        {payment.paymentId}
      </dd>
      <dt>Status</dt>
      <dd data-testid="payment-status">
        {payment.status}
        {payment.pendingOperation && ` (${payment.pendingOperation} in progress)`}
      </dd>
      <dt>Amount</dt>
      <dd data-testid="payment-amount">{formatAmount(payment.amount, payment.currency)}</dd>
      <dt>Method</dt>
      <dd>
        <CardDescription payment={payment} />
      </dd>
      {payment.declineCode && (
        <>
          <dt>Decline</dt>
          <dd>{payment.declineCode}</dd>
        </>
      )}
      <dt>Created</dt>
      <dd>{new Date(payment.createdAt).toLocaleString()}</dd>
    </dl>
  );
}

function Amounts({ payment }: { readonly payment: PaymentDetail }) {
  const rows: [string, number][] = [
    ['Authorized', payment.authorizedAmount ?? 0],
    ['Captured', payment.capturedAmount ?? 0],
    ['Refunded', payment.refundedAmount ?? 0],
  ];
  return (
    <section aria-labelledby="amounts-heading">
      <h2 id="amounts-heading">Amounts</h2>
      <table className="narrow" data-testid="amounts">
        <tbody>
          {rows.map(([name, minor]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td className="number">{formatAmount(minor, payment.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Risk({ payment }: { readonly payment: PaymentDetail }) {
  const risk = payment.risk;
  return (
    <section aria-labelledby="risk-heading" data-testid="risk">
      <h2 id="risk-heading">Risk</h2>
      {!risk ? (
        <p>This payment was not screened.</p>
      ) : (
        <>
          <p>
            Decision <strong>{risk.decision}</strong>, score {risk.score} ({risk.riskLevel}), rules version{' '}
            {risk.rulesetVersion}
            {payment.review && <>; review {payment.review}</>}.
          </p>
          {risk.reasons.length === 0 ? (
            <p>No rule matched.</p>
          ) : (
            <div className="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Rule matched</th>
                    <th scope="col">Action</th>
                    <th scope="col">What it saw</th>
                  </tr>
                </thead>
                <tbody>
                  {risk.reasons.map((reason) => (
                    <tr key={reason.rule}>
                      <td className="mono">{reason.rule}</td>
                      <td>{reason.action}</td>
                      <td className="mono">
                        {Object.entries(reason.values)
                          .map(([name, value]) => `${name} = ${JSON.stringify(value)}`)
                          .join(', ')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}

const timelineWords: Record<string, string> = {
  created: 'Created',
  screened: 'Fraud screening',
  authorized: 'Authorized',
  captured: 'Captured',
  voided: 'Voided',
  expired: 'Authorization expired',
  failed: 'Failed',
  operation_pending: 'Waiting for the acquirer',
  refund_requested: 'Refund requested',
  refunded: 'Refunded',
  refund_failed: 'Refund failed',
};

function describe(entry: TimelineEntry, currency: string): string {
  const parts = [timelineWords[entry.type] ?? entry.type];
  if (entry.amount !== undefined) parts.push(formatAmount(entry.amount, currency));
  if (entry.detail) parts.push(`(${entry.detail})`);
  return parts.join(' ');
}

function Timeline({ paymentId, currency }: { readonly paymentId: string; readonly currency: string }) {
  const timeline = useQuery({ queryKey: ['timeline', paymentId], queryFn: () => api.timeline(paymentId) });
  return (
    <section aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Timeline</h2>
      {timeline.error && (
        <p role="alert" className="problem">
          {messageFor(timeline.error)}
        </p>
      )}
      {timeline.data && (
        <ol className="timeline" data-testid="timeline">
          {timeline.data.data.map((entry, index) => (
            <li key={`${entry.type}-${entry.refundId ?? ''}-${index}`}>
              <time dateTime={entry.at}>{new Date(entry.at).toLocaleString()}</time>{' '}
              <span>{describe(entry, currency)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** The webhook deliveries of this payment's events, refreshed while the page is open. */
function Deliveries(props: { readonly session: DashboardSession; readonly paymentId: string }) {
  const queryKey = ['payment-deliveries', props.paymentId];
  const deliveries = useQuery({
    queryKey,
    queryFn: () => api.paymentDeliveries(props.paymentId),
    refetchInterval: 3000,
  });
  return (
    <section aria-labelledby="deliveries-heading">
      <h2 id="deliveries-heading">Webhook deliveries</h2>
      {deliveries.error && (
        <p role="alert" className="problem">
          {messageFor(deliveries.error)}
        </p>
      )}
      {deliveries.data && (
        <DeliveriesTable
          session={props.session}
          deliveries={deliveries.data.data}
          queryKey={queryKey}
          caption="Webhook deliveries of this payment's events"
          showEndpoint
        />
      )}
    </section>
  );
}

function Ledger({ payment }: { readonly payment: PaymentDetail }) {
  return (
    <section aria-labelledby="ledger-heading">
      <h2 id="ledger-heading">Ledger entries</h2>
      <div className="table-scroll">
        <table data-testid="ledger">
          <thead>
            <tr>
              <th scope="col">Entry</th>
              <th scope="col">Type</th>
              <th scope="col">Account</th>
              <th scope="col" className="number">
                Amount
              </th>
              <th scope="col">At</th>
            </tr>
          </thead>
          <tbody>
            {payment.ledgerEntries.map((entry, index) => (
              <tr key={`${entry.entryId}-${entry.account}-${index}`}>
                <td className="mono">{entry.entryId}</td>
                <td>{entry.type}</td>
                <td className="mono">{entry.account}</td>
                <td className="number">{formatAmount(entry.amount, payment.currency)}</td>
                <td>{new Date(entry.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {payment.ledgerEntries.length === 0 && <p>No ledger entries: no money moved.</p>}
    </section>
  );
}

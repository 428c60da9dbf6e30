// Payments, newest first, 25 to a page (cursor paging), with a refund action. A refund asks for
// confirmation showing the amount in the currency's format; the Idempotency-Key is made when the
// confirmation opens, so a double click on "Refund" sends one refund.
import { useState } from 'react';
import { QueryClient, useQuery, useQueryClient } from '@tanstack/react-query';
import { formatAmount } from '../shared/money.ts';
import { api, messageFor, type DashboardSession, type Payment } from './api.ts';
import { CardDescription } from './card-description.tsx';
import { Link } from './navigation.tsx';
import { RefundDialog } from './payment-actions.tsx';

const refundableStatuses = new Set(['CAPTURED', 'PARTIALLY_REFUNDED']);

export function PaymentsPage({ session }: { readonly session: DashboardSession }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const payments = useQuery({ queryKey: ['payments', cursor], queryFn: () => api.payments(cursor) });
  const [refunding, setRefunding] = useState<Payment | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const canRefund = session.user.scopes.includes('refunds:write');
  const [filter, setFilter] = useState('');
  const queryClient = useQueryClient();

  return (
    <section aria-labelledby="payments-heading">
      <h1 id="payments-heading">Payments</h1>
      {notice && (
        <p role="status" className="notice" data-testid="notice">
          {notice}
        </p>
      )}
      {payments.error && (
        <p role="alert" className="problem">
          {messageFor(payments.error)}
        </p>
      )}
      <label htmlFor="payments-filter">Filter this page by payment id or last 4</label>
      <input
        id="payments-filter"
        className="filter"
        value={filter}
        onChange={(event) => setFilter(event.target.value)}
      />
      {payments.isPending && <p aria-busy="true">Loading payments…</p>}
      {payments.data && (
        <>
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Payment</th>
                  <th scope="col">Card</th>
                  <th scope="col" className="number">
                    Amount
                  </th>
                  <th scope="col" className="number">
                    Refunded
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {payments.data.data
                  .filter((payment) => matches(payment, filter, queryClient))
                  .map((payment) => (
                    <tr key={payment.paymentId} data-payment-id={payment.paymentId}>
                      <td className="mono">
                        <Link to={`/dashboard/payments/${payment.paymentId}`}>{payment.paymentId}</Link>
                      </td>
                      <td>
                        <CardDescription payment={payment} />
                      </td>
                      <td className="number">{formatAmount(payment.amount, payment.currency)}</td>
                      <td className="number">
                        {formatAmount(payment.refundedAmount ?? 0, payment.currency)}
                      </td>
                      <td>{payment.status}</td>
                      <td>{new Date(payment.createdAt).toLocaleString()}</td>
                      <td>
                        {canRefund && refundableStatuses.has(payment.status) && (
                          <button
                            type="button"
                            className="secondary small"
                            onClick={() => {
                              setNotice(undefined);
                              setRefunding(payment);
                            }}
                          >
                            Refund<span className="visually-hidden"> {payment.paymentId}</span>
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
          {payments.data.data.length === 0 && <p>No payments yet.</p>}
          <div className="pager">
            <button
              type="button"
              className="secondary small"
              disabled={cursors.length === 1}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Newer
            </button>
            <button
              type="button"
              className="secondary small"
              disabled={!payments.data.nextCursor}
              onClick={() => setCursors([...cursors, payments.data.nextCursor ?? undefined])}
            >
              Older
            </button>
          </div>
        </>
      )}
      {refunding && (
        <RefundDialog
          key={refunding.paymentId}
          payment={refunding}
          session={session}
          onClose={(message) => {
            setRefunding(undefined);
            if (message) setNotice(message);
          }}
        />
      )}
    </section>
  );
}

/** The filter matches the payment id, or the last 4 of its card once known (the token cache). */
function matches(payment: Payment, filter: string, queryClient: QueryClient): boolean {
  const wanted = filter.trim().toLowerCase();
  if (wanted === '') return true;
  if (payment.paymentId.toLowerCase().includes(wanted)) return true;
  const description = queryClient.getQueryData<{ card?: { last4: string }; wallet?: { last4: string } }>([
    'token',
    payment.paymentMethod?.token,
  ]);
  const last4 = description?.card?.last4 ?? description?.wallet?.last4;
  return last4 !== undefined && last4.includes(wanted);
}

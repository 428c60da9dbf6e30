// Payments, newest first, 25 to a page (cursor paging), searched on the server (status, card last 4,
// reference, email, currency and amount, dates) with the search kept in the address, exported as CSV
// with the same query, and a refund action per row. A refund asks for confirmation showing the
// amount in the currency's format; the Idempotency-Key is made when the confirmation opens.
import { useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { currencyExponents } from '../../../src/platform/currencies.ts';
import { formatAmount } from '../shared/money.ts';
import { api, messageFor, type DashboardSession, type Payment } from './api.ts';
import { Link, navigate, useLocation } from './navigation.tsx';
import { RefundDialog } from './payment-actions.tsx';
import { formOf, queryOf, type SearchForm } from './payment-search.ts';

const refundableStatuses = new Set(['CAPTURED', 'PARTIALLY_REFUNDED']);
const statuses = [
  'PENDING',
  'REQUIRES_ACTION',
  'AUTHORIZED',
  'CAPTURED',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
  'VOIDED',
  'FAILED',
  'EXPIRED',
];
const currencies = Object.keys(currencyExponents).sort();

export function PaymentsPage({ session }: { readonly session: DashboardSession }) {
  const { search } = useLocation();
  const [notice, setNotice] = useState<string | undefined>();
  return (
    <section aria-labelledby="payments-heading">
      <h1 id="payments-heading">Payments</h1>
      {notice && (
        <p role="status" className="notice" data-testid="notice">
          {notice}
        </p>
      )}
      <SearchPanel key={`search:${search}`} search={search} />
      <p>
        <a
          href={`/v1/payments.csv${search ? `?${search}` : ''}`}
          download="payments.csv"
          data-testid="export-csv"
        >
          Export these payments as CSV
        </a>
      </p>
      <PaymentsTable key={`table:${search}`} search={search} session={session} onNotice={setNotice} />
    </section>
  );
}

function SearchPanel({ search }: { readonly search: string }) {
  const [form, setForm] = useState<SearchForm>(() => formOf(search));
  const [problem, setProblem] = useState<string | undefined>();
  const field = (name: keyof SearchForm) => ({
    id: `search-${name}`,
    value: form[name],
    onChange: (event: { target: { value: string } }) => setForm({ ...form, [name]: event.target.value }),
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    const result = queryOf(form);
    if (!result.ok) return setProblem(result.problem);
    setProblem(undefined);
    navigate(`/dashboard/payments${result.query ? `?${result.query}` : ''}`);
  }
  return (
    <form className="search" role="search" aria-label="Search payments" onSubmit={submit}>
      <div>
        <label htmlFor="search-status">Status</label>
        <select {...field('status')}>
          <option value="">Any</option>
          {statuses.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="search-last4">Card last 4</label>
        <input {...field('last4')} inputMode="numeric" maxLength={4} />
      </div>
      <div>
        <label htmlFor="search-reference">Reference or payment id</label>
        <input {...field('reference')} />
      </div>
      <div>
        <label htmlFor="search-email">Receipt email</label>
        <input {...field('email')} type="email" />
      </div>
      <div>
        <label htmlFor="search-currency">Currency</label>
        <select {...field('currency')}>
          <option value="">Any</option>
          {currencies.map((currency) => (
            <option key={currency} value={currency}>
              {currency}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="search-amountFrom">Amount from</label>
        <input {...field('amountFrom')} inputMode="decimal" />
      </div>
      <div>
        <label htmlFor="search-amountTo">Amount to</label>
        <input {...field('amountTo')} inputMode="decimal" />
      </div>
      <div>
        <label htmlFor="search-createdFrom">Created from</label>
        <input {...field('createdFrom')} type="date" />
      </div>
      <div>
        <label htmlFor="search-createdTo">Created to</label>
        <input {...field('createdTo')} type="date" />
      </div>
      <div className="search-actions">
        <button type="submit" className="small">
          Search
        </button>
        <Link to="/dashboard/payments">Clear</Link>
      </div>
      {problem && (
        <p role="alert" className="problem search-problem">
          {problem}
        </p>
      )}
    </form>
  );
}

function PaymentsTable(props: {
  readonly search: string;
  readonly session: DashboardSession;
  readonly onNotice: (message: string | undefined) => void;
}) {
  const { search, session, onNotice } = props;
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const payments = useQuery({
    queryKey: ['payments', search, cursor],
    queryFn: () => api.payments(search, cursor),
  });
  const [refunding, setRefunding] = useState<Payment | undefined>();
  const canRefund = session.user.scopes.includes('refunds:write');
  return (
    <>
      {payments.error && (
        <p role="alert" className="problem">
          {messageFor(payments.error)}
        </p>
      )}
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
                {payments.data.data.map((payment) => (
                  <tr key={payment.paymentId} data-payment-id={payment.paymentId}>
                    <td className="mono">
                      <Link to={`/dashboard/payments/${payment.paymentId}`}>{payment.paymentId}</Link>
                    </td>
                    <td>
                      {payment.card
                        ? `${payment.card.brand} •••• ${payment.card.last4}`
                        : (payment.paymentMethod?.type ?? '')}
                    </td>
                    <td className="number">{formatAmount(payment.amount, payment.currency)}</td>
                    <td className="number">{formatAmount(payment.refundedAmount ?? 0, payment.currency)}</td>
                    <td>{payment.status}</td>
                    <td>{new Date(payment.createdAt).toLocaleString()}</td>
                    <td>
                      {canRefund && refundableStatuses.has(payment.status) && (
                        <button
                          type="button"
                          className="secondary small"
                          onClick={() => {
                            onNotice(undefined);
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
          {payments.data.data.length === 0 && (
            <p>{search ? 'No payment matches this search.' : 'No payments yet.'}</p>
          )}
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
            if (message) onNotice(message);
          }}
        />
      )}
    </>
  );
}

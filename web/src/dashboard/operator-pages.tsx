// The operator view (ADR 32): PayFlow's own staff, signed in as a dashboard user with the role
// `operator`, see every merchant (create, disable), every API client (disable, enable), the events
// consumers gave up on (replay), the batch jobs with their progress, and the open reconciliation
// exceptions (resolve with a reason), and the payments whose acquirer outcome stayed unknown past the
// whole inquiry schedule (resolve: ask the acquirer once more, ADR 34). Each page calls the admin API (/v1/admin/…) with the session;
// the API decides: a merchant's session gets 403 there, and these pages then show that refusal.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { formatAmount } from '../shared/money.ts';
import { api, messageFor, type DashboardSession } from './api.ts';
import { SecretPanel, type ShownSecret } from './developers-page.tsx';

export const operatorSections = [
  { to: '/dashboard/operator/merchants', name: 'Merchants' },
  { to: '/dashboard/operator/clients', name: 'API clients' },
  { to: '/dashboard/operator/events', name: 'Dead letters' },
  { to: '/dashboard/operator/unresolved', name: 'Unresolved payments' },
  { to: '/dashboard/operator/jobs', name: 'Jobs' },
  { to: '/dashboard/operator/reconciliation', name: 'Reconciliation' },
] as const;

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '');

function Problem({ error }: { readonly error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="problem">
      {messageFor(error)}
    </p>
  );
}

export function OperatorPage({
  session,
  path,
}: {
  readonly session: DashboardSession;
  readonly path: string;
}) {
  switch (path) {
    case '/dashboard/operator/clients':
      return <OperatorClients session={session} />;
    case '/dashboard/operator/events':
      return <DeadLetters session={session} />;
    case '/dashboard/operator/unresolved':
      return <UnresolvedPayments session={session} />;
    case '/dashboard/operator/jobs':
      return <Jobs />;
    case '/dashboard/operator/reconciliation':
      return <ReconciliationExceptions session={session} />;
    default:
      return <Merchants session={session} />;
  }
}

function Merchants({ session }: { readonly session: DashboardSession }) {
  const queryClient = useQueryClient();
  const merchants = useQuery({ queryKey: ['operator', 'merchants'], queryFn: api.merchants });
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [secret, setSecret] = useState<ShownSecret | undefined>();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['operator'] });
  const create = useMutation({
    mutationFn: () =>
      api.createMerchant(
        { name: name.trim(), ...(email.trim() && { email: email.trim() }) },
        session.csrfToken,
      ),
    onSuccess: async (created) => {
      setName('');
      setEmail('');
      setSecret({
        title: `New merchant ${created.merchantId}: its API client`,
        id: created.clientId,
        secret: created.clientSecret,
      });
      await refresh();
    },
  });
  const disable = useMutation({
    mutationFn: (merchantId: string) => api.disableMerchant(merchantId, session.csrfToken),
    onSuccess: refresh,
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate();
  }
  return (
    <section aria-labelledby="merchants-heading">
      <h1 id="merchants-heading">Merchants</h1>
      {secret && <SecretPanel secret={secret} onDone={() => setSecret(undefined)} />}
      <Problem error={merchants.error ?? create.error ?? disable.error} />
      <form className="inline-form" onSubmit={submit}>
        <label htmlFor="merchant-name">Name of the new merchant</label>
        <input
          id="merchant-name"
          required
          maxLength={200}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <label htmlFor="merchant-email">Contact email (optional)</label>
        <input
          id="merchant-email"
          type="email"
          maxLength={320}
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <button type="submit" disabled={create.isPending}>
          Create merchant
        </button>
      </form>
      {merchants.data && (
        <div className="table-scroll">
          <table data-testid="merchants">
            <caption className="visually-hidden">Merchants</caption>
            <thead>
              <tr>
                <th scope="col">Merchant</th>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Active clients</th>
                <th scope="col">Dashboard users</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {merchants.data.data.map((merchant) => (
                <tr
                  key={merchant.merchantId}
                  data-merchant-id={merchant.merchantId}
                  data-status={merchant.status}
                >
                  <td className="mono">{merchant.merchantId}</td>
                  <td>{merchant.name}</td>
                  <td>{merchant.status}</td>
                  <td>{merchant.activeClients}</td>
                  <td>{merchant.dashboardUsers}</td>
                  <td>{when(merchant.createdAt)}</td>
                  <td className="row-actions">
                    {merchant.status === 'active' && (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={disable.isPending}
                        onClick={() => {
                          if (
                            window.confirm(
                              `Disable ${merchant.name}? Its API clients and sessions stop working.`,
                            )
                          )
                            disable.mutate(merchant.merchantId);
                        }}
                      >
                        Disable<span className="visually-hidden"> {merchant.name}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function OperatorClients({ session }: { readonly session: DashboardSession }) {
  const queryClient = useQueryClient();
  const clients = useQuery({ queryKey: ['operator', 'clients'], queryFn: api.adminClients });
  const change = useMutation({
    mutationFn: (input: { clientId: string; verb: 'disable' | 'enable' }) =>
      api.changeAdminClient(input.clientId, input.verb, session.csrfToken),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['operator'] }),
  });
  return (
    <section aria-labelledby="operator-clients-heading">
      <h1 id="operator-clients-heading">API clients</h1>
      <Problem error={clients.error ?? change.error} />
      {clients.data && (
        <div className="table-scroll">
          <table data-testid="operator-clients">
            <caption className="visually-hidden">API clients of every merchant</caption>
            <thead>
              <tr>
                <th scope="col">Client id</th>
                <th scope="col">Role</th>
                <th scope="col">Merchant</th>
                <th scope="col">Description</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {clients.data.data.map((client) => {
                const active = client.status === 'active';
                return (
                  <tr key={client.clientId} data-client-id={client.clientId} data-status={client.status}>
                    <td className="mono">{client.clientId}</td>
                    <td>{client.role}</td>
                    <td className="mono">{client.merchantId ?? ''}</td>
                    <td>{client.description ?? ''}</td>
                    <td>
                      {client.status}
                      {client.disabledReason ? ` (${client.disabledReason})` : ''}
                    </td>
                    <td>{when(client.createdAt)}</td>
                    <td className="row-actions">
                      <button
                        type="button"
                        className="secondary small"
                        disabled={change.isPending}
                        onClick={() =>
                          change.mutate({ clientId: client.clientId, verb: active ? 'disable' : 'enable' })
                        }
                      >
                        {active ? 'Disable' : 'Enable'}
                        <span className="visually-hidden"> {client.clientId}</span>
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DeadLetters({ session }: { readonly session: DashboardSession }) {
  const queryClient = useQueryClient();
  const letters = useQuery({ queryKey: ['operator', 'dead-letters'], queryFn: api.deadLetters });
  const [notice, setNotice] = useState<string | undefined>();
  const replay = useMutation({
    mutationFn: (id: string) => api.replayDeadLetter(id, session.csrfToken),
    onSuccess: async (answer) => {
      setNotice(`Replayed ${answer.id}: its consumer group gets the event again.`);
      await queryClient.invalidateQueries({ queryKey: ['operator', 'dead-letters'] });
    },
  });
  return (
    <section aria-labelledby="dead-letters-heading">
      <h1 id="dead-letters-heading">Dead-lettered events</h1>
      <p className="hint">
        Events a consumer group gave up on after its retries. Replay one once its cause is fixed; the group
        handles each event once.
      </p>
      {notice && (
        <p role="status" className="notice" data-testid="replay-notice">
          {notice}
        </p>
      )}
      <Problem error={letters.error ?? replay.error} />
      {letters.data && letters.data.data.length === 0 && <p>No dead-lettered event.</p>}
      {letters.data && letters.data.data.length > 0 && (
        <div className="table-scroll">
          <table data-testid="dead-letters">
            <caption className="visually-hidden">Dead-lettered events</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Type</th>
                <th scope="col">Consumer group</th>
                <th scope="col">Attempts</th>
                <th scope="col">Error</th>
                <th scope="col">Dead since</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {letters.data.data.map((letter) => (
                <tr key={letter.id} data-dead-letter-id={letter.id} data-event-id={letter.eventId}>
                  <td className="mono">{letter.eventId}</td>
                  <td>{letter.type}</td>
                  <td>{letter.consumerGroup}</td>
                  <td>{letter.attempts}</td>
                  <td>{letter.error}</td>
                  <td>{when(letter.deadAt)}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="secondary small"
                      disabled={replay.isPending}
                      onClick={() => replay.mutate(letter.id)}
                    >
                      Replay<span className="visually-hidden"> {letter.eventId}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function UnresolvedPayments({ session }: { readonly session: DashboardSession }) {
  const queryClient = useQueryClient();
  const unresolved = useQuery({ queryKey: ['operator', 'unresolved'], queryFn: api.unresolvedPayments });
  const [notice, setNotice] = useState<string | undefined>();
  const resolve = useMutation({
    mutationFn: (id: string) => api.resolvePayment(id, session.csrfToken),
    onSuccess: async (answer) => {
      setNotice(
        `Resolved the ${answer.operation} of ${answer.resourceId}: the payment is ${answer.payment.status}; a retry of its key answers ${answer.answer.status}.`,
      );
      await queryClient.invalidateQueries({ queryKey: ['operator', 'unresolved'] });
    },
  });
  return (
    <section aria-labelledby="unresolved-heading">
      <h1 id="unresolved-heading">Unresolved payments</h1>
      <p className="hint">
        Operations the acquirer never answered, even after every scheduled inquiry. Resolve asks the acquirer
        once more: its answer is applied (an approval it holds makes the payment AUTHORIZED); no record there
        fails it.
      </p>
      {notice && (
        <p role="status" className="notice" data-testid="resolve-notice">
          {notice}
        </p>
      )}
      <Problem error={unresolved.error ?? resolve.error} />
      {unresolved.data && unresolved.data.data.length === 0 && <p>No payment waits for a resolution.</p>}
      {unresolved.data && unresolved.data.data.length > 0 && (
        <div className="table-scroll">
          <table data-testid="unresolved-payments">
            <caption className="visually-hidden">Unresolved payments</caption>
            <thead>
              <tr>
                <th scope="col">Payment</th>
                <th scope="col">Merchant</th>
                <th scope="col">Operation</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
                <th scope="col">Inquiries</th>
                <th scope="col">Since</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {unresolved.data.data.map((item) => (
                <tr key={item.resourceId} data-resource-id={item.resourceId}>
                  <td className="mono">{item.paymentId}</td>
                  <td className="mono">{item.merchantId}</td>
                  <td>{item.operation}</td>
                  <td>{formatAmount(item.amount, item.currency)}</td>
                  <td>{item.paymentStatus}</td>
                  <td>{item.inquiries}</td>
                  <td>{when(item.createdAt)}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="secondary small"
                      disabled={resolve.isPending}
                      onClick={() => resolve.mutate(item.resourceId)}
                    >
                      Resolve<span className="visually-hidden"> {item.resourceId}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Jobs() {
  const jobs = useQuery({ queryKey: ['operator', 'jobs'], queryFn: api.jobs, refetchInterval: 5_000 });
  return (
    <section aria-labelledby="jobs-heading">
      <h1 id="jobs-heading">Jobs</h1>
      <p className="hint">
        Settlement runs and reconciliation imports, newest first; refreshed every 5 seconds.
      </p>
      <Problem error={jobs.error} />
      {jobs.data && jobs.data.data.length === 0 && <p>No job has run yet.</p>}
      {jobs.data && jobs.data.data.length > 0 && (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Batch jobs (scrolls sideways)">
          <table data-testid="jobs">
            <caption className="visually-hidden">Batch jobs</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Parameters</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Attempts</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.data.map((job) => (
                <tr key={job.id} data-job-id={job.id} data-status={job.status}>
                  <td>{job.job}</td>
                  <td className="mono">{job.parameters}</td>
                  <td>
                    {job.status}
                    {job.lastError ? `: ${job.lastError}` : ''}
                  </td>
                  <td>
                    {job.chunksDone} chunks, {job.itemsDone} items
                    {job.skipCount ? `, ${job.skipCount} skipped` : ''}
                  </td>
                  <td>{job.attempts}</td>
                  <td>{when(job.startedAt)}</td>
                  <td>{when(job.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ReconciliationExceptions({ session }: { readonly session: DashboardSession }) {
  const queryClient = useQueryClient();
  const exceptions = useQuery({
    queryKey: ['operator', 'exceptions'],
    queryFn: api.reconciliationExceptions,
  });
  const [reasons, setReasons] = useState<Readonly<Record<string, string>>>({});
  const resolve = useMutation({
    mutationFn: (id: string) => api.resolveException(id, (reasons[id] ?? '').trim(), session.csrfToken),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['operator', 'exceptions'] }),
  });
  const amount = (value: string | null, currency: string | null) =>
    value === null || currency === null ? '' : formatAmount(BigInt(value), currency);
  return (
    <section aria-labelledby="exceptions-heading">
      <h1 id="exceptions-heading">Reconciliation exceptions</h1>
      <Problem error={exceptions.error ?? resolve.error} />
      {exceptions.data && exceptions.data.data.length === 0 && <p>No open exception.</p>}
      {exceptions.data && exceptions.data.data.length > 0 && (
        <div className="table-scroll">
          <table data-testid="exceptions">
            <caption className="visually-hidden">Open reconciliation exceptions</caption>
            <thead>
              <tr>
                <th scope="col">Outcome</th>
                <th scope="col">Reference</th>
                <th scope="col">Expected</th>
                <th scope="col">Reported</th>
                <th scope="col">Detail</th>
                <th scope="col">Resolve</th>
              </tr>
            </thead>
            <tbody>
              {exceptions.data.data.map((item) => (
                <tr key={item.id} data-exception-id={item.id}>
                  <td>{item.outcome}</td>
                  <td className="mono">{item.reference ?? ''}</td>
                  <td>{amount(item.expectedAmount, item.currency)}</td>
                  <td>{amount(item.reportedAmount, item.currency)}</td>
                  <td>{item.detail ?? ''}</td>
                  <td>
                    <form
                      className="inline-form"
                      onSubmit={(event) => {
                        event.preventDefault();
                        resolve.mutate(item.id);
                      }}
                    >
                      <label htmlFor={`reason-${item.id}`} className="visually-hidden">
                        Reason for resolving {item.id}
                      </label>
                      <input
                        id={`reason-${item.id}`}
                        required
                        maxLength={500}
                        placeholder="Reason"
                        value={reasons[item.id] ?? ''}
                        onChange={(event) => setReasons({ ...reasons, [item.id]: event.target.value })}
                      />
                      <button type="submit" className="small" disabled={resolve.isPending}>
                        Resolve<span className="visually-hidden"> {item.id}</span>
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

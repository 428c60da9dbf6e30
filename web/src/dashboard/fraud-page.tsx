// Fraud: the review queue (approve lets the payment be captured, reject voids its authorization)
// and the merchant's rules (add, edit, enable or disable). A rule is checked by the API on save; a
// bad one comes back as 400 rule_invalid with the position of the bad token, shown under the field
// with that token marked. The built-in rules that run before the merchant's are listed read-only.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { formatAmount } from '../shared/money.ts';
import { api, ApiProblem, messageFor, type DashboardSession, type FraudRule } from './api.ts';
import { Link } from './navigation.tsx';

export function FraudPage({ session }: { readonly session: DashboardSession }) {
  const canWrite = session.user.scopes.includes('payments:write');
  return (
    <section aria-labelledby="fraud-heading">
      <h1 id="fraud-heading">Fraud</h1>
      <ReviewQueue session={session} canWrite={canWrite} />
      <Rules session={session} canWrite={canWrite} />
    </section>
  );
}

function ReviewQueue({
  session,
  canWrite,
}: {
  readonly session: DashboardSession;
  readonly canWrite: boolean;
}) {
  const queryClient = useQueryClient();
  const reviews = useQuery({ queryKey: ['reviews'], queryFn: api.reviews });
  const [notice, setNotice] = useState<string | undefined>();
  const decide = useMutation({
    mutationFn: (input: { paymentId: string; decision: 'approve' | 'reject' }) =>
      api.decideReview(input.paymentId, input.decision, session.csrfToken),
    onSuccess: async (_answer, input) => {
      setNotice(`${input.decision === 'approve' ? 'Approved' : 'Rejected'} ${input.paymentId}.`);
      await queryClient.invalidateQueries({ queryKey: ['reviews'] });
      await queryClient.invalidateQueries({ queryKey: ['payment', input.paymentId] });
    },
  });
  return (
    <section aria-labelledby="reviews-heading">
      <h2 id="reviews-heading">Review queue</h2>
      {notice && (
        <p role="status" className="notice" data-testid="review-notice">
          {notice}
        </p>
      )}
      {(reviews.error ?? decide.error) && (
        <p role="alert" className="problem">
          {messageFor(reviews.error ?? decide.error)}
        </p>
      )}
      {reviews.data && reviews.data.data.length === 0 && <p>No payment is waiting for a review.</p>}
      {reviews.data && reviews.data.data.length > 0 && (
        <div className="table-scroll">
          <table data-testid="reviews">
            <thead>
              <tr>
                <th scope="col">Payment</th>
                <th scope="col" className="number">
                  Amount
                </th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Decision</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {reviews.data.data.map((payment) => (
                <tr key={payment.paymentId} data-payment-id={payment.paymentId}>
                  <td className="mono">
                    <Link to={`/dashboard/payments/${payment.paymentId}`}>{payment.paymentId}</Link>
                  </td>
                  <td className="number">{formatAmount(payment.amount, payment.currency)}</td>
                  <td>{new Date(payment.createdAt).toLocaleString()}</td>
                  <td className="row-actions">
                    {canWrite && (
                      <>
                        <button
                          type="button"
                          className="small"
                          disabled={decide.isPending}
                          onClick={() => decide.mutate({ paymentId: payment.paymentId, decision: 'approve' })}
                        >
                          Approve<span className="visually-hidden"> {payment.paymentId}</span>
                        </button>
                        <button
                          type="button"
                          className="secondary small"
                          disabled={decide.isPending}
                          onClick={() => decide.mutate({ paymentId: payment.paymentId, decision: 'reject' })}
                        >
                          Reject<span className="visually-hidden"> {payment.paymentId}</span>
                        </button>
                      </>
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

function Rules({ session, canWrite }: { readonly session: DashboardSession; readonly canWrite: boolean }) {
  const rules = useQuery({ queryKey: ['fraud-rules'], queryFn: api.fraudRules });
  return (
    <section aria-labelledby="rules-heading">
      <h2 id="rules-heading">Rules</h2>
      {rules.error && (
        <p role="alert" className="problem">
          {messageFor(rules.error)}
        </p>
      )}
      {rules.data && (
        <>
          {rules.data.data.length === 0 && <p>No rules of your own yet.</p>}
          <ul className="rules" data-testid="rules">
            {rules.data.data.map((rule) => (
              <RuleItem
                key={`${rule.id}-${rule.version}`}
                rule={rule}
                session={session}
                canWrite={canWrite}
              />
            ))}
          </ul>
          {canWrite && <RuleForm session={session} />}
          <details>
            <summary>Built-in rules (run before yours)</summary>
            <ul className="rules">
              {rules.data.builtin.map((rule) => (
                <li key={rule.id}>
                  <code>{rule.rule}</code> <span className="mono">{rule.id}</span>
                </li>
              ))}
            </ul>
          </details>
        </>
      )}
    </section>
  );
}

function RuleItem(props: {
  readonly rule: FraudRule;
  readonly session: DashboardSession;
  readonly canWrite: boolean;
}) {
  const { rule, session, canWrite } = props;
  const [editing, setEditing] = useState(false);
  const queryClient = useQueryClient();
  const toggle = useMutation({
    mutationFn: () => api.changeFraudRule(rule.id, { enabled: !rule.enabled }, session.csrfToken),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['fraud-rules'] }),
  });
  if (editing) return <RuleForm session={session} rule={rule} onDone={() => setEditing(false)} />;
  return (
    <li data-rule-id={rule.id}>
      <code>{rule.rule}</code>
      <span className="rule-meta">
        {rule.enabled ? 'enabled' : 'disabled'} · version {rule.version}
        {rule.description && ` · ${rule.description}`}
      </span>
      {canWrite && (
        <span className="row-actions">
          <button type="button" className="secondary small" onClick={() => setEditing(true)}>
            Edit<span className="visually-hidden"> rule {rule.id}</span>
          </button>
          <button
            type="button"
            className="secondary small"
            disabled={toggle.isPending}
            onClick={() => toggle.mutate()}
          >
            {rule.enabled ? 'Disable' : 'Enable'}
            <span className="visually-hidden"> rule {rule.id}</span>
          </button>
        </span>
      )}
      {toggle.error && (
        <p role="alert" className="problem">
          {messageFor(toggle.error)}
        </p>
      )}
    </li>
  );
}

/** The rule text with the token the API pointed at (1-based `position`) marked. */
function RuleProblem({ text, error }: { readonly text: string; readonly error: unknown }) {
  if (!(error instanceof ApiProblem) || error.code !== 'rule_invalid') {
    return (
      <p role="alert" className="problem">
        {messageFor(error)}
      </p>
    );
  }
  const position = Number(error.body['position']);
  const token = typeof error.body['token'] === 'string' ? error.body['token'] : '';
  const start =
    Number.isInteger(position) && position >= 1 ? Math.min(position - 1, text.length) : text.length;
  const end = Math.min(text.length, start + Math.max(token.length, 1));
  return (
    <div role="alert" className="problem" data-testid="rule-problem">
      <p className="rule-problem-detail">{error.detail}</p>
      <pre className="rule-problem-text" aria-label={`The rule, with the problem at character ${start + 1}`}>
        {text.slice(0, start)}
        <mark>{text.slice(start, end) || ' '}</mark>
        {text.slice(end)}
      </pre>
    </div>
  );
}

function RuleForm(props: {
  readonly session: DashboardSession;
  readonly rule?: FraudRule;
  readonly onDone?: () => void;
}) {
  const { session, rule, onDone } = props;
  const queryClient = useQueryClient();
  const [text, setText] = useState(rule?.rule ?? '');
  const [description, setDescription] = useState(rule?.description ?? '');
  const [sent, setSent] = useState('');
  const save = useMutation({
    mutationFn: () =>
      rule
        ? api.changeFraudRule(rule.id, { rule: text }, session.csrfToken)
        : api.createFraudRule({ rule: text, ...(description && { description }) }, session.csrfToken),
    onSuccess: async () => {
      setText('');
      setDescription('');
      await queryClient.invalidateQueries({ queryKey: ['fraud-rules'] });
      onDone?.();
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    setSent(text);
    save.mutate();
  }
  const prefix = rule ? `edit-${rule.id}` : 'new-rule';
  return (
    <form className="rule-form" onSubmit={submit} aria-label={rule ? `Edit rule ${rule.id}` : 'Add a rule'}>
      <label htmlFor={`${prefix}-text`}>{rule ? 'Rule' : 'New rule'}</label>
      <textarea
        id={`${prefix}-text`}
        className="mono"
        rows={2}
        value={text}
        required
        placeholder="review if :card_velocity_1h: > 5"
        aria-invalid={save.error ? true : undefined}
        onChange={(event) => setText(event.target.value)}
      />
      {!rule && (
        <>
          <label htmlFor={`${prefix}-description`}>Description (optional)</label>
          <input
            id={`${prefix}-description`}
            value={description}
            onChange={(event) => setDescription(event.target.value)}
          />
        </>
      )}
      {save.error && <RuleProblem text={sent} error={save.error} />}
      <div className="dialog-actions">
        {onDone && (
          <button type="button" className="secondary small" onClick={onDone}>
            Cancel
          </button>
        )}
        <button type="submit" className="small" disabled={save.isPending}>
          {rule ? 'Save rule' : 'Add rule'}
        </button>
      </div>
    </form>
  );
}

// Capture, refund and void, each behind a confirmation that shows the amount in the currency's
// format. The Idempotency-Key is made when the dialog opens, so repeated clicks and retries of one
// confirmation are one operation; the API decides whether the role may do it and says why not.
import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { decimalToMinor, formatAmount, minorToDecimalString } from '../shared/money.ts';
import { api, messageFor, type DashboardSession, type Payment } from './api.ts';

export type PaymentAction = 'capture' | 'refund' | 'void';

/** What the page shows; the API still refuses what the role or the payment's state forbids. */
export function availableActions(payment: Payment, session: DashboardSession): PaymentAction[] {
  const scopes = session.user.scopes;
  const actions: PaymentAction[] = [];
  if (payment.status === 'AUTHORIZED' && scopes.includes('payments:write')) actions.push('capture');
  if (
    (payment.status === 'CAPTURED' || payment.status === 'PARTIALLY_REFUNDED') &&
    scopes.includes('refunds:write')
  )
    actions.push('refund');
  if (
    (payment.status === 'AUTHORIZED' || payment.status === 'REQUIRES_ACTION') &&
    scopes.includes('payments:write')
  )
    actions.push('void');
  return actions;
}

interface ActionProps {
  readonly payment: Payment;
  readonly session: DashboardSession;
  /** Called with a notice after success, or nothing when cancelled. */
  readonly onClose: (message?: string) => void;
}

export function PaymentActionDialog(props: ActionProps & { readonly action: PaymentAction }) {
  switch (props.action) {
    case 'capture':
      return <CaptureDialog {...props} />;
    case 'refund':
      return <RefundDialog {...props} />;
    case 'void':
      return <VoidDialog {...props} />;
    default:
      return props.action satisfies never;
  }
}

function useOperation(
  operation: (idempotencyKey: string) => Promise<unknown>,
  onDone: (answer: unknown) => string,
  onClose: (message?: string) => void,
) {
  const queryClient = useQueryClient();
  // One key per confirmation dialog: repeated clicks and retries of this operation are one operation.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  return useMutation({
    mutationFn: () => operation(idempotencyKey),
    onSuccess: async (answer) => {
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ['payments'] }),
        queryClient.invalidateQueries({ queryKey: ['payment'] }),
        queryClient.invalidateQueries({ queryKey: ['timeline'] }),
      ]);
      onClose(onDone(answer));
    },
  });
}

function statusOf(answer: unknown): string | undefined {
  return typeof answer === 'object' && answer !== null && 'status' in answer
    ? String((answer as { status: unknown }).status)
    : undefined;
}

function CaptureDialog({ payment, session, onClose }: ActionProps) {
  const capturable = payment.authorizedAmount ?? payment.amount;
  return (
    <AmountDialog
      payment={payment}
      onClose={onClose}
      title="Capture payment"
      limit={capturable}
      limitText={(limit) => `Up to ${limit} can be captured.`}
      label={`Amount to capture (${payment.currency})`}
      confirmText={(amount) => `Capture ${amount} from the customer's card?`}
      buttonText={(amount) => `Confirm capture of ${amount}`}
      pendingText="Capturing…"
      operation={(amount, key) => api.capture(payment.paymentId, amount, session.csrfToken, key)}
      done={(amount, answer) =>
        statusOf(answer) === 'CAPTURED'
          ? `Captured ${formatAmount(amount, payment.currency)} on ${payment.paymentId}.`
          : `The capture of ${payment.paymentId} is sent; the acquirer has not answered yet.`
      }
    />
  );
}

export function RefundDialog({ payment, session, onClose }: ActionProps) {
  const refundable = (payment.capturedAmount ?? payment.amount) - (payment.refundedAmount ?? 0);
  return (
    <AmountDialog
      payment={payment}
      onClose={onClose}
      title="Refund payment"
      limit={refundable}
      limitText={(limit) => `Up to ${limit} can be refunded.`}
      label={`Amount to refund (${payment.currency})`}
      confirmText={(amount) => `Refund ${amount} to the customer? This cannot be undone.`}
      buttonText={(amount) => `Confirm refund of ${amount}`}
      pendingText="Refunding…"
      operation={(amount, key) => api.refund(payment.paymentId, amount, session.csrfToken, key)}
      done={(amount) => `Refunded ${formatAmount(amount, payment.currency)} on ${payment.paymentId}.`}
    />
  );
}

function AmountDialog(props: {
  readonly payment: Payment;
  readonly onClose: (message?: string) => void;
  readonly title: string;
  readonly limit: number;
  readonly limitText: (limit: string) => string;
  readonly label: string;
  readonly confirmText: (amount: string) => string;
  readonly buttonText: (amount: string) => string;
  readonly pendingText: string;
  readonly operation: (amount: number, idempotencyKey: string) => Promise<unknown>;
  readonly done: (amount: number, answer: unknown) => string;
}) {
  const { payment, limit } = props;
  const format = (minor: number) => formatAmount(minor, payment.currency);
  const [text, setText] = useState(minorToDecimalString(limit, payment.currency));
  const [confirming, setConfirming] = useState(false);
  const amount = decimalToMinor(text, payment.currency);
  const valid = amount !== undefined && amount > 0 && amount <= limit;
  const mutation = useOperation(
    (key) => props.operation(amount!, key),
    (answer) => props.done(amount!, answer),
    props.onClose,
  );
  function submit(event: FormEvent) {
    event.preventDefault();
    if (!valid) return;
    if (!confirming) return setConfirming(true);
    mutation.mutate();
  }
  const inputId = `${props.title.toLowerCase().replace(/\W+/g, '-')}-amount`;
  return (
    <Dialog title={props.title} onSubmit={submit} paymentId={payment.paymentId}>
      <p>{props.limitText(format(limit))}</p>
      <label htmlFor={inputId}>{props.label}</label>
      <input
        id={inputId}
        inputMode="decimal"
        value={text}
        disabled={confirming}
        onChange={(event) => setText(event.target.value)}
        aria-invalid={!valid ? true : undefined}
      />
      {!valid && <p className="field-problem">Enter an amount up to {format(limit)}.</p>}
      {confirming && valid && (
        <p className="confirm" data-testid="action-confirmation">
          {props.confirmText(format(amount))}
        </p>
      )}
      <Problem error={mutation.error} />
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={() => props.onClose()}>
          Cancel
        </button>
        <button type="submit" disabled={!valid || mutation.isPending}>
          {mutation.isPending
            ? props.pendingText
            : confirming && valid
              ? props.buttonText(format(amount))
              : 'Continue'}
        </button>
      </div>
    </Dialog>
  );
}

function VoidDialog({ payment, session, onClose }: ActionProps) {
  const amount = formatAmount(payment.amount, payment.currency);
  const mutation = useOperation(
    (key) => api.void(payment.paymentId, session.csrfToken, key),
    (answer) =>
      statusOf(answer) === 'VOIDED'
        ? `Voided ${payment.paymentId}; the hold of ${amount} is released.`
        : `The void of ${payment.paymentId} is sent; the acquirer has not answered yet.`,
    onClose,
  );
  function submit(event: FormEvent) {
    event.preventDefault();
    mutation.mutate();
  }
  return (
    <Dialog title="Void payment" onSubmit={submit} paymentId={payment.paymentId}>
      <p className="confirm" data-testid="action-confirmation">
        Void the authorization of {amount}? The customer is not charged and this cannot be undone.
      </p>
      <Problem error={mutation.error} />
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={() => onClose()}>
          Cancel
        </button>
        <button type="submit" disabled={mutation.isPending}>
          {mutation.isPending ? 'Voiding…' : `Confirm void of ${amount}`}
        </button>
      </div>
    </Dialog>
  );
}

function Problem({ error }: { readonly error: Error | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="problem" data-testid="action-problem">
      {messageFor(error)}
    </p>
  );
}

function Dialog(props: {
  readonly title: string;
  readonly paymentId: string;
  readonly onSubmit: (event: FormEvent) => void;
  readonly children: ReactNode;
}) {
  const headingId = `${props.title.toLowerCase().replace(/\W+/g, '-')}-heading`;
  return (
    <div className="backdrop">
      <form
        role="dialog"
        aria-modal="true"
        aria-labelledby={headingId}
        className="dialog"
        onSubmit={props.onSubmit}
      >
        <h2 id={headingId}>{props.title}</h2>
        <p className="mono">{props.paymentId}</p>
        {props.children}
      </form>
    </div>
  );
}

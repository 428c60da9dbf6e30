// The hosted checkout page: shows what is being paid and to whom, takes a card, pays, and sends the
// payer back to the merchant's success URL. A declined card empties the form for another one.
import { useEffect, useState } from 'react';
import { formatAmount } from '../shared/money.ts';
import { loadSession, paySession, tokenizeCard, type CardInput, type PayerSession } from './api.ts';
import { CardForm } from './card-form.tsx';
import { messageFor } from './messages.ts';

/** How often a payment whose outcome is not known yet is asked about again, and how many times. */
const processingPollMs = 1_500;
const processingPollsMax = 40;

type View =
  | { readonly kind: 'loading' }
  | { readonly kind: 'unavailable'; readonly message: string }
  | { readonly kind: 'ready'; readonly session: PayerSession };

function redirect(url: string) {
  window.location.assign(url);
}

export function CheckoutPage({ sessionId }: { readonly sessionId: string }) {
  const [view, setView] = useState<View>({ kind: 'loading' });
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [resetKey, setResetKey] = useState(0);

  useEffect(() => {
    loadSession(sessionId).then(
      (session) => setView({ kind: 'ready', session }),
      (error: unknown) => setView({ kind: 'unavailable', message: messageFor(error) }),
    );
  }, [sessionId]);

  if (view.kind === 'loading')
    return (
      <Shell>
        <p aria-busy="true">Loading…</p>
      </Shell>
    );
  if (view.kind === 'unavailable')
    return (
      <Shell>
        <p role="alert">{view.message}</p>
      </Shell>
    );
  const { session } = view;
  const amount = formatAmount(session.amount, session.currency);

  async function waitForCompletion(token: string) {
    for (let poll = 0; poll < processingPollsMax; poll += 1) {
      await new Promise((resolve) => setTimeout(resolve, processingPollMs));
      const result = await paySession(sessionId, token);
      if (result.status === 'completed') return redirect(result.redirectUrl);
    }
    setNotice('Your payment is still being processed. You can close this page; the store will be told.');
  }

  async function pay(card: CardInput) {
    setBusy(true);
    setProblem(undefined);
    setNotice(undefined);
    try {
      if (!session.publishableKey) throw new Error('no publishable key');
      const token = await tokenizeCard(session.publishableKey, card);
      const result = await paySession(sessionId, token);
      if (result.status === 'completed') {
        setNotice('Payment received. Taking you back to the store…');
        return redirect(result.redirectUrl);
      }
      setNotice('Your payment is being processed…');
      await waitForCompletion(token);
    } catch (error) {
      setProblem(messageFor(error));
      setResetKey((key) => key + 1);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Shell>
      <section aria-labelledby="summary-heading" className="summary">
        <h1 id="summary-heading">
          <span className="merchant" data-testid="merchant-name">
            {session.merchantName}
          </span>
          <span className="amount" data-testid="amount">
            {amount}
          </span>
        </h1>
        <p className="description">{session.description}</p>
      </section>
      {problem && (
        <p role="alert" className="problem" data-testid="problem">
          {problem}
        </p>
      )}
      {notice && (
        <p role="status" className="notice" data-testid="notice">
          {notice}
        </p>
      )}
      {session.status === 'completed' && session.redirectUrl && (
        <p role="status">
          This payment has been made. <a href={session.redirectUrl}>Return to the store</a>.
        </p>
      )}
      {session.status === 'expired' && (
        <p role="alert">This payment page has expired. Please return to the store and start again.</p>
      )}
      {session.status === 'open' && (
        <CardForm
          payLabel={`Pay ${amount}`}
          busy={busy}
          onSubmit={(card) => void pay(card)}
          resetKey={resetKey}
        />
      )}
      {session.status !== 'completed' && (
        <p className="cancel">
          <a href={session.cancelUrl}>Cancel and return to the store</a>
        </p>
      )}
    </Shell>
  );
}

function Shell({ children }: { readonly children: React.ReactNode }) {
  return (
    <main className="checkout">
      {children}
      <footer>Secure payment by PayFlow</footer>
    </main>
  );
}

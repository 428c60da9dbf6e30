// The merchant dashboard: sign in, then the payments with a refund action. What a user may do is
// decided by the API (roles are scopes); the page only hides what it knows the role cannot do and
// shows the API's refusal in words when it says no.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiProblem, messageFor, type DashboardSession } from './api.ts';
import { DevelopersPage } from './developers-page.tsx';
import { FraudPage } from './fraud-page.tsx';
import { HomePage } from './home-page.tsx';
import { Link, useLocation } from './navigation.tsx';
import { PaymentPage } from './payment-page.tsx';
import { PaymentsPage } from './payments-page.tsx';
import { OperatorPage, operatorSections } from './operator-pages.tsx';

export function DashboardApp() {
  const session = useQuery({ queryKey: ['session'], queryFn: api.session });
  if (session.isPending) return <p className="page-status">Loading…</p>;
  if (session.error) {
    if (session.error instanceof ApiProblem && session.error.status === 401) return <SignIn />;
    return (
      <p role="alert" className="page-status">
        {messageFor(session.error)}
      </p>
    );
  }
  return <SignedIn session={session.data} />;
}

function SignIn() {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationFn: () => api.signIn(email, password),
    onSuccess: (session) => {
      setPassword('');
      queryClient.setQueryData(['session'], session);
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    signIn.mutate();
  }
  return (
    <main className="sign-in">
      <h1>Sign in to PayFlow</h1>
      <form onSubmit={submit}>
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        {signIn.error && (
          <p role="alert" className="problem">
            {messageFor(signIn.error)}
          </p>
        )}
        <button type="submit" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

const paymentPath = /^\/dashboard\/payments\/(pay_[0-9a-z]{26})$/;

/** The page for the current address; unknown addresses show home. */
function CurrentPage({ session }: { readonly session: DashboardSession }) {
  const { path } = useLocation();
  // Operator pages for anyone who asks: the admin API answers a merchant's session with 403, and the
  // page shows that refusal. An operator has no merchant pages: every other address is Merchants.
  if (path.startsWith('/dashboard/operator') || session.user.role === 'operator')
    return <OperatorPage session={session} path={path} />;
  const payment = paymentPath.exec(path);
  if (payment?.[1]) return <PaymentPage key={payment[1]} session={session} paymentId={payment[1]} />;
  if (path === '/dashboard/payments') return <PaymentsPage session={session} />;
  if (path === '/dashboard/fraud') return <FraudPage session={session} />;
  if (path === '/dashboard/developers') return <DevelopersPage session={session} />;
  return <HomePage />;
}

const sections = [
  {
    to: '/dashboard',
    name: 'Home',
    current: (path: string) =>
      !path.startsWith('/dashboard/payments') &&
      path !== '/dashboard/fraud' &&
      path !== '/dashboard/developers',
  },
  {
    to: '/dashboard/payments',
    name: 'Payments',
    current: (path: string) => path.startsWith('/dashboard/payments'),
  },
  { to: '/dashboard/fraud', name: 'Fraud', current: (path: string) => path === '/dashboard/fraud' },
  {
    to: '/dashboard/developers',
    name: 'Developers',
    current: (path: string) => path === '/dashboard/developers',
  },
];

/** An operator's sections (ADR 32); Merchants is also where every other address lands. */
const operatorNavigation = operatorSections.map((section, index) => ({
  to: section.to,
  name: section.name,
  current: (path: string) =>
    path === section.to || (index === 0 && !operatorSections.some((other) => other.to === path)),
}));

function SignedIn({ session }: { readonly session: DashboardSession }) {
  const queryClient = useQueryClient();
  const { path } = useLocation();
  const navigation = session.user.role === 'operator' ? operatorNavigation : sections;
  const signOut = useMutation({
    mutationFn: () => api.signOut(session.csrfToken),
    onSettled: () => queryClient.resetQueries(),
  });
  return (
    <div className="dashboard">
      <header>
        <span className="brand">PayFlow</span>
        <nav aria-label="Sections">
          {navigation.map((section) => (
            <Link key={section.to} to={section.to} current={section.current(path)}>
              {section.name}
            </Link>
          ))}
        </nav>
        <span className="who">
          {session.user.merchantName} · {session.user.email} ({session.user.role})
        </span>
        <button type="button" className="secondary" onClick={() => signOut.mutate()}>
          Sign out
        </button>
      </header>
      <main>
        <CurrentPage session={session} />
      </main>
    </div>
  );
}

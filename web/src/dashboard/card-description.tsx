// A payment's card or wallet as the vault describes its token (brand and last 4, never more):
// payments keep the token, the vault the card. Cached per token for the session.
import { useQuery } from '@tanstack/react-query';
import { api, type Payment } from './api.ts';

export function useCardDescription(token: string | undefined) {
  return useQuery({
    queryKey: ['token', token],
    queryFn: () => api.token(token!),
    enabled: token !== undefined,
    staleTime: Infinity,
  });
}

export function CardDescription({ payment }: { readonly payment: Payment }) {
  const description = useCardDescription(payment.paymentMethod?.token);
  const card = description.data?.card ?? description.data?.wallet;
  if (!card) return <>{payment.paymentMethod?.type ?? ''}</>;
  return (
    <>
      {card.brand} •••• {card.last4}
    </>
  );
}

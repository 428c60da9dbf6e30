// The operator view's merchant use cases (ADR 32): disable a merchant. Disabling is the client
// access change of each of its enabled clients (their tokens are refused within the revocation
// delay, no new ones are issued, each change audited with the operator's name) plus the merchant's
// mark, which also ends its dashboard users' sessions and refuses their sign-ins — all in one
// transaction. Creating a merchant is create-merchant.ts, unchanged.
// Phases: validate → lock the merchant → (no-op when already disabled) → disable clients + mark.
import type { Clock } from '../../../platform/clock.ts';
import type { Sql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { validateAccessRequest } from './change-client-access.ts';
import { applyClientAccessChange, lockClientForChange } from '../infra/client-access-repository.ts';
import {
  activeClientIdsOf,
  findMerchantSummary,
  lockMerchant,
  markMerchantDisabled,
  type MerchantSummary,
} from '../infra/merchant-admin-repository.ts';

const merchantIdPattern = /^mer_[0-9a-hjkmnp-tv-z]{26}$/;

const merchantNotFound = () => new DomainError('merchant_not_found', 404, 'No merchant has this id.');

export async function disableMerchant(
  dependencies: { sql: Sql; clock: Clock },
  request: { merchantId: string; actor: string; reason?: string | undefined },
): Promise<{ merchant: MerchantSummary; changed: boolean; clientsDisabled: number }> {
  if (!merchantIdPattern.test(request.merchantId)) throw merchantNotFound();
  const now = dependencies.clock.now();
  const result = await dependencies.sql.begin(async (transaction) => {
    const merchant = await lockMerchant(transaction, request.merchantId);
    if (!merchant) throw merchantNotFound();
    if (merchant.disabled) return { changed: false, clientsDisabled: 0 };
    let clientsDisabled = 0;
    for (const clientId of await activeClientIdsOf(transaction, request.merchantId)) {
      const reason = validateAccessRequest({ clientId, actor: request.actor, reason: request.reason });
      const client = await lockClientForChange(transaction, clientId);
      if (!client || client.disabledAt) continue;
      await applyClientAccessChange(
        transaction,
        { clientId, action: 'disabled', actor: request.actor.trim(), reason: reason ?? 'merchant disabled' },
        now,
      );
      clientsDisabled += 1;
    }
    await markMerchantDisabled(transaction, request.merchantId, request.reason?.trim() || undefined, now);
    return { changed: true, clientsDisabled };
  });
  const merchant = await findMerchantSummary(dependencies.sql, request.merchantId);
  if (!merchant) throw merchantNotFound();
  return { merchant, ...result };
}

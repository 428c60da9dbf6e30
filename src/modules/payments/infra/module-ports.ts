// Adapters from the other modules' faces to the ports payments' application declares
// (application/ports.ts): the ledger's journals, the vault's card data, the events module's outbox
// and the fraud module's screening. The module's face (index.ts) wires them; nothing else uses them.
import { newId } from '../../../platform/ids.ts';
import { currencyExponent } from '../../../platform/money.ts';
import type { PlatformContext } from '../../../platform/module.ts';
import type { EventsFace } from '../../events/index.ts';
import type { FraudFace } from '../../fraud/index.ts';
import {
  authorizationHold,
  authorizeAndCaptureJournals,
  captureJournal,
  expiryJournal,
  refundJournal,
  voidJournal,
  type Journal,
  type JournalKind,
  type LedgerFace,
} from '../../ledger/index.ts';
import type { VaultFace } from '../../vault/index.ts';
import type {
  CardDataPort,
  EventStager,
  LedgerPort,
  ProcessorCredentials,
  RiskPort,
} from '../application/ports.ts';

/** The fraud module's screening, as payments' RiskPort (the currency's exponent added). */
export function riskPort(fraud: FraudFace | undefined): RiskPort | undefined {
  if (!fraud?.screening) return undefined;
  return {
    assess: (request) =>
      fraud.assess({
        ...request,
        exponent: currencyExponent(request.currency),
      }),
    recorded: (paymentId) => fraud.recorded(paymentId),
    added: (seconds) => fraud.added(seconds),
  };
}

const journalTypes: Record<JournalKind, string> = {
  authorization_hold: 'AUTH',
  capture: 'CAPTURE',
  void: 'VOID',
  expiry: 'EXPIRY',
  refund: 'REFUND',
  fee: 'FEE',
  acquirer_settlement: 'SETTLEMENT',
  merchant_payout: 'PAYOUT',
  reconciliation_adjustment: 'ADJUSTMENT',
};

export function ledgerPort(ledger: LedgerFace): LedgerPort {
  const stamp = (occurredAt: Date) => ({ journalId: newId('jnl'), occurredAt });
  return {
    async record(transaction, payment, record, occurredAt) {
      let journals: readonly Journal[];
      switch (record.kind) {
        case 'authorization_hold':
          journals = [authorizationHold(payment, record, stamp(occurredAt))];
          break;
        case 'authorization_hold_and_capture':
          journals = authorizeAndCaptureJournals(payment, record, {
            hold: stamp(occurredAt),
            capture: stamp(occurredAt),
          });
          break;
        case 'capture':
          journals = [captureJournal(payment, record, stamp(occurredAt))];
          break;
        case 'void':
          journals = [voidJournal(payment, record, stamp(occurredAt))];
          break;
        case 'expiry':
          journals = [expiryJournal(payment, record, stamp(occurredAt))];
          break;
        case 'refund':
          journals = [refundJournal(payment, record, stamp(occurredAt))];
          break;
        default:
          return record satisfies never;
      }
      // Issued together: the journals' statements go out pipelined, in order on the transaction's connection.
      await Promise.all(journals.map((journal) => ledger.post(transaction, journal)));
    },
    async view(sql, merchantId, paymentId) {
      const [entries, balance] = await Promise.all([
        ledger.paymentEntries(sql, merchantId, paymentId),
        ledger.paymentBalance(sql, merchantId, paymentId),
      ]);
      return {
        balance: balance.net,
        hold: balance.authorizedHold,
        entries: entries.map((entry) => ({
          entryId: entry.entryId,
          type: journalTypes[entry.journalKind],
          account: entry.accountRole,
          amount: entry.amount,
          createdAt: entry.createdAt,
        })),
      };
    },
  };
}

export function cardDataPort(vault: VaultFace): CardDataPort {
  return {
    async describe(merchantId, token) {
      const description = await vault.describe(merchantId, token);
      if (!description) return undefined;
      return description.card
        ? {
            kind: 'card',
            brand: description.card.brand,
            last4: description.card.last4,
            bin: description.card.bin,
            fingerprint: description.card.fingerprint,
          }
        : { kind: 'wallet', brand: description.wallet.brand, last4: description.wallet.last4 };
    },
    async describeMany(merchantId, tokens) {
      const descriptions = await vault.describeMany(merchantId, tokens);
      return new Map(
        descriptions.map((description) => {
          const card = description.card ?? description.wallet;
          return [description.token, { brand: card.brand, last4: card.last4 }] as const;
        }),
      );
    },
    tokensEndingIn: (merchantId, last4) => vault.tokensEndingIn(merchantId, last4),
    async credentialsFor(merchantId, token): Promise<ProcessorCredentials> {
      const data = await vault.detokenizeForProcessor({
        merchantId,
        token,
        purpose: 'authorization',
        actor: 'payments',
      });
      if (data.kind === 'card') {
        return {
          kind: 'card',
          number: data.number,
          expMonth: data.expMonth,
          expYear: data.expYear,
          ...(data.cvc !== undefined && { cvc: data.cvc }),
        };
      }
      return {
        kind: 'wallet',
        type: data.type === 'google_pay' ? 'google_pay' : 'apple_pay',
        networkToken: data.networkToken,
        cryptogram: data.cryptogram,
        expMonth: data.expMonth,
        expYear: data.expYear,
      };
    },
  };
}

export function eventStager(events: EventsFace | undefined, context: PlatformContext): EventStager {
  if (events) return { stage: async (transaction, event) => void (await events.stage(transaction, event)) };
  context.log.warn('payments: no events module, so payment events are not staged');
  return { stage: async () => undefined };
}

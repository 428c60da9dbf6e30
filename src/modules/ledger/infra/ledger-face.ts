// The ledger face other modules receive: stateless functions over the SQL handle they pass in, so a
// post joins the caller's transaction.
import type { LedgerFace } from '../index.ts';
import {
  merchantBalances,
  paymentBalance,
  paymentEntries,
  postJournal,
  settlementPositions,
} from './ledger-repository.ts';
import { verifyLedger } from './ledger-verifier.ts';

export const ledgerFace: LedgerFace = {
  post: postJournal,
  paymentEntries,
  paymentBalance,
  merchantBalances,
  verify: verifyLedger,
  settlementPositions,
};

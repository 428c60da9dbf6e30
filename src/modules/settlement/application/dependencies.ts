// Builds the settlement dependencies from the platform context, for the running module and for the
// CLI alike (both post through the ledger's face and stage through the events module).
import { ConfigError } from '../../../platform/settings.ts';
import type { PlatformContext } from '../../../platform/module.ts';
import { stageEvent } from '../../events/index.ts';
import { ledgerFace } from '../../ledger/index.ts';
import { parseFixedFees } from '../domain/pricing.ts';
import { settlementSettings } from '../settings.ts';
import type { SettlementDependencies } from './settlement-job.ts';

export function settlementDependencies(context: PlatformContext): SettlementDependencies {
  const { config } = context;
  const own = context.settings(settlementSettings);
  let fixedFees;
  try {
    fixedFees = parseFixedFees(own.settlementFeeFixed);
  } catch (error) {
    throw new ConfigError('SETTLEMENT_FEE_FIXED', (error as Error).message);
  }
  return {
    sql: context.sql,
    clock: context.clock,
    log: context.log,
    ledger: ledgerFace,
    stage: stageEvent,
    defaultPricing: { percentBps: own.settlementFeeBps, fixedFees },
    acquirerCostBps: own.settlementAcquirerCostBps,
    chunkSize: own.settlementChunkSize,
    acquirer: config.acquirerUrl ? 'acquirer' : 'simulator',
  };
}

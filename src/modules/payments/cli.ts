// The payments CLI for operators (ADR 34): `payflow payments unresolved` lists the operations whose
// acquirer outcome stayed unknown past the whole inquiry schedule, `payflow payments resolve <id>`
// resolves one as POST /v1/admin/payments/{id}/resolve does (the same use case). The CLI reaches the
// acquirer at ACQUIRER_URL; it only inquires, so it never needs card data.
import { printJson, reportingDomainErrors, usageError } from '../../platform/cli.ts';
import { newId } from '../../platform/ids.ts';
import type { CliCommand, CommandContext } from '../../platform/module.ts';
import { stageEvent } from '../events/index.ts';
import { ledgerFace } from '../ledger/index.ts';
import type { PaymentsDependencies } from './application/dependencies.ts';
import type { CardDataPort } from './application/ports.ts';
import { listUnresolved, resolveUnresolved } from './application/resolve-unresolved.ts';
import { AcquirerHttpClient } from './infra/acquirer/acquirer-http.ts';
import { ledgerPort } from './infra/module-ports.ts';
import { createProcessorFactory } from './infra/processors.ts';
import { paymentsSettings, settingsFrom } from './settings.ts';

function noCardData(): never {
  throw new Error('an operator resolution only inquires: it never needs card data');
}

const cardData: CardDataPort = {
  describe: async () => noCardData(),
  credentialsFor: async () => noCardData(),
  describeMany: async () => noCardData(),
  tokensEndingIn: async () => noCardData(),
};

function cliDependencies(context: CommandContext, acquirerUrl: string): PaymentsDependencies {
  return {
    sql: context.sql,
    clock: context.clock,
    ids: { newId: (prefix) => newId(prefix) },
    cardData,
    ledger: ledgerPort(ledgerFace),
    events: { stage: async (transaction, event) => void (await stageEvent(transaction, event)) },
    processors: createProcessorFactory(
      new AcquirerHttpClient({
        baseUrl: acquirerUrl,
        timeoutMs: context.settings(paymentsSettings).acquirerTimeoutMs,
      }),
    ),
    settings: settingsFrom(context),
    // The CLI's answer is its JSON on stdout, where the logger writes too: errors only.
    log: context.log.child({ module: 'payments' }, { level: 'error' }),
  };
}

const acquirerNeeded =
  'needs ACQUIRER_URL (the acquirer the deployment uses); without it, resolve through the admin API or the dashboard';

export const paymentsCommands: readonly CliCommand[] = [
  {
    path: ['payments', 'unresolved'],
    summary: 'List payments whose acquirer outcome stayed unknown past the whole inquiry schedule.',
    usage: 'payflow payments unresolved',
    needsDatabase: true,
    async run(_args, context) {
      printJson(context, await listUnresolved(context.sql));
    },
  },
  {
    path: ['payments', 'resolve'],
    summary:
      'Resolve an unknown outcome: ask the acquirer once more and apply its answer, or fail it when the acquirer has no record.',
    usage: 'payflow payments resolve <payment id|refund id>',
    needsDatabase: true,
    async run(args, context) {
      const [id, ...rest] = args;
      if (id === undefined || rest.length > 0 || !/^(pay|ref)_[0-9a-z]{26}$/.test(id))
        return usageError('payments resolve needs one payment id (pay_…) or refund id (ref_…)');
      const acquirerUrl = context.config.acquirerUrl;
      if (!acquirerUrl) return usageError(`payments resolve ${acquirerNeeded}`);
      return reportingDomainErrors(async () =>
        printJson(context, await resolveUnresolved(cliDependencies(context, acquirerUrl), id, 'cli')),
      );
    },
  },
];

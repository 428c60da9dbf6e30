// `payflow ledger verify`: checks every invariant on the live database, prints the report and exits
// 1 on any violation (0 when the ledger is sound).
import type { CliCommand } from '../../../platform/module.ts';
import { formatReport, verifyLedger } from '../infra/ledger-verifier.ts';

export const verifyCommand: CliCommand = {
  path: ['ledger', 'verify'],
  summary: 'Check every ledger invariant on the database; exit 1 on any violation.',
  usage: 'payflow ledger verify [--json]',
  needsDatabase: true,
  async run(args, context) {
    const report = await verifyLedger(context.sql);
    if (args.includes('--json')) context.print(JSON.stringify(report));
    else for (const line of formatReport(report)) context.print(line);
    return report.ok ? 0 : 1;
  },
};

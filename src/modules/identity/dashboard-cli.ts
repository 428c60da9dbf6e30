// `payflow users create`: a dashboard user of a merchant, with a generated password printed once
// (as JSON on stdout, like the other identity commands' secrets) and stored only as an scrypt hash.
import { parseArgs } from 'node:util';
import { printJson, reportingDomainErrors, usageError } from '../../platform/cli.ts';
import type { CliCommand } from '../../platform/module.ts';
import { createDashboardUser } from './application/dashboard-users.ts';
import { dashboardRoles, isDashboardRole } from './domain/dashboard-users.ts';

export const dashboardUserCommands: readonly CliCommand[] = [
  {
    path: ['users', 'create'],
    summary: 'Create a dashboard user of a merchant; prints a generated password (once).',
    usage: `payflow users create --merchant <id> --email <address> --role ${dashboardRoles.join('|')}`,
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({
        args: [...args],
        options: { merchant: { type: 'string' }, email: { type: 'string' }, role: { type: 'string' } },
        strict: true,
      });
      if (!values.merchant || !values.email || !isDashboardRole(values.role))
        return usageError(
          `users create needs --merchant <id> --email <address> --role ${dashboardRoles.join('|')}`,
        );
      const input = { merchantId: values.merchant, email: values.email, role: values.role };
      return reportingDomainErrors(async () => printJson(context, await createDashboardUser(context, input)));
    },
  },
];

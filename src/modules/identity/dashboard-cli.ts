// `payflow users create`: a dashboard user of a merchant, with a generated password printed once
// (as JSON on stdout, like the other identity commands' secrets) and stored only as an scrypt hash.
import { parseArgs } from 'node:util';
import { DomainError } from '../../platform/errors.ts';
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
      if (!values.merchant || !values.email || !isDashboardRole(values.role)) {
        process.stderr.write(
          `payflow: users create needs --merchant <id> --email <address> --role ${dashboardRoles.join('|')}\n`,
        );
        return 2;
      }
      try {
        const user = await createDashboardUser(context, {
          merchantId: values.merchant,
          email: values.email,
          role: values.role,
        });
        context.print(JSON.stringify(user, null, 2));
        return 0;
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        process.stderr.write(`payflow: ${error.message} (${error.code})\n`);
        return 1;
      }
    },
  },
];

// `payflow users create`: a dashboard user of a merchant (or an operator, ADR 32), with a generated password printed once
// (as JSON on stdout, like the other identity commands' secrets) and stored only as an scrypt hash.
import { parseArgs } from 'node:util';
import { printJson, reportingDomainErrors, usageError } from '../../platform/cli.ts';
import type { CliCommand } from '../../platform/module.ts';
import { createDashboardUser } from './application/dashboard-users.ts';
import { isDashboardRole, merchantDashboardRoles } from './domain/dashboard-users.ts';

export const dashboardUserCommands: readonly CliCommand[] = [
  {
    path: ['users', 'create'],
    summary:
      'Create a dashboard user of a merchant, or an operator (no merchant); prints a generated password (once).',
    usage:
      `payflow users create --merchant <id> --email <address> --role ${merchantDashboardRoles.join('|')}\n` +
      '       payflow users create --operator --email <address>',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({
        args: [...args],
        options: {
          merchant: { type: 'string' },
          email: { type: 'string' },
          role: { type: 'string' },
          operator: { type: 'boolean' },
        },
        strict: true,
      });
      const role = values.operator ? 'operator' : values.role;
      const operator = role === 'operator';
      if (!values.email || !isDashboardRole(role) || operator === (values.merchant !== undefined))
        return usageError(
          `users create needs --merchant <id> --email <address> --role ${merchantDashboardRoles.join('|')}, ` +
            'or --operator --email <address>',
        );
      const input = { merchantId: values.merchant, email: values.email, role };
      return reportingDomainErrors(async () => printJson(context, await createDashboardUser(context, input)));
    },
  },
];

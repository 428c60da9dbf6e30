// What every module's CLI commands share: the usage-error exit (2), a domain error reported in one
// line (exit 1), and JSON on standard output (bigint amounts as strings).
import { DomainError } from './errors.ts';
import type { CommandContext } from './module.ts';

/** A usage error: the reason on stderr, exit code 2. */
export function usageError(message: string): number {
  process.stderr.write(`payflow: ${message}\n`);
  return 2;
}

/** A DomainError reported as one line on stderr (exit code 1); anything else is rethrown. */
export function reportDomainError(error: unknown): number {
  if (error instanceof DomainError) {
    process.stderr.write(`payflow: ${error.message} (${error.code})\n`);
    return 1;
  }
  throw error;
}

/** Runs the work: 0 when it succeeds, 1 (reported) on a DomainError. */
export async function reportingDomainErrors(work: () => Promise<void>): Promise<number> {
  try {
    await work();
    return 0;
  } catch (error) {
    return reportDomainError(error);
  }
}

/** Prints a value as indented JSON; bigint values (amounts) as strings. */
export function printJson(context: CommandContext, value: unknown): void {
  context.print(
    JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? String(item) : item), 2),
  );
}

// `payflow events dlq list` and `payflow events dlq replay <id…|--all>`: what consumers gave up on,
// and sending it back to them once the cause is fixed.
import type { CliCommand } from '../../../platform/module.ts';
import { listDeadLetters, replayDeadLetters } from '../infra/dead-letters.ts';

export const dlqListCommand: CliCommand = {
  path: ['events', 'dlq', 'list'],
  summary: 'List dead-lettered events (not yet replayed) with their error and attempts.',
  usage: 'payflow events dlq list [--json]',
  needsDatabase: true,
  async run(args, context) {
    const letters = await listDeadLetters(context.sql);
    if (args.includes('--json')) {
      context.print(
        JSON.stringify(letters, (_key, value: unknown) =>
          typeof value === 'bigint' ? Number(value) : value,
        ),
      );
      return 0;
    }
    if (letters.length === 0) {
      context.print('dead letters: none');
      return 0;
    }
    for (const letter of letters) {
      context.print(
        `${letter.id}  group=${letter.consumerGroup}  event=${letter.eventId}  type=${letter.type}  ` +
          `aggregate=${letter.aggregateId}  attempts=${letter.attempts}  dead=${letter.deadAt.toISOString()}  ` +
          `error=${JSON.stringify(letter.error)}`,
      );
    }
    context.print(`dead letters: ${letters.length}`);
    return 0;
  },
};

export const dlqReplayCommand: CliCommand = {
  path: ['events', 'dlq', 'replay'],
  summary: 'Send dead-lettered events back to their consumer group.',
  usage: 'payflow events dlq replay <dlq_id…|--all>',
  needsDatabase: true,
  async run(args, context) {
    const all = args.includes('--all');
    const ids = args.filter((arg) => !arg.startsWith('--'));
    if (all === ids.length > 0) {
      context.print('usage: payflow events dlq replay <dlq_id…|--all>');
      return 2;
    }
    const replayed = await replayDeadLetters(context.sql, all ? 'all' : ids);
    for (const id of replayed) context.print(`replayed ${id}`);
    const missing = ids.filter((id) => !replayed.includes(id));
    for (const id of missing) context.print(`not found (or already replayed): ${id}`);
    context.print(`replayed: ${replayed.length}`);
    return missing.length > 0 ? 1 : 0;
  },
};

// A relay process that kills itself (SIGKILL) after writing a batch to events.log and before commit:
// the fault test for "kill the relay mid-batch". Usage: node --import tsx relay-crash.ts <database url>
import { createSql } from '../../src/platform/db/client.ts';
// The relay internals are driven directly: this is a fault-injection harness for the events module.
// eslint-disable-next-line payflow/module-boundaries
import { relayBatch } from '../../src/modules/events/infra/relay.ts';

const url = process.argv[2];
if (!url) throw new Error('usage: relay-crash.ts <database url>');
const sql = createSql({ url, maxConnections: 1 });
await relayBatch(sql, {
  batchMax: 50,
  afterBatchWritten: async (transaction, count) => {
    const [row] = await transaction<{ count: bigint }[]>`select count(*)::bigint as count from events.log`;
    process.stdout.write(`written ${count}, log holds ${row!.count} inside the transaction\n`);
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => undefined);
  },
});

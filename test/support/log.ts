// A real logger (src/platform/log.ts) whose lines the test reads: for checking what a component
// warns about and that no secret reaches a log line.
import { Writable } from 'node:stream';
import { createLogger } from '../../src/platform/log.ts';

/** A debug-level logger and the lines (JSON, one per call) it has written so far. */
export function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

// The simulator's state on disk (optional, SIMULATOR_STATE_FILE): an append-only file of JSON lines,
// one per change (an authorization's state, an operation's stored answer, a settled capture or
// refund), replayed at start, the last line of a key winning. Each line is appended synchronously
// before the answer leaves, so a simulator killed with SIGKILL and started again on the same file
// knows every operation it answered. A line cut by the kill is skipped. Not kept: references being
// decided (like a crash before a commit), and the timer of a refund pending on the refunds-fail card.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export type JournalLine =
  | { readonly type: 'authorization'; readonly state: Record<string, unknown> }
  | {
      readonly type: 'operation';
      readonly reference: string;
      readonly fingerprint: string;
      readonly inquiry: Record<string, unknown>;
    }
  | { readonly type: 'settled'; readonly entry: Record<string, unknown> };

export class Journal {
  constructor(readonly path: string) {}

  append(lines: readonly JournalLine[]): void {
    if (lines.length === 0) return;
    appendFileSync(this.path, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
  }

  /** Every whole line written so far (none when the file does not exist). */
  read(): JournalLine[] {
    if (!existsSync(this.path)) return [];
    const lines: JournalLine[] = [];
    for (const text of readFileSync(this.path, 'utf8').split('\n')) {
      if (text === '') continue;
      try {
        lines.push(JSON.parse(text) as JournalLine);
      } catch {
        // the last line, cut by a kill in the middle of the write
      }
    }
    return lines;
  }
}

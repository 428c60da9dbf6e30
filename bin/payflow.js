#!/usr/bin/env node
// The `payflow` command. TypeScript runs through tsx's loader (see docs/adr/0005-typescript-at-runtime.md).
import v8 from 'node:v8';
import { register } from 'tsx/esm/api';

// The old generation grows by half its live size between full collections instead of V8's default of
// up to four times on a machine with this much memory: a server's garbage is collected before it
// holds hundreds of megabytes (ADR 38). A `--heap-growing-percent` given to node wins.
if (!process.execArgv.some((argument) => argument.startsWith('--heap-growing-percent'))) {
  v8.setFlagsFromString('--heap-growing-percent=50');
}
register();
await import('../src/apps/cli.ts');

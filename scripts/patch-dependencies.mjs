// Runs after `npm install` / `npm ci` (package.json "postinstall"). Repairs two faults of postgres.js
// 3.4.9 that turn a database outage into a crashed process (ADR 25):
//   1. a write queued for the next tick runs after the socket was closed (socket === null) and
//      throws a TypeError outside any promise; the queued chunk is now dropped with the connection;
//   2. the array-type lookup after connecting is not awaited, so a connection reset during it is an
//      unhandled rejection; the connection's own error already fails its queries.
// Each repair checks the version and the exact text it replaces, is applied once (marker), and the
// script fails loudly when the text is not found, so an upgrade cannot silently drop a repair.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const packageDir = path.join(root, 'node_modules', 'postgres');
const expectedVersion = '3.4.9';
const marker = '/* payflow: null-socket write repair */';

const repairs = [
  {
    from: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    to: `  function nextWrite(fn) {
    ${marker}
    if (socket === null) {
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      fn && fn(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
  },
  {
    from: `    clearImmediate(nextWriteTimer)
    if (socket) {`,
    to: `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    if (socket) {`,
  },
  {
    from: `    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)`,
    to: `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    socket.removeListener('data', data)`,
  },
  {
    from: `        return fetchArrayTypes()
`,
    to: `        return fetchArrayTypes().catch(() => { /* payflow: the connection error fails its queries */ })
`,
  },
];

function main() {
  if (!existsSync(packageDir)) return; // not installed (e.g. a partial install): nothing to repair
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  if (version !== expectedVersion) {
    throw new Error(
      `postgres ${version} installed, repairs written for ${expectedVersion}: review scripts/patch-dependencies.mjs (ADR 25)`,
    );
  }
  for (const relative of ['src/connection.js', 'cjs/src/connection.js']) {
    const file = path.join(packageDir, relative);
    let text = readFileSync(file, 'utf8');
    if (text.includes(marker)) continue;
    for (const repair of repairs) {
      if (!text.includes(repair.from)) {
        throw new Error(`postgres/${relative}: the text a repair replaces was not found (ADR 25)`);
      }
      text = text.replace(repair.from, repair.to);
    }
    writeFileSync(file, text);
  }
}

main();

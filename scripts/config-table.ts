// Prints the configuration table for the README from the one list in src/platform/config.ts.
import { configurationTable } from '../src/platform/config.ts';

process.stdout.write(`${configurationTable()}\n`);

// Prints the README's configuration table: the platform's variables, then each module's in the app's
// module order (src/apps/configuration.ts).
import { configurationTable } from '../src/apps/configuration.ts';

process.stdout.write(`${configurationTable()}\n`);

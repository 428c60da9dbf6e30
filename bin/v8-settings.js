// V8's settings for every PayFlow process (the `payflow` command, and the bench that runs its jobs in
// its own process): the old generation grows by half its live size between full collections instead
// of V8's default of up to four times on a machine with this much memory, so a server's or a job's
// garbage is collected before it holds hundreds of megabytes (ADR 38). A `--heap-growing-percent`
// given to node wins.
import v8 from 'node:v8';

if (!process.execArgv.some((argument) => argument.startsWith('--heap-growing-percent'))) {
  v8.setFlagsFromString('--heap-growing-percent=50');
}

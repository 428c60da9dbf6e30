// A real Zipkin server for tracing tests: io.zipkin:zipkin-server's executable jar from Maven
// Central (fetched once into the local Maven repository by `mvn dependency:get`), run with
// in-memory storage on a free loopback port. Needs Java 17+ (and Maven for the first fetch).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/platform/ports.ts';

export const zipkinVersion = '3.5.1';

function zipkinJar(): string {
  return path.join(
    os.homedir(),
    '.m2/repository/io/zipkin/zipkin-server',
    zipkinVersion,
    `zipkin-server-${zipkinVersion}-exec.jar`,
  );
}

/** Why Zipkin cannot run here, or undefined when it can (fetching the jar if needed). */
export function zipkinUnavailable(): string | undefined {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0)
    return 'no `java` on PATH: the tracing test runs a real Zipkin server (JDK 17+)';
  if (existsSync(zipkinJar())) return undefined;
  const fetched = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      'dependency:get',
      `-Dartifact=io.zipkin:zipkin-server:${zipkinVersion}:jar:exec`,
      '-Dtransitive=false',
    ],
    { encoding: 'utf8' },
  );
  if (fetched.error) return 'no `mvn` on PATH to fetch zipkin-server from Maven Central';
  if (fetched.status !== 0 || !existsSync(zipkinJar()))
    return `mvn could not fetch io.zipkin:zipkin-server:${zipkinVersion}:exec (${fetched.stdout.slice(-300)})`;
  return undefined;
}

export interface RunningZipkin {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startZipkin(): Promise<RunningZipkin> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    ['-Xms64m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-jar', zipkinJar()],
    {
      env: { ...process.env, QUERY_PORT: String(port), STORAGE_TYPE: 'mem', SELF_TRACING_ENABLED: 'false' },
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`zipkin exited with ${child.exitCode}`);
    const healthy = await fetch(`${url}/health`)
      .then((response) => response.ok)
      .catch(() => false);
    if (healthy) return { url, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error('zipkin did not become healthy within 120 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

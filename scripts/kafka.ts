// `npm run kafka:start` / `kafka:stop`: a real Apache Kafka (KRaft mode, no ZooKeeper) on loopback
// ports for development, the bus contract suite and the fault tests. The broker is
// org.apache.kafka:kafka_2.13 and its dependencies from Maven Central, copied once by
// `mvn dependency:copy-dependencies` into a cache outside the repository
// (KAFKA_CACHE_DIR, default ~/.cache/payflow/kafka-<version>). Needs Java 17+ and Maven.
//
//   npm run kafka:start [-- --brokers 3] [-- --dir DIR]   starts 1 (or 3) brokers, prints KAFKA_BROKERS=…
//   npm run kafka:stop  [-- --dir DIR]                    stops them (SIGTERM, then SIGKILL)
//   node --import tsx scripts/kafka.ts fetch              only fills the cache
//
// A cluster of three is every node both broker and controller, replication factor 3 and
// min.insync.replicas 2, so one broker may die without losing an acknowledged event.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { freePort } from '../src/platform/ports.ts';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const kafkaVersion = '4.4.0';
const root = path.resolve(import.meta.dirname, '..');

export function kafkaCacheDir(): string {
  return (
    process.env['KAFKA_CACHE_DIR']?.trim() ||
    path.join(os.homedir(), '.cache', 'payflow', `kafka-${kafkaVersion}`)
  );
}

/** Why Kafka cannot run here (no Java 17+, no Maven), or undefined when it can. */
export function kafkaUnavailable(): string | undefined {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) return 'no `java` on PATH (Kafka needs a JDK 17+)';
  const major = /version "(\d+)/.exec(java.stderr)?.[1];
  if (major !== undefined && Number(major) < 17)
    return `java ${major} found; Kafka ${kafkaVersion} needs 17+`;
  if (existsSync(path.join(kafkaCacheDir(), 'libs', `kafka_2.13-${kafkaVersion}.jar`))) return undefined;
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (mvn.error || mvn.status !== 0) return 'no `mvn` on PATH to fetch Kafka from Maven Central';
  return undefined;
}

/** Copies kafka_2.13 and its dependencies into the cache once; returns the classpath. */
export function fetchKafka(): string {
  const cache = kafkaCacheDir();
  const libs = path.join(cache, 'libs');
  if (!existsSync(path.join(libs, `kafka_2.13-${kafkaVersion}.jar`))) {
    mkdirSync(cache, { recursive: true });
    writeFileSync(
      path.join(cache, 'pom.xml'),
      `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>payflow</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${kafkaVersion}</version></dependency>
  </dependencies>
</project>
`,
    );
    process.stderr.write(`kafka: fetching kafka_2.13 ${kafkaVersion} from Maven Central into ${cache}\n`);
    const result = spawnSync(
      'mvn',
      ['-q', '-B', '-Dstyle.color=never', 'dependency:copy-dependencies', '-DoutputDirectory=libs.partial'],
      // Maven's output goes to stderr: stdout carries only the KAFKA_BROKERS line `.ci/run` exports
      // (Maven wrote colour codes there on a first fetch, which broke the export).
      { cwd: cache, stdio: ['ignore', process.stderr, 'inherit'] },
    );
    if (result.status !== 0)
      throw new Error(`mvn dependency:copy-dependencies failed (exit ${result.status})`);
    rmSync(libs, { recursive: true, force: true });
    // Only a complete copy takes the final name, so an interrupted fetch is redone.
    spawnSync('mv', [path.join(cache, 'libs.partial'), libs]);
  }
  return readdirSync(libs)
    .filter((file) => file.endsWith('.jar'))
    .map((file) => path.join(libs, file))
    .join(':');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface KafkaNode {
  readonly id: number;
  readonly port: number;
  readonly controllerPort: number;
  pid: number;
}

export interface KafkaClusterState {
  readonly dir: string;
  readonly clusterId: string;
  readonly nodes: KafkaNode[];
  /**
   * The JVMs run in process groups of their own and outlive the process that started them
   * (`npm run kafka:start`). Tests start theirs in the starting process's group instead (false), so the
   * test harness's group kill takes them with a test file killed at its time limit.
   */
  readonly daemon?: boolean;
}

export function brokersOf(state: KafkaClusterState): string {
  return state.nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
}

function stateFile(dir: string): string {
  return path.join(dir, 'cluster.json');
}

export function readClusterState(dir: string): KafkaClusterState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dir), 'utf8')) as KafkaClusterState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function properties(state: KafkaClusterState, node: KafkaNode): string {
  const replicas = state.nodes.length;
  const voters = state.nodes.map((other) => `${other.id}@127.0.0.1:${other.controllerPort}`).join(',');
  return [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${path.join(state.dir, `node-${node.id}`, 'data')}`,
    `default.replication.factor=${replicas}`,
    `min.insync.replicas=${replicas === 1 ? 1 : 2}`,
    `offsets.topic.replication.factor=${replicas}`,
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${replicas === 1 ? 1 : 2}`,
    'unclean.leader.election.enable=false',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'delete.topic.enable=true',
    '',
  ].join('\n');
}

function javaArgs(classpath: string, main: string, ...args: string[]): string[] {
  return [
    '-Xms128m',
    '-Xmx512m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    '-cp',
    classpath,
    main,
    ...args,
  ];
}

/**
 * Starts one node's JVM, detached for a daemon cluster (it outlives this process), else in this
 * process's group; its output goes to node-N/broker.log.
 */
export function launchNode(state: KafkaClusterState, node: KafkaNode, classpath = fetchKafka()): number {
  const nodeDir = path.join(state.dir, `node-${node.id}`);
  const log = openSync(path.join(nodeDir, 'broker.log'), 'a');
  const child = spawn('java', javaArgs(classpath, 'kafka.Kafka', path.join(nodeDir, 'server.properties')), {
    detached: state.daemon ?? true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  node.pid = child.pid!;
  writeFileSync(stateFile(state.dir), JSON.stringify(state, null, 2));
  return node.pid;
}

/** Waits until every listed node accepts connections (the cluster's readiness is checked by a client). */
export async function waitForPorts(nodes: readonly KafkaNode[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const node of nodes) {
    while (!(await portOpen(node.port))) {
      if (!alive(node.pid)) throw new Error(`kafka node ${node.id} exited; see its broker.log`);
      if (Date.now() > deadline)
        throw new Error(`kafka node ${node.id} did not listen within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Formats fresh KRaft storage in `dir` and starts `count` nodes; resolves when all listen. */
/**
 * A KRaft cluster id: 16 random bytes, base64url. Like Kafka's own Uuid.randomUuid, never one that
 * starts with "-": the storage tool would read it as an option (`--cluster-id expected one
 * argument`), which failed one start in 64.
 */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export async function startKafka(options: {
  dir: string;
  brokers?: number;
  /** Outlive this process (`npm run kafka:start`); tests leave it off (KafkaClusterState.daemon). */
  daemon?: boolean;
}): Promise<KafkaClusterState> {
  const count = options.brokers ?? 1;
  const classpath = fetchKafka();
  const existing = readClusterState(options.dir);
  if (existing && existing.nodes.some((node) => alive(node.pid))) {
    throw new Error(`kafka is already running from ${options.dir} (KAFKA_BROKERS=${brokersOf(existing)})`);
  }
  rmSync(options.dir, { recursive: true, force: true });
  mkdirSync(options.dir, { recursive: true });
  const nodes: KafkaNode[] = [];
  for (let id = 1; id <= count; id += 1) {
    nodes.push({ id, port: await freePort(), controllerPort: await freePort(), pid: 0 });
  }
  const state: KafkaClusterState = {
    dir: options.dir,
    clusterId: newClusterId(),
    nodes,
    daemon: options.daemon ?? false,
  };
  for (const node of nodes) {
    const nodeDir = path.join(options.dir, `node-${node.id}`);
    mkdirSync(nodeDir, { recursive: true });
    writeFileSync(path.join(nodeDir, 'server.properties'), properties(state, node));
    const format = spawnSync(
      'java',
      javaArgs(
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        state.clusterId,
        '-c',
        path.join(nodeDir, 'server.properties'),
      ),
      { encoding: 'utf8' },
    );
    if (format.status !== 0)
      throw new Error(`kafka storage format failed: ${format.stderr || format.stdout}`);
  }
  for (const node of nodes) launchNode(state, node, classpath);
  try {
    await waitForPorts(nodes);
  } catch (error) {
    await stopKafka(options.dir);
    throw error;
  }
  return state;
}

/** Stops every node started from `dir`: SIGTERM, then SIGKILL after a grace period. */
export async function stopKafka(dir: string, graceMs = 15_000): Promise<void> {
  const state = readClusterState(dir);
  if (!state) return;
  const running = state.nodes.filter((node) => node.pid > 0 && alive(node.pid));
  for (const node of running) process.kill(node.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (running.some((node) => alive(node.pid)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const node of running) if (alive(node.pid)) process.kill(node.pid, 'SIGKILL');
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? undefined : process.argv[index + 1];
}

async function main(): Promise<number> {
  const command = process.argv[2];
  const brokers = Number(argument('brokers') ?? '1');
  const dir = path.resolve(
    argument('dir') ?? path.join(root, '.payflow', brokers === 1 ? 'kafka' : `kafka-${brokers}`),
  );
  if (command === 'stop') {
    await stopKafka(dir);
    process.stdout.write(`kafka: stopped (${dir})\n`);
    return 0;
  }
  const unavailable = kafkaUnavailable();
  if (unavailable) {
    process.stderr.write(`kafka: cannot run here: ${unavailable}\n`);
    return 2;
  }
  if (command === 'fetch') {
    fetchKafka();
    process.stdout.write(`kafka: ${kafkaVersion} cached in ${kafkaCacheDir()}\n`);
    return 0;
  }
  if (command === 'start') {
    if (![1, 3].includes(brokers)) {
      process.stderr.write('kafka: --brokers must be 1 or 3\n');
      return 64;
    }
    const running = readClusterState(dir);
    if (running && running.nodes.every((node) => node.pid > 0 && alive(node.pid))) {
      process.stderr.write(`kafka: already running from ${dir}\n`);
      process.stdout.write(`KAFKA_BROKERS=${brokersOf(running)}\n`);
      return 0;
    }
    const state = await startKafka({ dir, brokers, daemon: true });
    process.stderr.write(
      `kafka: ${brokers} broker(s) from ${dir}; stop with npm run kafka:stop -- --dir ${dir}\n`,
    );
    process.stdout.write(`KAFKA_BROKERS=${brokersOf(state)}\n`);
    return 0;
  }
  process.stderr.write(
    'usage: scripts/kafka.ts start [--brokers 1|3] [--dir DIR] | stop [--dir DIR] | fetch\n',
  );
  return 64;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main().catch((error: unknown) => {
    process.stderr.write(`kafka: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  });
}

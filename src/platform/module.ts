// The contract every bounded-context module fulfils towards the composition root (src/apps).
// A module contributes its settings (environment variables), migrations (its own PostgreSQL schema),
// HTTP routes, CLI commands, background jobs and log-redaction paths; nothing else about it is
// visible outside its index.ts.
import type { HttpApp } from './http/app.ts';
import type { Config } from './config.ts';
import type { SettingsDeclaration, SettingsReader } from './settings.ts';
import type { Sql } from './db/client.ts';
import type { Logger } from './log.ts';
import type { Clock } from './clock.ts';
import type { MetricsRegistry } from './metrics.ts';
import type { SealedColumn } from './secrets.ts';

export interface PlatformContext {
  /** The platform's own settings (port, database, logging, secrets key, acquirer URL…). */
  readonly config: Config;
  /**
   * A module's own settings, parsed from the environment the app validated at start:
   * `context.settings(fraudSettings)` (ADR 30).
   */
  readonly settings: SettingsReader;
  readonly sql: Sql;
  readonly log: Logger;
  readonly clock: Clock;
  /** The process role (`all`, `api`, `worker`, `vault`); unset in CLI commands. */
  readonly role?: string;
  /**
   * The process's Prometheus registry, served by the gateway at /metrics; modules add their gauges
   * to it (registerScrapedGauges). Unset in CLI commands.
   */
  readonly metrics?: MetricsRegistry;
  /**
   * The acquirer this process talks to (ACQUIRER_URL, or the simulator the app started in-process);
   * unset in a vault process and in CLI commands.
   */
  readonly acquirer?: AcquirerEndpoint;
}

/** Where the acquirer answers, and the secret its notifications to PayFlow are signed with. */
export interface AcquirerEndpoint {
  readonly url: string;
  readonly notifySecret: string | undefined;
}

export interface CommandContext extends PlatformContext {
  /** Writes a line to standard output (results, JSON). */
  print(text: string): void;
}

export interface CliCommand {
  /** Words that name the command, e.g. ['merchants', 'create']. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly usage?: string;
  /** Whether the command needs the database (opened, and migrated, before `run`). */
  readonly needsDatabase: boolean;
  run(args: readonly string[], context: CommandContext): Promise<number | void>;
}

/** A background job the worker role runs on a schedule. */
export interface Job {
  readonly name: string;
  readonly intervalMs: number;
  run(signal: AbortSignal): Promise<void>;
}

/** What is known about a module without a database: used for migrations, logs and `--help`. */
export interface ModuleManifest {
  readonly name: string;
  /**
   * The environment variables the module reads (its settings.ts): validated at start with every
   * other owner's, listed in the README's configuration table in the app's module order.
   */
  readonly settings?: SettingsDeclaration;
  /** Absolute path of the module's `migrations/` directory, if it owns tables. */
  readonly migrationsDirectory?: string;
  readonly redactPaths?: readonly string[];
  readonly commands?: readonly CliCommand[];
  /** Columns holding values sealed with the platform secrets key; `payflow secrets rotate-key` re-seals them. */
  readonly sealedColumns?: readonly SealedColumn[];
}

/** A module as the running process sees it, built by the composition root. */
export interface ModuleRuntime {
  readonly name: string;
  registerRoutes?(app: HttpApp): Promise<void> | void;
  readonly jobs?: readonly Job[];
  /** Called once when the process stops (close pools, flush buffers). */
  close?(): Promise<void>;
}

/** The public faces modules hand to later modules, filled in as each module is created. */
export interface ModuleFaces {
  [moduleName: string]: unknown;
}

export interface ModuleDefinition {
  readonly manifest: ModuleManifest;
  /** Builds the running module; returns its runtime and (optionally) the face later modules use. */
  create?(context: PlatformContext, faces: ModuleFaces): Promise<ModuleRuntime & { face?: unknown }>;
}

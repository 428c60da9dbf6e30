// The app's configuration (ADR 30): the platform's variables, then each module's in the app's module
// order. A start validates them all at once (every bad variable reported, one line each), and the
// README's configuration table (`npm run docs:config`) is rendered in the same order.
import { platformSettings, type Config } from '../platform/config.ts';
import {
  ConfigurationError,
  readSettings,
  settingsReader,
  settingsTable,
  type Environment,
  type SettingsDeclaration,
  type SettingsReader,
  type Variable,
} from '../platform/settings.ts';
import { modules } from './modules.ts';

export interface SettingsOwner {
  /** `platform` or a module's name. */
  readonly owner: string;
  readonly declaration: SettingsDeclaration;
}

/** Who declares which variables: the platform first, then the modules in the app's order. */
export function settingsOwners(): SettingsOwner[] {
  return [
    { owner: 'platform', declaration: platformSettings },
    ...modules.flatMap(({ manifest }) =>
      manifest.settings ? [{ owner: manifest.name, declaration: manifest.settings }] : [],
    ),
  ];
}

/** Every variable PayFlow reads, in the README's order. */
export function configurationVariables(): Variable<unknown>[] {
  return settingsOwners().flatMap(({ declaration }) => Object.values(declaration.variables));
}

export interface Configuration {
  readonly config: Config;
  readonly settings: SettingsReader;
}

/**
 * Validates every owner's variables (and the rules between them) against the environment, and
 * throws one ConfigurationError listing every bad one; then the platform's settings and the reader
 * modules take theirs from.
 */
export function loadConfiguration(env: Environment = process.env): Configuration {
  const problems = settingsOwners().flatMap(({ declaration }) => readSettings(declaration, env).problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  const settings = settingsReader(env);
  return { config: settings(platformSettings), settings };
}

/** The configuration table as Markdown, for the README (`npm run docs:config`). */
export function configurationTable(): string {
  return settingsTable(configurationVariables());
}

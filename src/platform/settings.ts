// The machinery of settings (ADR 30): a variable with its default, description and parser, the
// parsers, and the loading of one declaration from the environment. The platform declares its own
// variables in config.ts; each module declares its own in src/modules/<m>/settings.ts and exposes
// them on its manifest; the app (src/apps/configuration.ts) composes them, validates them all at
// start and renders the README's configuration table.

/** One bad variable: `invalid configuration: NAME reason`, one line. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

/** Every bad variable found at once; the message has one line per bad variable (a ConfigError's). */
export class ConfigurationError extends Error {
  constructor(readonly problems: readonly ConfigError[]) {
    super(problems.map((problem) => problem.message).join('\n'));
    this.name = 'ConfigurationError';
  }
}

export type Parser<T> = (raw: string, name: string) => T;

export interface Variable<T> {
  readonly name: string;
  readonly defaultValue: string | undefined;
  readonly description: string;
  readonly parse: Parser<T>;
}

export function variable<T>(
  name: string,
  defaultValue: string | undefined,
  description: string,
  parse: Parser<T>,
): Variable<T> {
  return { name, defaultValue, description, parse };
}

export type Variables = { readonly [key: string]: Variable<unknown> };

/** The parsed values of a set of variables, by key. */
export type Settings<V extends Variables> = { readonly [K in keyof V]: ReturnType<V[K]['parse']> };

/** The variables one owner (the platform or a module) reads, and the rules between them. */
export interface SettingsDeclaration<V extends Variables = Variables> {
  readonly variables: V;
  /** Rules between variables, checked once every one parsed on its own; one error per broken rule. */
  check?(settings: Settings<V>): readonly ConfigError[];
}

export function declareSettings<V extends Variables>(
  variables: V,
  check?: (settings: Settings<V>) => readonly ConfigError[],
): SettingsDeclaration<V> {
  return check ? { variables, check } : { variables };
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** Parses every variable of a declaration; the problems list every bad one (then no settings). */
export function readSettings<V extends Variables>(
  declaration: SettingsDeclaration<V>,
  env: Environment,
):
  | { settings: Settings<V>; problems: readonly [] }
  | { settings: undefined; problems: readonly ConfigError[] } {
  const problems: ConfigError[] = [];
  const entries = Object.entries(declaration.variables).map(([key, spec]) => {
    const raw = env[spec.name] ?? spec.defaultValue;
    try {
      return [key, raw === undefined ? undefined : spec.parse(raw, spec.name)];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error);
      return [key, undefined];
    }
  });
  if (problems.length > 0) return { settings: undefined, problems };
  const settings = Object.fromEntries(entries) as Settings<V>;
  const broken = declaration.check?.(settings) ?? [];
  return broken.length > 0 ? { settings: undefined, problems: broken } : { settings, problems: [] };
}

/** The settings of one declaration; throws ConfigurationError naming every bad variable. */
export function loadSettings<V extends Variables>(
  declaration: SettingsDeclaration<V>,
  env: Environment = process.env,
): Settings<V> {
  const read = readSettings(declaration, env);
  if (read.settings === undefined) throw new ConfigurationError(read.problems);
  return read.settings;
}

/** How a module reads its own settings from the process's (validated) environment. */
export type SettingsReader = <V extends Variables>(declaration: SettingsDeclaration<V>) => Settings<V>;

/** A reader over one environment; each declaration is parsed once. */
export function settingsReader(env: Environment): SettingsReader {
  const loaded = new WeakMap<SettingsDeclaration, unknown>();
  return <V extends Variables>(declaration: SettingsDeclaration<V>): Settings<V> => {
    if (!loaded.has(declaration)) loaded.set(declaration, loadSettings(declaration, env));
    return loaded.get(declaration) as Settings<V>;
  };
}

/** Markdown rows `| NAME | default | meaning |` under their header, in the order given. */
export function settingsTable(variables: readonly Variable<unknown>[]): string {
  const rows = variables.map(
    (spec) =>
      `| \`${spec.name}\` | ${spec.defaultValue === undefined ? '_(unset)_' : `\`${spec.defaultValue}\``} | ${spec.description} |`,
  );
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

// Parsers. Each throws ConfigError naming the variable.

export const integer =
  (minimum: number, maximum: number): Parser<number> =>
  (raw, name) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer (got "${raw}")`);
    const value = Number(raw.trim());
    if (!Number.isSafeInteger(value) || value < minimum || value > maximum) {
      throw new ConfigError(name, `must be an integer from ${minimum} to ${maximum} (got "${raw}")`);
    }
    return value;
  };

export const boolean: Parser<boolean> = (raw, name) => {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
};

export const oneOf =
  <T extends string>(...values: readonly T[]): Parser<T> =>
  (raw, name) => {
    const value = raw.trim() as T;
    if (!values.includes(value))
      throw new ConfigError(name, `must be one of ${values.join(', ')} (got "${raw}")`);
    return value;
  };

export const text: Parser<string> = (raw) => raw;

export const optionalText: Parser<string | undefined> = (raw) => (raw.trim() === '' ? undefined : raw.trim());

export const optionalUrl =
  (...protocols: readonly string[]): Parser<string | undefined> =>
  (raw, name) => {
    const value = raw.trim();
    if (value === '') return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(name, 'must be a URL');
    }
    if (!protocols.includes(url.protocol)) {
      throw new ConfigError(
        name,
        `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
      );
    }
    return value;
  };

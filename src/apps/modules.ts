// The composition root's list of bounded-context modules. Each module is reached only through its
// index.ts; this file is where they are wired together, in dependency order.
import type { ModuleManifest, ModuleRuntime, PlatformContext } from '../platform/module.ts';

export interface ModuleDefinition {
  readonly manifest: ModuleManifest;
  /** Builds the running module; `earlier` holds the runtimes of the modules listed before it. */
  create?(context: PlatformContext, earlier: ReadonlyMap<string, ModuleRuntime>): Promise<ModuleRuntime>;
}

export const modules: readonly ModuleDefinition[] = [];

export function manifests(): ModuleManifest[] {
  return modules.map((module) => module.manifest);
}

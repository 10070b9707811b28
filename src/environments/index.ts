/**
 * Sealed environments: specs in environments/<name>/, content keys, atomic cached builds, Node runtimes.
 * The executor calls `ensureEnvironment` before launching a task that names an environment.
 */
export { buildEnvironment, ensureEnvironment, formatBytes, type BuildOptions, type BuildResult, type EnsureOptions } from "./build.js";
export { listEnvironments, showEnvironment, removeEnvironment, pruneEnvironments, specKey, environmentUsers, type CatalogOptions, type Removal } from "./catalog.js";
export { EnvironmentBuildError, EnvironmentNotFoundError, EnvironmentSpecError, type BuildFailure } from "./errors.js";
export { scaffoldEnvironment, type ScaffoldOptions } from "./init.js";
export { environmentKey, shortKey, type KeyInputs } from "./key.js";
export { environmentLayout, type EnvironmentLayout, type LayoutOptions } from "./layout.js";
export { readBuild } from "./records.js";
export { mergeResources, parseMemory } from "./resources.js";
export { ensureRuntime, findCachedRuntime, runtimePackage, type Runtime } from "./runtime.js";
export { checkEnvironmentName, listEnvironmentNames, loadEnvironmentSpec } from "./spec.js";
export * from "./types.js";
export { writeEditorTypes, typesName, type EditorTypesResult, type TypeLink } from "./editor-types.js";

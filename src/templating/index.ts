/**
 * Jinja-syntax rendering of templated task fields. Runs inside the task runner: no I/O, bundles with esbuild.
 */
export { renderFields, renderString, templateStrings } from "./render.js";
export {
  buildTemplateContext, TEMPLATE_NAMES, type TemplateContext, type TemplateContextInput, type TemplateConnection,
  type TemplateTaskInstance,
} from "./context.js";
export { TemplateError, MacroError, type TemplateErrorReason, type TemplateLocation } from "./errors.js";
export { extractReferences, type TemplateReferences } from "./references.js";
export { LazyNamespace, BLOCKED_KEYS } from "./guard.js";
export { type Macros } from "./macros.js";

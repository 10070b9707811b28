/** What went wrong in a template: a closed set, so callers can react without parsing messages. */
export type TemplateErrorReason =
  /** The template does not parse. */
  | "syntax"
  /** It names something that is not defined (`{{ params.nope }}`, `{{ foo }}`). */
  | "undefined"
  /** It reads a key that could reach the host (`constructor`, `__proto__`, ...). */
  | "forbidden"
  /** An expression it outputs is null. */
  | "null_output"
  /** A value cannot be shell-quoted where a bash command pastes it (a here-document line equal to its delimiter). */
  | "shell"
  /** A function it calls threw: a variable or connection not granted, a missing XCom, a bad macro argument. */
  | "call";

/** Where a template sits: the DAG, the task and the templated field (e.g. "command" or "env.TOKEN"). */
export interface TemplateLocation {
  dagId: string;
  taskId: string;
  field?: string;
}

/** A templated field could not be rendered; the message names the DAG, task, field and template and says how to fix it. */
export class TemplateError extends Error {
  override name = "TemplateError";
  constructor(
    message: string,
    readonly reason: TemplateErrorReason,
    readonly where: TemplateLocation,
    readonly template: string,
    /** The undefined or forbidden expression, for `undefined` and `forbidden`. */
    readonly expression?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A macro (`macros.ds_add`, `macros.ds_format`, ...) was called with arguments it cannot use. */
export class MacroError extends Error {
  override name = "MacroError";
}

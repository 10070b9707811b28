/** Raised while a DAG file is being defined: bad options, duplicate ids, cycles. Always names the field and the fix. */
export class DagDefinitionError extends Error {
  override name = "DagDefinitionError";
  constructor(message: string, readonly field?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown by a task to end its try as skipped instead of failed (bash: exit 99). */
export class TaskSkipped extends Error {
  override name = "TaskSkipped";
}

/** Thrown when a task asks for a connection, variable or XCom it was not granted. */
export class NotGrantedError extends Error {
  override name = "NotGrantedError";
}

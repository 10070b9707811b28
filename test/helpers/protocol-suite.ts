/** One vitest suite per runner over the shared protocol vectors: both runners' tests are this same code. */
import { describe, expect, it } from "vitest";
import { resultFileSize, runVector, vectorsFor } from "./protocol-vectors.js";

/** Defines the vector tests of `runner`, started by `command`. */
export function protocolSuite(runner: "node" | "python", command: string[]): void {
  describe(`${runner} runner: shared protocol vectors`, () => {
    for (const [file, vector, expected] of vectorsFor(runner)) {
      for (const mode of ["fd3", "stdout"] as const) {
        it(`${file} (events on ${mode}): ${vector.name}`, async () => {
          const run = await runVector(command, vector, mode);
          try {
            expect(run.exit, run.log).toBe(expected.exit);
            expect(run.events.map((e) => e.seq)).toEqual(run.events.map((_, i) => i + 1));
            expect(run.events).toHaveLength(expected.events.length);
            expected.events.forEach((e, i) => expect(run.events[i]).toMatchObject(e));
            if (expected.log) expect(run.log).toContain(expected.log);
            const error = run.events.find((e) => e.type === "error");
            for (const line of expected.stack ?? []) expect(error && "error" in error ? error.error.stack : "").toContain(line);
            const result = run.events.find((e) => e.type === "result");
            if (expected.resultFile && result?.type === "result" && "ref" in result.value) {
              expect(resultFileSize(run, result.value.ref)).toBe(expected.resultFile.size);
            }
          } finally {
            run.cleanup();
          }
        });
      }
    }
  });
}

/** The python() factory: what a DAG file may write, and the clear errors for what it may not. */
import { describe, expect, it } from "vitest";
import { dag, isolated, python, serializeDag } from "../src/sdk/index.js";

const define = (options: Record<string, unknown>) => () => dag({ id: "d" }, () => {
  python(options as never);
});

describe("python()", () => {
  it("records callable and kwargs (templated) and works with isolated()", () => {
    const d = dag({ id: "d" }, () => {
      isolated(python({ id: "t", callable: "jobs/clean.py:main", kwargs: { day: "{{ ds }}" } }), { environment: "pandas2", resources: { memory: "512Mi" } });
    });
    const t = serializeDag(d).tasks.t;
    expect(t).toMatchObject({ kind: "python", args: { callable: "jobs/clean.py:main", kwargs: { day: "{{ ds }}" } }, templateFields: ["kwargs"], environment: "pandas2", resources: { memory: "512Mi" } });
  });

  it.each([
    ["jobs/clean.py", "callable must be \"path/file.py:function\""],
    ["/abs/clean.py:main", "relative to the DAG file and inside its folder"],
    ["../up/clean.py:main", "relative to the DAG file and inside its folder"],
    ["jobs/clean.js:main", "callable must be"],
    ["jobs/clean.py:2main", "callable must be"],
  ])("refuses callable %s", (callable, message) => {
    expect(define({ id: "t", callable })).toThrow(message);
  });

  it("refuses kwargs that are not an object and unknown options", () => {
    expect(define({ id: "t", callable: "a.py:f", kwargs: [1] })).toThrow("kwargs must be an object of keyword arguments");
    expect(define({ id: "t", callable: "a.py:f", kwarg: {} })).toThrow('unknown option "kwarg"');
  });
});

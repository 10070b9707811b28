import nunjucks from "nunjucks";
import { describe, expect, it, vi } from "vitest";
import { NotGrantedError } from "../src/sdk/errors.js";
import type { Connection } from "../src/sdk/types.js";
import {
  buildTemplateContext, extractReferences, renderFields, renderString, TemplateError, templateStrings,
  type TemplateContextInput, type TemplateErrorReason,
} from "../src/templating/index.js";

const where = { dagId: "etl", taskId: "load", field: "command" };

const connections: Record<string, Connection> = {
  warehouse: { id: "warehouse", type: "postgres", host: "db.internal", port: 5432, login: "etl", password: "s3cret", schema: "analytics", extra: { sslmode: "require" } },
  bare: { id: "bare", host: "bare.internal" },
};

function input(overrides: Partial<TemplateContextInput> = {}): TemplateContextInput {
  return {
    dagId: "etl", taskId: "load", runId: "scheduled__2026-03-28T23:00:00+00:00", tryNumber: 2,
    params: { name: "world", tables: ["a", "b"], nested: { depth: 3 }, nothing: null },
    conf: { mode: "full" },
    // Midnight in Oslo on 2026-03-29, the day clocks go forward.
    logicalDate: "2026-03-28T23:00:00Z",
    dataInterval: { start: "2026-03-28T23:00:00Z", end: "2026-03-29T22:00:00Z" },
    timezone: "Europe/Oslo",
    xcomPull: (taskId) => {
      if (taskId === "extract") return { rows: 42 };
      if (taskId === "count") return 7;
      throw new Error(`no XCom from task "${taskId}": it is not upstream of "load"`);
    },
    variable: (name) => {
      if (name === "env") return "prod";
      if (name === "settings") return '{"batch": 500, "tags": ["x", "y"]}';
      if (name === "a.b") return "dotted";
      if (name === "secret") throw new NotGrantedError(`variable "secret" is not granted to task "load"`);
      throw new Error(`variable "${name}" does not exist`);
    },
    connection: (id) => {
      const c = connections[id];
      if (!c) throw new NotGrantedError(`connection "${id}" is not granted to task "load"`);
      return c;
    },
    ...overrides,
  };
}

const ctx = buildTemplateContext(input());
const render = (template: string, c = ctx): string => renderString(template, c, where);

function failure(template: string, c = ctx): TemplateError {
  try {
    render(template, c);
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return e as TemplateError;
  }
  throw new Error(`expected ${JSON.stringify(template)} to fail`);
}

describe("template names", () => {
  it("renders run, DAG and task names", () => {
    expect(render("{{ params.name }} {{ params.tables[1] }} {{ params.nested.depth }} {{ conf.mode }} {{ dag_run.conf.mode }}")).toBe("world b 3 full full");
    expect(render("{{ run_id }}|{{ dag_run.run_id }}|{{ dag.dag_id }}|{{ task.task_id }}|{{ try_number }}|{{ ti.task_id }}|{{ ti.try_number }}"))
      .toBe("scheduled__2026-03-28T23:00:00+00:00|scheduled__2026-03-28T23:00:00+00:00|etl|load|2|load|2");
  });

  it("renders dates in the DAG's time zone", () => {
    expect(render("{{ ds }} {{ ds_nodash }}")).toBe("2026-03-29 20260329");
    expect(render("{{ ts }} {{ ts_nodash }}")).toBe("2026-03-29T00:00:00+01:00 20260329T000000");
    expect(render("{{ logical_date }} {{ data_interval_start }} {{ data_interval_end }}"))
      .toBe("2026-03-28T23:00:00.000Z 2026-03-28T23:00:00.000Z 2026-03-29T22:00:00.000Z");
    const utc = buildTemplateContext(input({ timezone: "UTC" }));
    expect(render("{{ ds }} {{ ts }}", utc)).toBe("2026-03-28 2026-03-28T23:00:00+00:00");
  });

  it("pulls XComs in all of Airflow's spellings", () => {
    expect(render(`{{ ti.xcom_pull("extract").rows }} {{ ti.xcom_pull('count') }} {{ ti.xcom_pull(task_ids="count") }}`)).toBe("42 7 7");
    expect(render(`{{ ti.xcom_pull(task_ids=["extract", "count"]) | dump }}`)).toBe('[{"rows":42},7]');
    expect(render(`{{ ti.xcom_pull(task_ids="count", key="return_value") }}`)).toBe("7");
    expect(failure(`{{ ti.xcom_pull("count", key="other") }}`).message).toMatch(/one XCom, its return value/);
    expect(failure("{{ ti.xcom_pull() }}").message).toMatch(/needs the id of an upstream task/);
  });

  it("reads variables as text or JSON, asking the callback once per name and only for named ones", () => {
    const variable = vi.fn(input().variable);
    const c = buildTemplateContext(input({ variable }));
    expect(render("{{ var.value.env }}-{{ var.value.env }} {{ var.json.settings.batch }} {{ var.json.settings.tags[1] }}", c)).toBe("prod-prod 500 y");
    expect(variable.mock.calls.map((call) => call[0])).toEqual(["env", "settings"]);
    expect(render(`{{ var.value.get("a.b") }} {{ var.value.get("missing", "fallback") }}`, c)).toBe("dotted fallback");
    expect(failure("{{ var.json.env }}").message).toMatch(/variable "env" is not JSON: read it as text with var.value.env/);
  });

  it("reads connections with Airflow's field names", () => {
    expect(render("{{ conn.warehouse.conn_type }}://{{ conn.warehouse.login }}:{{ conn.warehouse.password }}@{{ conn.warehouse.host }}:{{ conn.warehouse.port }}/{{ conn.warehouse.schema }}"))
      .toBe("postgres://etl:s3cret@db.internal:5432/analytics");
    expect(render("{{ conn.warehouse.extra }} {{ conn.warehouse.extra_dejson.sslmode }} {{ conn['warehouse'].host }}")).toBe('{"sslmode":"require"} require db.internal');
    const missing = failure("{{ conn.bare.login }}");
    expect(missing.reason).toBe("undefined");
    expect(missing.message).toMatch(/"conn.bare.login" is undefined.*set it on the connection/);
    expect(render("{{ conn.bare.login | default('anonymous') }}")).toBe("anonymous");
  });
});

describe("macros", () => {
  it("adds days and reformats dates like Airflow's ds_add and ds_format", () => {
    expect(render("{{ macros.ds_add(ds, 7) }} {{ macros.ds_add(ds, -29) }} {{ macros.ds_add('2024-02-28', 1) }} {{ macros.ds_add(ds=ds, days=3) }}"))
      .toBe("2026-04-05 2026-02-28 2024-02-29 2026-04-01");
    expect(render("{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%y') }}")).toBe("29/03/26");
    expect(render("{{ macros.ds_format(ds, '%Y-%m-%d', '%a %A %b %B %j %w %u') }}")).toBe("Sun Sunday Mar March 088 0 7");
    expect(render("{{ macros.ds_format('20260131 1805', '%Y%m%d %H%M', '%Y-%m-%dT%H:%M:%S %I%p') }}")).toBe("2026-01-31T18:05:00 06PM");
    expect(render("{{ macros.ds_format('05 Jan 2026', '%d %b %Y', '%F') }}")).toBe("2026-01-05");
  });

  it("explains bad macro arguments", () => {
    expect(failure("{{ macros.ds_add('03/29/2026', 1) }}").message).toMatch(/"03\/29\/2026" is not a date in YYYY-MM-DD form/);
    expect(failure("{{ macros.ds_format(ds, '%d.%m.%Y', '%Y') }}").message).toMatch(/does not match format "%d.%m.%Y"/);
    expect(failure("{{ macros.ds_format(ds, '%Y-%m-%d', '%Q') }}").message).toMatch(/%Q, which is not supported/);
  });

  it("has random, uuid4 and json", () => {
    const r = Number(render("{{ macros.random() }}"));
    expect(r).toBeGreaterThanOrEqual(0);
    expect(r).toBeLessThan(1);
    const [a, b] = render("{{ macros.uuid4() }} {{ macros.uuid4() }}").split(" ");
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(render("{{ macros.json.dumps(params.nested) }} {{ macros.json.loads('[1, 2]')[1] }}")).toBe('{"depth":3} 2');
    expect(render("{{ macros.json.dumps(params.tables, indent=2) }}")).toBe('[\n  "a",\n  "b"\n]');
  });
});

describe("undefined names and syntax errors", () => {
  it("names the DAG, task, field, template, the undefined name and the fix", () => {
    const e = failure("echo {{ params.nope }}");
    expect(e.reason).toBe<TemplateErrorReason>("undefined");
    expect(e.expression).toBe("params.nope");
    expect(e.where).toEqual(where);
    expect(e.message).toContain('DAG "etl", task "load", field "command"');
    expect(e.message).toContain('"params.nope" is undefined in template "echo {{ params.nope }}" (line 1, column 9)');
    expect(e.message).toMatch(/Define it in the DAG's params .* or pass it in the run conf/);
  });

  it("rejects unknown top-level names and lists the known ones", () => {
    const e = failure("{{ foo }}");
    expect(e.expression).toBe("foo");
    expect(e.message).toMatch(/"foo" is not a template variable; the names are params, conf,/);
    expect(failure("{{ conf.missing }}").message).toMatch(/Pass it in the run conf/);
    expect(failure("{{ macros.nope(1) }}").message).toMatch(/The macros are ds_add/);
  });

  it("lets default() and `is defined` handle undefined names, as Jinja's StrictUndefined does", () => {
    expect(render("{{ params.nope | default('x') }} {{ foo | d('y') }} {{ 'yes' if params.nope is defined else 'no' }} {{ foo is undefined }}"))
      .toBe("x y no true");
    expect(failure("{% if params.nope %}x{% endif %}").reason).toBe("undefined");
  });

  it("reports a null value and a syntax error with position", () => {
    const n = failure("a\n{{ params.nothing }}");
    expect(n.reason).toBe("null_output");
    expect(n.message).toMatch(/is null \(line 2.*default\("", true\)/);
    const s = failure("line one\n{% if %}");
    expect(s.reason).toBe("syntax");
    expect(s.message).toMatch(/field "command": template "line one\\n\{% if %\}" has a syntax error \(line 2, column 7\)/);
    expect(failure("{{ unclosed").reason).toBe("syntax");
  });
});

describe("templates cannot reach the host", () => {
  const leak = 'typeof process';
  it("the classic nunjucks escape works on plain nunjucks (so the checks below mean something)", () => {
    expect(new nunjucks.Environment([]).renderString(`{{ range.constructor("return ${leak}")() }}`, {})).toBe("object");
  });

  const attempts = [
    `{{ range.constructor("return ${leak}")() }}`,
    `{{ cycler.constructor("return ${leak}")() }}`,
    `{{ joiner["constructor"]("return ${leak}")() }}`,
    `{{ ""["constructor"]["constructor"]("return ${leak}")() }}`,
    `{% set k = "constr" ~ "uctor" %}{{ range[k][k]("return ${leak}")() }}`,
    `{% set f = macros.ds_add %}{{ f.constructor("return ${leak}")() }}`,
    `{{ params.tables.map.constructor("return ${leak}")() }}`,
    `{{ ti.xcom_pull.call.constructor }}`,
    `{{ params.__proto__ }}`,
    `{{ params.nested.__lookupGetter__("__proto__") }}`,
    `{{ macros.json.loads('{"__proto__": {"x": 1}}').__proto__.x }}`,
    `{{ r/x/.constructor }}`,
    `{% macro m() %}{% endmacro %}{{ m.constructor("return ${leak}")() }}`,
    `{{ constructor.getOwnPropertyNames(params) }}`,
    `{{ process.env }}`, `{{ require("fs") }}`, `{{ globalThis }}`, `{{ global }}`, `{{ this }}`,
    `{{ params.toString.constructor }}`,
  ];
  for (const attempt of attempts) {
    it(`blocks ${attempt}`, () => {
      const e = failure(attempt);
      expect(["forbidden", "undefined"]).toContain(e.reason);
      expect(e.message).toContain(attempt.length > 300 ? attempt.slice(0, 300) : JSON.stringify(attempt).slice(1, -1));
    });
  }

  it("names the forbidden key", () => {
    const e = failure(`{{ range.constructor("return ${leak}")() }}`);
    expect(e.reason).toBe("forbidden");
    expect(e.expression).toBe("range.constructor");
    expect(e.message).toMatch(/"constructor" may not be read in a template/);
  });

  it("cannot include, import or extend files", () => {
    for (const t of ['{% include "/etc/passwd" %}', '{% import "/etc/passwd" as p %}', '{% extends "/etc/hostname" %}']) {
      const e = failure(t);
      expect(e.reason).toBe("call");
      expect(e.message).toMatch(/template not found/);
    }
  });

  it("still allows ordinary string and list methods", () => {
    expect(render(`{{ "a,b".split(",") | join("+") }} {{ params.tables.length }} {{ params.tables.join("-") }} {{ params.name.toUpperCase() }}`))
      .toBe("a+b 2 a-b WORLD");
    expect(render("{% for t in params.tables %}{{ loop.index }}:{{ t }} {% endfor %}{% set x = 3 %}{{ x * 2 }}")).toBe("1:a 2:b 6");
  });
});

describe("callbacks that refuse", () => {
  it("surfaces a variable that is not granted, with the original error as cause", () => {
    const e = failure("{{ var.value.secret }}");
    expect(e.reason).toBe("call");
    expect(e.cause).toBeInstanceOf(NotGrantedError);
    expect(e.message).toContain('DAG "etl", task "load", field "command"');
    expect(e.message).toContain('NotGrantedError: variable "secret" is not granted to task "load"');
    expect(e.message).toMatch(/Grant it to the task/);
    // A fallback does not hide a refusal.
    expect(failure('{{ var.value.get("secret", "x") }}').cause).toBeInstanceOf(NotGrantedError);
  });

  it("surfaces a connection that is not granted and a missing XCom", () => {
    expect(failure("{{ conn.other.host }}").message).toContain('NotGrantedError: connection "other" is not granted');
    const x = failure('{{ ti.xcom_pull("elsewhere") }}');
    expect(x.reason).toBe("call");
    expect(x.message).toContain('no XCom from task "elsewhere"');
  });
});

describe("renderFields", () => {
  it("renders templated fields recursively and leaves everything else alone", () => {
    const args = {
      command: "load {{ ds }}",
      env: { TARGET: "{{ params.name }}", LIST: ["{{ params.tables[0] }}", 3, true, null], "{{ key }}": "k" },
      cwd: 42,
      untouched: "{{ not rendered }}",
    };
    const out = renderFields(args, ["command", "env", "cwd", "absent"], ctx, { dagId: "etl", taskId: "load" });
    expect(out).toEqual({
      command: "load 2026-03-29",
      env: { TARGET: "world", LIST: ["a", 3, true, null], "{{ key }}": "k" },
      cwd: 42,
      untouched: "{{ not rendered }}",
    });
    expect(args.command).toBe("load {{ ds }}");
    expect("absent" in out).toBe(false);
  });

  it("names the nested field in errors", () => {
    const args = { env: { A: "ok", LIST: ["fine", "{{ params.missing }}"] } };
    try {
      renderFields(args, ["env"], ctx, { dagId: "etl", taskId: "load" });
      throw new Error("expected a TemplateError");
    } catch (e) {
      expect(e).toBeInstanceOf(TemplateError);
      expect((e as TemplateError).where.field).toBe("env.LIST[1]");
      expect((e as TemplateError).message).toContain('field "env.LIST[1]"');
    }
  });
});

describe("extractReferences", () => {
  it("finds variables, connections and XCom tasks without evaluating", () => {
    const args = {
      command: `psql {{ conn.warehouse.host }} {{ conn["my-db"].login }} {{ var.value.env }} {{ var.json.settings.batch }}`,
      env: { A: `{{ ti.xcom_pull("extract") }} {{ ti.xcom_pull('count') }} {{ ti.xcom_pull(task_ids="t3") }}`, B: [`{{ ti.xcom_pull(task_ids=['t4', "t5"]) }}`] },
      body: `{{ var.value.get("a.b") }} {% if var.value.flag %}{{ conn.get("api").host }}{% endif %} {{ var.value.env }}`,
      path: "var.value.not_in_a_tag conn.plain",
    };
    const refs = extractReferences(templateStrings(args, ["command", "env", "body", "path"]));
    expect(refs).toEqual({
      variables: ["a.b", "env", "flag", "settings"],
      connections: ["api", "my-db", "warehouse"],
      xcomTasks: ["count", "extract", "t3", "t4", "t5"],
    });
  });

  it("skips names computed at render time and templates that do not parse", () => {
    expect(extractReferences(["{{ var.value[params.which] }}", "{{ conn.", "{{ ti.xcom_pull(params.t) }}"]))
      .toEqual({ variables: [], connections: [], xcomTasks: [] });
  });
});

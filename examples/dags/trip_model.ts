import { node, pipeline } from "airlock";

// A data pipeline: ingest → clean → features → train → evaluate. Each node is one sealed task; the datasets between
// them are passed by Airlock (csv and json here), never through shared state. "clean" and "evaluate" run with
// lodash 4 and "features" with lodash 3 (examples/environments): conflicting dependency versions in one pipeline.
// `features` and `metrics` have no catalog entry: they are run-scoped artifacts kept by Airlock.
// Run it: airlock dags test trip_model   (or airlock pipelines run-once trip_model --wait)

interface Trip { id: string; km: string; minutes: string; fare: string }
interface Row { km: number; minutes: number; fare: number }
interface Model { perKm: number; perMinute: number; base: number; trainedOn: number }

export default pipeline({
  id: "trip_model",
  description: "Taxi fares: ingest, clean, featurize, fit and evaluate a linear fare model",
  tags: ["example", "pipeline"],
  params: { model: { holdout: 0.25 }, rows: 200 },
  catalog: {
    raw_trips: { type: "csv", path: "data/{{ ds }}/raw_trips.csv" },
    clean_trips: { type: "csv", path: "data/{{ ds }}/clean_trips.csv" },
    model: { type: "json", path: "data/models/{{ ds }}.json" },
  },
}, [
  // Files in, files out: a bash command writes the raw CSV (with a duplicate and a broken row to clean up).
  node({
    name: "ingest",
    inputs: ["params:rows"],
    outputs: ["raw_trips"],
    command: `awk -v n="$AIRLOCK_INPUT_PARAMS_ROWS" 'BEGIN { print "id,km,minutes,fare"; s = 7;
      for (i = 1; i <= n; i++) { s = (s * 1103515245 + 12345) % 2147483648; km = 1 + s % 300 / 10; m = 3 + km * 2 + s % 7;
        printf "t%d,%.1f,%d,%.2f\\n", i, km, m, 2.5 + 1.2 * km + 0.3 * m }
      print "t1,1.0,5,5.2"; print "broken,,,"; }' > "$AIRLOCK_OUTPUT_RAW_TRIPS"`,
  }),
  node({
    name: "clean",
    inputs: ["raw_trips"],
    outputs: ["clean_trips"],
    environment: "lodash4",
    run: async ({ raw_trips }: { raw_trips: Trip[] }) => {
      const _ = (await import("lodash")).default;
      const complete = raw_trips.filter((t) => t.km !== "" && t.minutes !== "" && t.fare !== "");
      return { clean_trips: _.uniqBy(complete, "id") };
    },
  }),
  node({
    name: "features",
    inputs: ["clean_trips"],
    outputs: ["features"],
    environment: "lodash3",
    run: async ({ clean_trips }: { clean_trips: Trip[] }) => {
      const _ = (await import("lodash")).default;
      const rows: Row[] = _.map(clean_trips, (t: Trip) => ({ km: Number(t.km), minutes: Number(t.minutes), fare: Number(t.fare) }));
      return { features: { lodash: _.VERSION, rows } };
    },
  }),
  node({
    name: "train",
    inputs: ["features", "params:model"],
    outputs: ["model"],
    run: async ({ features, "params:model": cfg }: { features: { rows: Row[] }; "params:model": { holdout: number } }) => {
      const train = features.rows.slice(Math.round(features.rows.length * cfg.holdout));
      // Least squares for fare = base + perKm·km + perMinute·minutes (normal equations, 3×3).
      const x = train.map((r) => [1, r.km, r.minutes]);
      const a = [0, 1, 2].map((i) => [0, 1, 2].map((j) => x.reduce((s, r) => s + (r[i] as number) * (r[j] as number), 0)));
      const b = [0, 1, 2].map((i) => x.reduce((s, r, k) => s + (r[i] as number) * (train[k] as Row).fare, 0));
      const [base, perKm, perMinute] = solve(a, b);
      const model: Model = { base: base as number, perKm: perKm as number, perMinute: perMinute as number, trainedOn: train.length };
      return { model };
    },
  }),
  node({
    name: "evaluate",
    inputs: ["model", "features", "params:model"],
    outputs: ["metrics"],
    environment: "lodash4",
    run: async ({ model, features, "params:model": cfg }: { model: Model; features: { rows: Row[] }; "params:model": { holdout: number } }, ctx) => {
      const _ = (await import("lodash")).default;
      const test = features.rows.slice(0, Math.round(features.rows.length * cfg.holdout));
      const predict = (r: Row) => model.base + model.perKm * r.km + model.perMinute * r.minutes;
      const mean = _.meanBy(test, "fare");
      const ssRes = _.sumBy(test, (r: Row) => (r.fare - predict(r)) ** 2);
      const ssTot = _.sumBy(test, (r: Row) => (r.fare - mean) ** 2);
      const metrics = { r2: 1 - ssRes / ssTot, tested: test.length, lodash: _.VERSION };
      ctx.log.info(`r2 ${metrics.r2.toFixed(4)} on ${test.length} trips`);
      return { metrics };
    },
  }),
]);

/** Gaussian elimination for a small dense system. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  for (let c = 0; c < n; c++) {
    const p = m.slice(c).reduce((best, row, k) => (Math.abs(row[c] as number) > Math.abs((m[best] as number[])[c] as number) ? c + k : best), c);
    [m[c], m[p]] = [m[p] as number[], m[c] as number[]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = ((m[r] as number[])[c] as number) / ((m[c] as number[])[c] as number);
      for (let k = c; k <= n; k++) (m[r] as number[])[k] = ((m[r] as number[])[k] as number) - f * ((m[c] as number[])[k] as number);
    }
  }
  return m.map((row, i) => (row[n] as number) / (row[i] as number));
}

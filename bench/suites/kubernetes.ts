/**
 * Kubernetes benchmarks: a kubernetes backend try against a bare pod of the same image doing the same work,
 * created and awaited through the API (goal: within 1.2×), 30 tries at once (time until all finished), and issue
 * 14's rows through the whole orchestrator (chain, independent tasks, CPU per try; warm launch off and on).
 * Runs on the test cluster, reused when it is up and started (scripts/k8s/cluster.sh up) when it is not; when the
 * cluster was never built the suite is skipped with one line saying how (a benchmark does not spend half an hour
 * building a cluster).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Pod } from "@kubernetes/client-node";
import { createKubeClient } from "../../src/backends/kubernetes/client.js";
import { createKubernetesBackend } from "../../src/backends/kubernetes/index.js";
import { clusterImage } from "../../src/backends/kubernetes/images.js";
import { launchRequest, serializedTask } from "../../test/helpers/docker-runner.js";
import { kubernetesFixture } from "../../test/helpers/kubernetes-backend.js";
import { ensureCluster } from "../../test/helpers/kubernetes.js";
import { ROOT, type BenchRow } from "../lib.js";
import { tryFigures } from "../tries.js";

const SUITE = "kubernetes";
const ROUNDS = 5;
const PARALLEL = 30;
const COMMAND = "echo hello; echo 42";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const round = (n: number) => Math.round(n * 100) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function clusterUp(): boolean {
  try {
    execFileSync("bash", [path.join(ROOT, "scripts", "k8s", "cluster.sh"), "status"], { stdio: "ignore", timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** Creates a plain pod running `command` in `image` and waits until it has ended, as a user of the API would. */
async function barePod(client: ReturnType<typeof createKubeClient>, name: string, image: string, pullPolicy: string): Promise<void> {
  const body: V1Pod = {
    metadata: { name },
    spec: {
      restartPolicy: "Never", terminationGracePeriodSeconds: 1, automountServiceAccountToken: false, dnsPolicy: "Default",
      containers: [{ name: "main", image, imagePullPolicy: pullPolicy, command: ["/bin/sh", "-c", COMMAND] }],
    },
  };
  await client.core.createNamespacedPod({ namespace: client.namespace, body });
  for (;;) {
    const pod = await client.core.readNamespacedPod({ name, namespace: client.namespace });
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") break;
    await sleep(250);
  }
  // Reading the log is part of what a try gives; the bare pod pays for it too.
  await client.core.readNamespacedPodLog({ name, namespace: client.namespace, container: "main" });
  await client.core.deleteNamespacedPod({ name, namespace: client.namespace, gracePeriodSeconds: 0 });
}

/** Issue 14 through the whole orchestrator on the cluster: chain overhead, independent tasks/s, CPU per try. */
async function orchestratorRows(fx: Awaited<ReturnType<typeof kubernetesFixture>>): Promise<BenchRow[]> {
  const k = fx.config.kubernetes;
  const kubernetes = { kubeconfig: k.kubeconfig, namespace: k.namespace, registry: k.registry, podTemplate: k.podTemplate, startupTimeout: "120s" };
  const rows: BenchRow[] = [];
  for (const warm of [false, true]) {
    rows.push(...await tryFigures({
      suite: SUITE, backend: "kubernetes", label: `warm launch ${warm ? "on" : "off"}`, executor: { warmLaunch: warm }, chain: 10, wide: 30,
      config: { kubernetes },
      noWarmLaunch: "the kubernetes backend has no warm launch (executor.warmLaunch covers process and sandbox): each try is a new pod, created when the try launches",
    }));
  }
  return rows;
}

/** Runs the suite. */
export async function run(): Promise<BenchRow[]> {
  if (!clusterUp()) {
    // Started as the tests start it (and left running as they leave it); a cluster never built is not built here.
    process.stderr.write("bench: kubernetes: no cluster answers; starting the test cluster (scripts/k8s/cluster.sh up)…\n");
    try {
      await ensureCluster();
    } catch (err) {
      process.stderr.write(`bench: kubernetes skipped: ${(err as Error).message.split("\n").slice(0, 3).join(" ")} (build it once with \`bash scripts/k8s/cluster.sh build\`)\n`);
      return [];
    }
  }
  const fx = await kubernetesFixture("bench");
  try {
    const backend = createKubernetesBackend(fx.config);
    const client = createKubeClient(fx.config.kubernetes);
    const { image, pullPolicy } = await clusterImage(fx.config, null, () => undefined);
    const bare: number[] = [];
    const ours: number[] = [];
    const open: number[] = [];
    // Interleaved rounds after one warm-up of each, so node caches favour neither side.
    for (let i = 0; i <= ROUNDS; i++) {
      let t0 = performance.now();
      await barePod(client, `bare-${i}`, image, pullPolicy);
      if (i > 0) bare.push(performance.now() - t0);
      const request = launchRequest(fx.stateDir, { dagId: "bench", task: { ...serializedTask(`t${i}`, "bash", { command: COMMAND }), backend: "kubernetes" } });
      t0 = performance.now();
      const exit = await (await backend.launch(request)).exited;
      if (i > 0) ours.push(performance.now() - t0);
      if (exit.code !== 0) throw new Error(`bench try failed: ${exit.detail ?? exit.code}`);
      // The same try with network "host": no wait for the NetworkPolicy enforcer to isolate the pod.
      const hostRequest = launchRequest(fx.stateDir, { dagId: "bench", task: { ...serializedTask(`h${i}`, "bash", { command: COMMAND }), backend: "kubernetes" }, network: "host" });
      t0 = performance.now();
      const hostExit = await (await backend.launch(hostRequest)).exited;
      if (i > 0) open.push(performance.now() - t0);
      if (hostExit.code !== 0) throw new Error(`bench try failed: ${hostExit.detail ?? hostExit.code}`);
    }
    let t0 = performance.now();
    await Promise.all(Array.from({ length: PARALLEL }, (_v, i) => barePod(client, `bare-p${i}`, image, pullPolicy)));
    const bareParallelMs = performance.now() - t0;
    t0 = performance.now();
    const exits = await Promise.all(Array.from({ length: PARALLEL }, async (_v, i) => {
      const request = launchRequest(fx.stateDir, { dagId: "bench", task: { ...serializedTask(`p${i}`, "bash", { command: COMMAND }), backend: "kubernetes" } });
      return (await backend.launch(request)).exited;
    }));
    const parallelMs = performance.now() - t0;
    await backend.close();
    const failed = exits.filter((e) => e.code !== 0).length;
    if (failed > 0) throw new Error(`${failed} of ${PARALLEL} parallel tries failed; the first: ${exits.find((e) => e.code !== 0)?.detail ?? "?"}`);
    const b = median(bare);
    const o = median(ours);
    const tries = await orchestratorRows(fx);
    return [
      ...tries,
      { suite: SUITE, name: "bare pod through the API (median)", value: round(b), unit: "ms" },
      { suite: SUITE, name: "kubernetes backend try (median)", value: round(o), unit: "ms" },
      { suite: SUITE, name: "kubernetes backend / bare pod", value: round(o / b), unit: "x", goal: "<= 1.2" },
      { suite: SUITE, name: "kubernetes backend try, network host (median)", value: round(median(open)), unit: "ms" },
      { suite: SUITE, name: "kubernetes backend (network host) / bare pod", value: round(median(open) / b), unit: "x", goal: "<= 1.2" },
      { suite: SUITE, name: `${PARALLEL} bare pods at once, until all finished`, value: Math.round(bareParallelMs), unit: "ms" },
      { suite: SUITE, name: `${PARALLEL} tries at once, until all finished`, value: Math.round(parallelMs), unit: "ms" },
      { suite: SUITE, name: `${PARALLEL} tries at once / ${PARALLEL} bare pods at once`, value: round(parallelMs / bareParallelMs), unit: "x", goal: "<= 1.2" },
    ];
  } finally {
    await fx.cleanup();
  }
}

// `npx tsx bench/suites/kubernetes.ts` runs this suite alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const row of await run()) console.log(`${row.name}: ${row.value} ${row.unit}${row.goal ? ` (goal ${row.goal})` : ""}`);
}

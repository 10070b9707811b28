/**
 * The `kubernetes` section of the configuration: its schema and resolved type. Defaults are filled in
 * `config.ts` with every other section's.
 */
import { z } from "zod";

/** A toleration as Kubernetes spells it. */
export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  tolerationSeconds?: number;
}

/** CPU and memory quantities as Kubernetes spells them ("500m", "1", "256Mi"). */
export interface Quantities {
  cpu?: string;
  memory?: string;
}

/** A resource profile (seed 004): where a task's pod may go and what it asks for. */
export interface KubernetesProfile {
  nodeSelector?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  tolerations?: Toleration[];
  requests?: Quantities;
  limits?: Quantities;
}

/** How Airlock runs tries as pods. */
export interface KubernetesSettings {
  /** Kubeconfig file. @default null: $KUBECONFIG, ~/.kube/config, else the in-cluster service account */
  kubeconfig: string | null;
  /** Context of the kubeconfig. @default null: its current context */
  context: string | null;
  /** Namespace of every try's pod, Secret and runner ConfigMap. @default "default" */
  namespace: string;
  /** Registry environment images are pushed to and the cluster pulls from (host:port). @default null: images already on the nodes */
  registry: string | null;
  /** Names of Secrets (type docker-registry) used to pull images. @default [] */
  imagePullSecrets: string[];
  /** Service account of task pods; its token is mounted only when this (or the task) names one. @default null */
  serviceAccountName: string | null;
  /** YAML or JSON file of a pod merged under every task pod (Airlock's fields win). @default null */
  podTemplate: string | null;
  /** Longest time from creating a pod to Running before the try fails with the pod's events. @default 300000 (5 min) */
  startupTimeoutMs: number;
  /** What happens to a pod once its try ended. @default "delete" */
  onFinish: "delete" | "keepFailed" | "keep";
  /** Resource profiles by name; `__default__` applies to tasks that pick none. @default {} */
  profiles: Record<string, KubernetesProfile>;
}

const quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, "is not a Kubernetes quantity; write e.g. \"500m\", \"2\" or \"256Mi\""), z.number().positive().transform(String)]);
const quantities = z.object({ cpu: quantity, memory: quantity }).strict().partial();
const stringMap = z.record(z.string(), z.string());

const profileSchema = z.object({
  nodeSelector: stringMap,
  labels: stringMap,
  annotations: stringMap,
  tolerations: z.array(z.object({
    key: z.string(),
    operator: z.enum(["Exists", "Equal"]),
    value: z.string(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
    tolerationSeconds: z.number().int(),
  }).strict().partial()),
  requests: quantities,
  limits: quantities,
}).strict().partial();

const duration = z.union([
  z.number().int().positive(),
  z.string().regex(/^(\d+(ms|s|m|h))+$|^\d+$/, "is not a duration; write e.g. \"90s\", \"5m\" or milliseconds").transform(toMs),
]);

function toMs(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(m[1]) * (unit[m[2] as string] as number);
  return total;
}

/** Schema of the `kubernetes` section as written in a config file or AIRLOCK__KUBERNETES__* variables. */
export const kubernetesSchema = z.object({
  kubeconfig: z.string().min(1),
  context: z.string().min(1),
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "is not a namespace name (lower-case letters, digits and '-')"),
  registry: z.string().min(1),
  imagePullSecrets: z.union([z.array(z.string().min(1)), z.string().transform((s) => s.split(",").map((q) => q.trim()).filter(Boolean))]),
  serviceAccountName: z.string().min(1),
  podTemplate: z.string().min(1),
  startupTimeout: duration,
  onFinish: z.enum(["delete", "keepFailed", "keep"]),
  profiles: z.record(z.string().min(1), profileSchema),
}).strict().partial();

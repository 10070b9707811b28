/**
 * One place that turns the `kubernetes` configuration into API clients (kubeconfig file, context, or the
 * in-cluster service account), and checks with SelfSubjectAccessReview that Airlock may do what it does.
 */
import { existsSync } from "node:fs";
import { AuthorizationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import type { AirlockConfig } from "../../config/config.js";
import { KubernetesError, messageOf } from "./errors.js";

/** The kubernetes part of the configuration. */
export type KubernetesSettings = AirlockConfig["kubernetes"];

/** API clients of one cluster and the namespace tries run in. */
export interface KubeClient {
  kc: KubeConfig;
  core: CoreV1Api;
  namespace: string;
}

/** Loads the kubeconfig: `kubeconfig` wins, else $KUBECONFIG / ~/.kube/config, else in-cluster; `context` picks one. */
export function createKubeClient(settings: Pick<KubernetesSettings, "kubeconfig" | "context" | "namespace">): KubeClient {
  const kc = new KubeConfig();
  try {
    if (settings.kubeconfig) {
      if (!existsSync(settings.kubeconfig)) throw new Error(`${settings.kubeconfig} does not exist`);
      kc.loadFromFile(settings.kubeconfig);
    } else kc.loadFromDefault();
    if (settings.context) kc.setCurrentContext(settings.context);
  } catch (err) {
    throw new KubernetesError("cluster_unavailable", `loading the kubeconfig failed (${messageOf(err)}); set kubernetes.kubeconfig to a valid file and kubernetes.context to one of its contexts`, { cause: err });
  }
  if (!kc.getCurrentCluster()) {
    throw new KubernetesError("cluster_unavailable", "no Kubernetes cluster is configured: set kubernetes.kubeconfig (or $KUBECONFIG), or run Airlock inside a cluster");
  }
  return { kc, core: kc.makeApiClient(CoreV1Api), namespace: settings.namespace };
}

/** Every permission the backend uses, in the namespace: the README's Role grants exactly these. */
export const REQUIRED_ACCESS: ReadonlyArray<{ group?: string; resource: string; subresource?: string; verbs: string[] }> = [
  { resource: "pods", verbs: ["create", "get", "list", "watch", "delete"] },
  { resource: "pods", subresource: "log", verbs: ["get"] },
  { resource: "pods", subresource: "exec", verbs: ["create", "get"] },
  { resource: "secrets", verbs: ["create", "patch", "delete", "list"] },
  { resource: "configmaps", verbs: ["create", "get"] },
  { resource: "events", verbs: ["list"] },
  { group: "networking.k8s.io", resource: "networkpolicies", verbs: ["create"] },
];

/** Fails with the first permission the current identity lacks in the namespace (and how to grant it). */
export async function checkAccess(client: KubeClient): Promise<void> {
  const authz = client.kc.makeApiClient(AuthorizationV1Api);
  const checks = REQUIRED_ACCESS.flatMap((a) => a.verbs.map((verb) => ({ ...a, verb })));
  let answers: boolean[];
  try {
    answers = await Promise.all(checks.map(async (c) => {
      const review = await authz.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { namespace: client.namespace, verb: c.verb, resource: c.resource, ...(c.group ? { group: c.group } : {}), ...(c.subresource ? { subresource: c.subresource } : {}) } } },
      });
      return review.status?.allowed === true;
    }));
  } catch (err) {
    throw new KubernetesError("cluster_unavailable", `the Kubernetes API at ${client.kc.getCurrentCluster()?.server ?? "?"} did not answer (${messageOf(err)}); start the cluster or fix kubernetes.kubeconfig / kubernetes.context`, { cause: err });
  }
  const missing = checks.filter((_c, i) => !answers[i]).map((c) => `${c.verb} ${c.resource}${c.subresource ? `/${c.subresource}` : ""}`);
  if (missing.length > 0) {
    throw new KubernetesError("forbidden", `the identity of ${client.kc.getCurrentContext() || "this kubeconfig"} may not ${missing.join(", ")} in namespace ${client.namespace}; apply the Role and RoleBinding from the README's Kubernetes section to it`);
  }
}

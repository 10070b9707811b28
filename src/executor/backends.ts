/** Creates backends on first use; each is checked once and reports how to make it available. */
import type { AirlockConfig } from "../config/config.js";
import { UserError } from "../core/errors.js";
import type { BackendName } from "../sdk/types.js";
import type { Backend, ResolvedEnvironment } from "../backends/types.js";
import { createProcessBackend } from "../backends/process/index.js";

/** Lazily created backends of one orchestrator process. */
export class BackendRegistry {
  private readonly made = new Map<BackendName, Promise<Backend>>();

  constructor(private readonly config: AirlockConfig) {}

  /** The backend named `name`, created and checked on first use. */
  get(name: BackendName): Promise<Backend> {
    let b = this.made.get(name);
    if (!b) {
      b = this.create(name);
      this.made.set(name, b);
      b.catch(() => this.made.delete(name));
    }
    return b;
  }

  private async create(name: BackendName): Promise<Backend> {
    let backend: Backend;
    switch (name) {
      case "process":
        backend = createProcessBackend({ warm: { settings: this.config.executor.warmLaunch, stateDir: this.config.stateDir }, parallelism: this.config.executor.parallelism });
        break;
      case "inline": {
        const { createInlineBackend } = await import("../backends/inline/index.js");
        backend = createInlineBackend();
        break;
      }
      case "sandbox": {
        const { createSandboxBackend } = await import("../backends/sandbox/index.js");
        backend = createSandboxBackend(this.config, { warm: this.config.executor.warmLaunch, parallelism: this.config.executor.parallelism });
        break;
      }
      case "docker": {
        const { createDockerBackend } = await import("../backends/docker/index.js");
        backend = createDockerBackend(this.config);
        break;
      }
      case "kubernetes": {
        const { createKubernetesBackend } = await import("../backends/kubernetes/index.js");
        backend = createKubernetesBackend(this.config);
        break;
      }
    }
    const ok = await backend.check();
    if (!ok.ok) throw new UserError("unavailable", `the ${name} backend is not available here`, ok.hint);
    return backend;
  }

  /** True once the backend named `name` has been created in this process. */
  has(name: BackendName): boolean {
    return this.made.has(name);
  }

  /** Closes every backend that was created. */
  async close(): Promise<void> {
    const all = [...this.made.values()];
    this.made.clear();
    await Promise.all(all.map(async (b) => (await b.catch(() => null))?.close()));
  }
}

/** Builds (or finds the cached build of) an environment, logging progress into the try's log. */
export async function ensureEnvironment(config: AirlockConfig, name: string, log: (line: string) => void): Promise<ResolvedEnvironment> {
  const envs = (await import("../environments/index.js")) as { ensureEnvironment(c: AirlockConfig, n: string, o: { log: (l: string) => void }): Promise<ResolvedEnvironment> };
  return envs.ensureEnvironment(config, name, { log });
}

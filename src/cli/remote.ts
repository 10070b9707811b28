/** CLI commands that can also talk to a remote server: --api-url/--token or AIRLOCK__CLI__API_URL/TOKEN. */
import type { Command } from "commander";
import { ApiClient } from "../api/client.js";
import { config } from "./context.js";

/** Options every remote-capable command accepts. */
export interface RemoteOptions {
  apiUrl?: string;
  token?: string;
}

/** Adds --api-url and --token to a command. */
export function remoteOptions(cmd: Command): Command {
  return cmd
    .option("--api-url <url>", "send the request to this Airlock server instead of opening the local store (or AIRLOCK__CLI__API_URL)")
    .option("--token <token>", "bearer token for --api-url (or AIRLOCK__CLI__TOKEN; prefer the variable: arguments show in process lists)");
}

/** A client when a server URL was given (flag or configuration), else null (use the local store). */
export async function remoteClient(o: RemoteOptions): Promise<ApiClient | null> {
  const c = o.apiUrl || o.token ? null : await config().catch(() => null);
  const url = o.apiUrl ?? c?.cli.apiUrl ?? process.env.AIRLOCK__CLI__API_URL ?? null;
  if (!url) return null;
  const token = o.token ?? c?.cli.token ?? process.env.AIRLOCK__CLI__TOKEN ?? undefined;
  return new ApiClient({ url, token });
}

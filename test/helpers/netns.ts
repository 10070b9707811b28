/**
 * Several "hosts" on this machine for the multi-host suite: one network namespace per host, joined by veth pairs to
 * a bridge in the root namespace that holds the gateway address of a private /24 (nothing leaves the machine). The
 * shared Postgres listens on loopback only, so a small TCP relay on the bridge address forwards to it; cutting a
 * host's link (its eth0 down) cuts that host off the store. `cleanup()` deletes every namespace, veth, bridge and
 * relay it made, and runs even when creation failed half-way.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";

/** One simulated host. */
export interface NetHost {
  name: string;
  /** Network namespace name. */
  ns: string;
  ip: string;
}

/** The simulated hosts, the relay to Postgres, and their teardown. */
export interface NetHosts {
  hosts: NetHost[];
  gateway: string;
  /** `url` rewritten to reach Postgres (on 127.0.0.1) from inside the namespaces. */
  storeUrl(url: string): Promise<string>;
  /** Takes a host's link down (its connections hang, new ones fail) or back up. */
  setLink(host: NetHost, up: boolean): void;
  /** Starts `argv` inside a host's namespace. */
  spawnIn(host: NetHost, argv: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess;
  /** Deletes everything this made; idempotent. */
  cleanup(): Promise<void>;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

/** A /24 of 10.0.0.0/8 that no interface or route of this machine uses. */
function freeSubnet(): string {
  const used = ip("-4", "route", "show", "table", "all") + ip("-4", "addr");
  for (let i = 0; i < 50; i++) {
    const prefix = `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
  throw new Error("found no free 10.x.y.0/24 for the test hosts");
}

/** Creates `count` hosts. */
export async function createNetHosts(count: number): Promise<NetHosts> {
  const tag = randomBytes(3).toString("hex");
  const prefix = freeSubnet();
  const bridge = `alk${tag}br`;
  const hosts: NetHost[] = [];
  const relays: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const s of sockets) s.destroy();
    await Promise.all(relays.map((r) => new Promise((res) => r.close(res))));
    for (const h of hosts) {
      try {
        ip("netns", "del", h.ns);
      } catch {
        // Not created, or already gone.
      }
    }
    for (let i = 0; i < count; i++) {
      try {
        ip("link", "del", `alk${tag}h${i}`);
      } catch {
        // Deleting a namespace deletes its veth pairs.
      }
    }
    try {
      ip("link", "del", bridge);
    } catch {
      // Not created.
    }
  };
  try {
    ip("link", "add", bridge, "type", "bridge");
    ip("addr", "add", `${prefix}.1/24`, "dev", bridge);
    ip("link", "set", bridge, "up");
    for (let i = 0; i < count; i++) {
      const h: NetHost = { name: `host${i + 1}`, ns: `alk-${tag}-h${i + 1}`, ip: `${prefix}.${10 + i}` };
      hosts.push(h);
      const outer = `alk${tag}h${i}`;
      const inner = `alk${tag}p${i}`;
      ip("netns", "add", h.ns);
      ip("link", "add", outer, "type", "veth", "peer", "name", inner);
      ip("link", "set", inner, "netns", h.ns);
      ip("link", "set", outer, "master", bridge);
      ip("link", "set", outer, "up");
      ip("-n", h.ns, "link", "set", inner, "name", "eth0");
      ip("-n", h.ns, "addr", "add", `${h.ip}/24`, "dev", "eth0");
      ip("-n", h.ns, "link", "set", "eth0", "up");
      ip("-n", h.ns, "link", "set", "lo", "up");
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  const gateway = `${prefix}.1`;
  return {
    hosts,
    gateway,
    async storeUrl(url) {
      const target = new URL(url);
      const relay = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      relays.push(relay);
      await new Promise<void>((res, rej) => relay.listen(0, gateway, res).once("error", rej));
      const out = new URL(url);
      out.hostname = gateway;
      out.port = String((relay.address() as net.AddressInfo).port);
      return out.toString();
    },
    setLink(host, up) {
      ip("-n", host.ns, "link", "set", "eth0", up ? "up" : "down");
    },
    spawnIn(host, argv, options) {
      return spawn("ip", ["netns", "exec", host.ns, ...argv], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    },
    cleanup,
  };
}

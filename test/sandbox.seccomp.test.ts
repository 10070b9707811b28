/**
 * The sandbox's seccomp filter: inside a sandbox task, ptrace (strace, PTRACE_TRACEME), mount, the kernel keyring,
 * bpf and new user namespaces (`unshare -U`, clone with CLONE_NEWUSER) fail with EPERM, while threads, forks, other
 * namespaces' flags and ordinary work (node, python, bash) go on. The same probe in a sandbox without the filter
 * shows each of those calls reaching the kernel, so the test proves the filter and not the sandbox's other walls.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandboxBackend } from "../src/backends/sandbox/index.js";
import { ARCHES, assemble } from "../src/backends/sandbox/seccomp.js";
import type { Backend } from "../src/backends/types.js";
import { bashTry, ensureBubblewrap, makeProject, runTry, startSandbox, type SandboxFixture, type TestProject } from "./helpers/sandbox.js";

const table = ARCHES[process.arch as "x64" | "arm64"];
const nr = table.denied;
/** Each call with arguments that a kernel without the filter answers with something other than EPERM. */
const PROBE = `
import ctypes, errno, threading, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def call(name, number, *args):
    r = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
    e = ctypes.get_errno()
    print(name, "ok" if r >= 0 else errno.errorcode.get(e, str(e)))
call("ptrace", ${nr.ptrace}, 0, 0, 0, 0)
call("mount", ${nr.mount}, 1, 1, 1, 0, 0)
call("keyctl", ${nr.keyctl}, 0, -3, 0)
call("bpf", ${nr.bpf}, 9999, 0, 0)
call("setns", ${nr.setns}, -1, 0)
call("unshare_user", ${table.unshare}, 0x10000000)
call("unshare_none", ${table.unshare}, 0)
t = threading.Thread(target=lambda: print("thread ok")); t.start(); t.join()
print("child", subprocess.run(["/bin/true"]).returncode)
`;
const COMMAND = `/usr/bin/python3 -c '${PROBE.replace(/'/g, `'\\''`)}'
unshare -U true 2>/dev/null; echo "unshare-U $?"
strace -o /dev/null true 2>/dev/null; echo "strace $?"
node -e 'require("worker_threads"); new (require("worker_threads").Worker)("process.exit(0)", { eval: true }).on("exit", (c) => console.log("node worker", c))'
echo bash-ok $(( $(seq 100 | wc -l) ))`;

let project: TestProject;
let sandbox: SandboxFixture;
let unfiltered: Backend;

beforeAll(async () => {
  ensureBubblewrap();
  project = await makeProject("airlock-seccomp-");
  sandbox = await startSandbox(project);
  unfiltered = createSandboxBackend(project.config, { distDir: sandbox.distDir, seccomp: false });
});
afterAll(async () => {
  await unfiltered?.close();
  await sandbox?.close();
  project?.cleanup();
});

const lines = (log: string) => Object.fromEntries(log.split("\n").filter(Boolean).map((l) => [l.split(" ")[0], l.split(" ").slice(1).join(" ")]));

describe("sandbox seccomp filter", { timeout: 120_000 }, () => {
  it("denies ptrace, mount, keyrings, bpf, setns and new user namespaces; threads, forks, node, python and bash work", async () => {
    const out = await runTry(sandbox.backend, bashTry(project, "seccomp", COMMAND));
    expect(out.exit.code, out.log).toBe(0);
    expect(lines(out.log)).toMatchObject({
      ptrace: "EPERM", mount: "EPERM", keyctl: "EPERM", bpf: "EPERM", setns: "EPERM", unshare_user: "EPERM",
      unshare_none: "ok", thread: "ok", child: "0", "unshare-U": "1", strace: "1", node: "worker 0", "bash-ok": "100",
    });
  });

  it("without the filter the same calls reach the kernel (the probe can tell)", async () => {
    const out = await runTry(unfiltered, bashTry(project, "no_seccomp", COMMAND));
    const got = lines(out.log);
    expect(got).toMatchObject({ ptrace: "ok", mount: "EFAULT", bpf: "EINVAL", setns: "EBADF", unshare_user: "ok", "unshare-U": "0" });
  });

  it("assembles jumps within range and refuses a backward jump", () => {
    expect(() => assemble([{ op: "label", name: "a" }, { op: "jeq", k: 1, then: "a" }, { op: "ret", value: 0 }])).toThrow(/bad jump/);
  });
});

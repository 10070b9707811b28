/**
 * The sandbox's seccomp filter: a classic-BPF program (what `bwrap --seccomp FD` installs before it runs the task)
 * that denies with EPERM what a task never needs — tracing other processes, mounting, kernel keyrings, new user
 * namespaces, loading BPF programs or kernel modules, perf events, swap, reboot, kexec, file handles — and allows
 * everything else. Assembled here, so no libseccomp is needed.
 */

/** `struct seccomp_data` offsets: the syscall number, the audit architecture, the arguments (64-bit each). */
const NR = 0;
const ARCH = 4;
/** The low 32 bits of argument `i` (little-endian); the flags checked here all live there. */
const argLow = (i: number) => 16 + 8 * i;

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;
/** x32 syscalls come with this bit on x86_64 and bypass a table of x86_64 numbers. */
const X32_SYSCALL_BIT = 0x40000000;

/** Syscalls a task may not make at all (denied with EPERM). */
export const DENIED = [
  "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "open_tree", "move_mount",
  "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "keyctl", "add_key", "request_key", "bpf",
  "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "setns",
  "userfaultfd", "swapon", "swapoff", "reboot", "open_by_handle_at", "name_to_handle_at", "syslog", "acct",
] as const;
type Denied = (typeof DENIED)[number];

/** Syscall numbers per architecture: the denied ones, and those checked by their flags. */
interface ArchTable {
  audit: number;
  denied: Record<Denied, number>;
  unshare: number;
  clone: number;
  clone3: number;
  /** Syscall numbers at or above this are refused (x32 on x86_64). */
  maxNr?: number;
}

/** Numbers from the kernel's syscall tables (x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64: asm-generic). */
export const ARCHES: Record<"x64" | "arm64", ArchTable> = {
  x64: {
    audit: 0xc000003e,
    denied: {
      ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, mount: 165, umount2: 166, pivot_root: 155,
      open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
      keyctl: 250, add_key: 248, request_key: 249, bpf: 321, perf_event_open: 298, kexec_load: 246, kexec_file_load: 320,
      init_module: 175, finit_module: 313, delete_module: 176, setns: 308, userfaultfd: 323, swapon: 167, swapoff: 168,
      reboot: 169, open_by_handle_at: 304, name_to_handle_at: 303, syslog: 103, acct: 163,
    },
    unshare: 272, clone: 56, clone3: 435, maxNr: X32_SYSCALL_BIT,
  },
  arm64: {
    audit: 0xc00000b7,
    denied: {
      ptrace: 117, process_vm_readv: 270, process_vm_writev: 271, mount: 40, umount2: 39, pivot_root: 41,
      open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
      keyctl: 219, add_key: 217, request_key: 218, bpf: 280, perf_event_open: 241, kexec_load: 104, kexec_file_load: 294,
      init_module: 105, finit_module: 273, delete_module: 106, setns: 268, userfaultfd: 282, swapon: 224, swapoff: 225,
      reboot: 142, open_by_handle_at: 265, name_to_handle_at: 264, syslog: 116, acct: 89,
    },
    unshare: 97, clone: 220, clone3: 435,
  },
};

/** One classic-BPF instruction; jumps are to labels, resolved by `assemble`. */
type Insn =
  | { op: "ld"; offset: number }
  | { op: "jeq" | "jge" | "jset"; k: number; then?: string; else?: string }
  | { op: "ret"; value: number }
  | { op: "label"; name: string };

/** Encodes instructions as `struct sock_filter` (u16 code, u8 jt, u8 jf, u32 k; little-endian hosts). */
export function assemble(program: Insn[]): Buffer {
  const labels = new Map<string, number>();
  const code: Exclude<Insn, { op: "label" }>[] = [];
  for (const insn of program) {
    if (insn.op === "label") labels.set(insn.name, code.length);
    else code.push(insn);
  }
  const out = Buffer.alloc(code.length * 8);
  code.forEach((insn, i) => {
    const at = i * 8;
    const offset = (label: string | undefined) => {
      if (label === undefined) return 0;
      const target = labels.get(label);
      if (target === undefined || target <= i || target - i - 1 > 255) throw new Error(`seccomp: bad jump to ${label} at ${i}`);
      return target - i - 1;
    };
    if (insn.op === "ld") {
      out.writeUInt16LE(LD_W_ABS, at);
      out.writeUInt32LE(insn.offset, at + 4);
    } else if (insn.op === "ret") {
      out.writeUInt16LE(RET_K, at);
      out.writeUInt32LE(insn.value >>> 0, at + 4);
    } else {
      out.writeUInt16LE(insn.op === "jeq" ? JEQ_K : insn.op === "jge" ? JGE_K : JSET_K, at);
      out.writeUInt8(offset(insn.then), at + 2);
      out.writeUInt8(offset(insn.else), at + 3);
      out.writeUInt32LE(insn.k >>> 0, at + 4);
    }
  });
  return out;
}

/** The filter program for `arch` (Node's process.arch), or null for an architecture without a table. */
export function seccompProgram(arch: string = process.arch): Buffer | null {
  const t = arch === "x64" || arch === "arm64" ? ARCHES[arch] : null;
  if (!t || new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) return null;
  const p: Insn[] = [
    // Another architecture's syscalls (i386 on x86_64, for one) have other numbers: none are allowed.
    { op: "ld", offset: ARCH },
    { op: "jeq", k: t.audit, else: "eperm" },
    { op: "ld", offset: NR },
    ...(t.maxNr ? [{ op: "jge" as const, k: t.maxNr, then: "eperm" }] : []),
    ...DENIED.map((name) => ({ op: "jeq" as const, k: t.denied[name], then: "eperm" })),
    // clone3 passes its flags in memory a filter cannot read: ENOSYS makes the C libraries fall back to clone.
    { op: "jeq", k: t.clone3, then: "enosys" },
    { op: "jeq", k: t.unshare, then: "flags" },
    { op: "jeq", k: t.clone, then: "flags", else: "allow" },
    // unshare(flags) and clone(flags, ...) both take the flags first; only a new user namespace is refused.
    { op: "label", name: "flags" },
    { op: "ld", offset: argLow(0) },
    { op: "jset", k: CLONE_NEWUSER, then: "eperm", else: "allow" },
    { op: "label", name: "allow" },
    { op: "ret", value: RET_ALLOW },
    { op: "label", name: "eperm" },
    { op: "ret", value: RET_ERRNO | EPERM },
    { op: "label", name: "enosys" },
    { op: "ret", value: RET_ERRNO | ENOSYS },
  ];
  return assemble(p);
}

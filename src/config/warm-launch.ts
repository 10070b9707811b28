/** The `executor.warmLaunch` settings: runners started before tries are claimed (see backends/warm). */

/** How many runners are kept waiting, for how long, within which bounds. */
export interface WarmLaunchSettings {
  /** Start runners before tries are claimed (process and sandbox backends). @default true */
  enabled: boolean;
  /** Runners kept waiting per key (environment, backend, isolation settings). @default 2 */
  perEnvironment: number;
  /** A key without a launch for this long has its waiting runners ended. @default 60000 */
  idleMs: number;
  /** Waiting runners of one backend, all keys together. @default 8 */
  maxProcesses: number;
  /** Resident memory of one backend's waiting runners together, in MiB. @default 512 */
  maxMemoryMiB: number;
}

/** Defaults of `executor.warmLaunch`. */
export const WARM_LAUNCH_DEFAULTS: WarmLaunchSettings = { enabled: true, perEnvironment: 2, idleMs: 60_000, maxProcesses: 8, maxMemoryMiB: 512 };

import v8 from 'node:v8';

/**
 * Growth of V8's old generation past the live heap before the next full
 * garbage collection, in percent. With V8's default, the old generation of
 * a server with about 26 MB live filled with dead request objects to about
 * 105 MB before each collection, and RSS peaked at about 205 MB under wrk
 * (non-stream c=64, stream c=16). With 50 it peaked at about 136 MB, for
 * about 5 % more CPU per non-stream request and 3 % per stream (medians of
 * five runs). 100 peaked at about 148 MB with no CPU cost above the noise,
 * and 25 saved 5 MB more than 50 but cost about 15 % more CPU per request.
 * Measured with Node 20.20.2 on 2 vCPUs, the server pinned to one of them.
 */
export const HEAP_GROWING_PERCENT = 50;

const FLAG_NAMES = ['--heap-growing-percent', '--heap_growing_percent'];

/**
 * Returns the V8 flag to set, or undefined when the process was started with
 * its own heap growth flag (on the command line or in NODE_OPTIONS), which
 * then wins.
 */
export function heapGrowthFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const args = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  const userSet = args.some((arg) => FLAG_NAMES.some((name) => arg === name || arg.startsWith(`${name}=`)));
  return userSet ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** Sets the heap growth flag in this process unless the command line already sets it. */
export function applyHeapGrowth(): void {
  const flag = heapGrowthFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (flag !== undefined) v8.setFlagsFromString(flag);
}

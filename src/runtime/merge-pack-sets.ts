import { hashPackSet, type LoadedPack, type PackFailure, type PackSet } from '../packs/load-packs.js';

export interface MergedPackSet {
  packSet: PackSet;
  /** Packs whose new file is invalid; their last good version keeps serving. */
  rejected: PackFailure[];
}

/**
 * Combines a freshly loaded pack set with the one serving now. A pack whose
 * file became invalid keeps its last good version, so a bad edit never
 * takes a working alias down; a pack that never loaded stays failed, and a
 * deleted file drops its pack.
 */
export function mergePackSets(previous: PackSet, next: PackSet): MergedPackSet {
  const packs = new Map<string, LoadedPack>(next.packs);
  const failures = new Map<string, PackFailure>();
  const rejected: PackFailure[] = [];

  for (const [name, failure] of next.failures) {
    const lastGood = previous.packs.get(name);
    if (lastGood !== undefined) {
      packs.set(name, lastGood);
      rejected.push(failure);
    } else {
      failures.set(name, failure);
    }
  }
  return { packSet: { packs, failures, hash: hashPackSet(packs) }, rejected };
}

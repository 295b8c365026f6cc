/**
 * Each replica loads packs from its own mounted folder and reloads on its own
 * file watch; /readyz reports the loaded pack set's content hash so an
 * operator can see whether the replicas agree.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { loadPackSet } from '../../src/packs/load-packs.js';
import { Reloader } from '../../src/runtime/reloader.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { waitFor } from './support.js';

interface Readiness {
  status: string;
  packSetHash: string;
  packs: string[];
  failedPacks: string[];
}

let proxies: TestProxy[] = [];
let reloaders: Reloader[] = [];
let folders: string[] = [];

afterEach(async () => {
  for (const reloader of reloaders) reloader.stop();
  for (const proxy of proxies) await proxy.close();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  proxies = [];
  reloaders = [];
  folders = [];
});

function keeperPack(preamble: string) {
  return {
    name: 'keeper',
    title: 'Lighthouse keeper',
    preamble,
    examples: [{ user: 'Who is at the door?', thinking: 'A stranger at night; I should ask first.', answer: '"Who goes there?" Ada asks.' }],
  };
}

const BARD_PACK = { name: 'bard', preamble: 'You are a travelling bard. Answer in verse.' };

const CONFIG = {
  upstreams: { default: { baseUrl: 'http://127.0.0.1:9/v1' } },
  aliases: { keeper: { pack: 'keeper', model: 'm' }, bard: { pack: 'bard', model: 'm' } },
};

async function readiness(proxy: TestProxy): Promise<Readiness> {
  const response = await fetch(`${proxy.url}/readyz`);
  expect(response.status).toBe(200);
  return (await response.json()) as Readiness;
}

/** Starts an instance with its own folder and its own file watch, as a replica with its own mounted volume. */
async function startReplica(options: { packs?: Record<string, unknown>; packsDir?: string } = {}): Promise<TestProxy> {
  const config = options.packsDir === undefined ? CONFIG : { ...CONFIG, packsDir: options.packsDir };
  const proxy = await startProxy({ config, packs: options.packs ?? {} });
  proxies.push(proxy);
  const reloader = new Reloader({ state: proxy.state, logger: proxy.app.log, env: {}, debounceMs: 50 });
  reloader.start();
  reloaders.push(reloader);
  return proxy;
}

function writePack(proxy: TestProxy, fileName: string, pack: unknown): void {
  writeFileSync(path.join(proxy.folder, 'packs', fileName), toYaml(pack));
}

/** Computes the hash that a fresh load of these pack files gets from a folder of regular files. */
function hashOf(packs: Record<string, unknown>): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'microtune-hash-'));
  folders.push(folder);
  for (const [fileName, pack] of Object.entries(packs)) writeFileSync(path.join(folder, fileName), toYaml(pack));
  return loadPackSet(folder).hash;
}

describe('pack set hash across replicas', () => {
  it('matches on identical packs', async () => {
    const packs = { 'keeper.yaml': keeperPack('You are Ada, the lighthouse keeper.'), 'bard.yaml': BARD_PACK };
    const a = await startReplica({ packs });
    const b = await startReplica({ packs });

    const [readyA, readyB] = [await readiness(a), await readiness(b)];
    expect(readyA.packs).toEqual(['bard', 'keeper']);
    expect(readyA.failedPacks).toEqual([]);
    expect(readyA.packSetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(readyB.packSetHash).toBe(readyA.packSetHash);
    expect(readyA.packSetHash).toBe(hashOf(packs));
  });

  it('differs mid-rollout, then agrees', async () => {
    const packs = { 'keeper.yaml': keeperPack('You are Ada, the lighthouse keeper.'), 'bard.yaml': BARD_PACK };
    const a = await startReplica({ packs });
    const b = await startReplica({ packs });
    const oldHash = (await readiness(a)).packSetHash;
    const edited = keeperPack('You are Ada, the lighthouse keeper. You have kept the light for thirty years.');
    const newHash = hashOf({ ...packs, 'keeper.yaml': edited });
    expect(newHash).not.toBe(oldHash);

    writePack(a, 'keeper.yaml', edited);
    await waitFor('replica A to reload the edited pack', async () => (await readiness(a)).packSetHash === newHash);
    expect((await readiness(b)).packSetHash, 'replica B has not seen the edit yet').toBe(oldHash);

    writePack(b, 'keeper.yaml', edited);
    await waitFor('replica B to reload the edited pack', async () => (await readiness(b)).packSetHash === newHash);
    expect((await readiness(a)).packSetHash).toBe(newHash);
  });

  it('loads and reloads a ConfigMap volume', async () => {
    // The kubelet mounts a ConfigMap as a folder of symlinks: <key> -> ..data/<key>,
    // where ..data is itself a symlink to a timestamped folder. An update writes a
    // new timestamped folder and renames a new ..data symlink over the old one.
    const volume = mkdtempSync(path.join(tmpdir(), 'microtune-configmap-'));
    folders.push(volume);
    const writeVersion = (version: string, packs: Record<string, unknown>) => {
      const folder = path.join(volume, `..2026_01_01_00_00_0${version}.000000001`);
      mkdirSync(folder);
      for (const [fileName, pack] of Object.entries(packs)) writeFileSync(path.join(folder, fileName), toYaml(pack));
      return path.basename(folder);
    };
    const packs = { 'keeper.yaml': keeperPack('You are Ada, the lighthouse keeper.'), 'bard.yaml': BARD_PACK };
    const first = writeVersion('1', packs);
    symlinkSync(first, path.join(volume, '..data'));
    for (const fileName of Object.keys(packs)) symlinkSync(path.join('..data', fileName), path.join(volume, fileName));

    const replica = await startReplica({ packsDir: volume });
    const ready = await readiness(replica);
    expect(ready.packs, 'packs loaded through the ConfigMap symlinks').toEqual(['bard', 'keeper']);
    expect(ready.packSetHash).toBe(hashOf(packs));

    const edited = { ...packs, 'keeper.yaml': keeperPack('You are Ada. You have kept the light for thirty years.') };
    const second = writeVersion('2', edited);
    symlinkSync(second, path.join(volume, '..data_tmp'));
    renameSync(path.join(volume, '..data_tmp'), path.join(volume, '..data'));
    rmSync(path.join(volume, first), { recursive: true });

    const newHash = hashOf(edited);
    await waitFor('the replica to reload after the ConfigMap update', async () => (await readiness(replica)).packSetHash === newHash);
  });
});

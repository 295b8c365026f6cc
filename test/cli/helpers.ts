import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runCli } from '../../src/cli/run.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command in-process with captured output. The environment is empty unless given, so messages are Chinese. */
export function run(argv: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): CliRun {
  let stdout = '';
  let stderr = '';
  const code = runCli(argv, {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: options.env ?? {},
    cwd: options.cwd ?? REPO_ROOT,
  });
  return { code, stdout, stderr };
}

/** Matches the frames of a JavaScript stack trace. */
export const STACK_FRAME = /\n\s+at [^\n]+:\d+:\d+/;

/** Temporary project folders, each with files given by relative path. */
export class TempProjects {
  private readonly folders: string[] = [];

  make(files: Record<string, string | Buffer> = {}): string {
    const folder = mkdtempSync(path.join(tmpdir(), 'microtune-cli-'));
    this.folders.push(folder);
    for (const [relative, content] of Object.entries(files)) {
      const file = path.join(folder, relative);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    return folder;
  }

  cleanup(): void {
    for (const folder of this.folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  }
}

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Debian packages the suite drives for real: Chromium (with CJK fonts) for the
 * playground test, redis-server for the scale-out tests and nginx for the
 * deploy check. A missing one is installed when the suite runs as root (as on
 * a fresh machine of this project's kind); otherwise the run stops with the
 * command to run. No test is skipped for a missing tool.
 */
const REQUIRED: { name: string; present: () => boolean }[] = [
  { name: 'chromium', present: () => existsSync('/usr/bin/chromium') },
  { name: 'fonts-noto-cjk', present: () => spawnSync('dpkg', ['-s', 'fonts-noto-cjk'], { stdio: 'ignore' }).status === 0 },
  { name: 'redis-server', present: () => spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0 },
  { name: 'nginx', present: () => spawnSync('sh', ['-c', 'command -v nginx'], { stdio: 'ignore' }).status === 0 },
];

const POLICY_FILE = '/usr/sbin/policy-rc.d';

export default function installTestTools(): void {
  const missing = REQUIRED.filter((tool) => !tool.present()).map((tool) => tool.name);
  if (missing.length === 0) return;

  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`The tests need these Debian packages: ${missing.join(', ')}. Install them with: sudo sh -c '${command}'`);
  }

  process.stderr.write(`Installing test tools with apt-get: ${missing.join(' ')}\n`);
  // policy-rc.d keeps the packages' own services (Redis on 6379, nginx on 80) from starting.
  const createdPolicy = !existsSync(POLICY_FILE);
  if (createdPolicy) {
    writeFileSync(POLICY_FILE, '#!/bin/sh\nexit 101\n');
    chmodSync(POLICY_FILE, 0o755);
  }
  try {
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', ...missing], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } finally {
    if (createdPolicy) rmSync(POLICY_FILE, { force: true });
  }
}

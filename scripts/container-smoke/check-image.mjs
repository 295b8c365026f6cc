// Checks the contents of the runtime image. scripts/container-smoke.sh pipes
// this file into `node --input-type=module -` inside the image, so it runs as
// the image's user with /app as the working directory.
//
// Every package that package-lock.json marks dev-only must be absent from
// /app/node_modules and every required production package present. Optional
// packages may be either, because npm skips those built for other platforms.
// No production package may have an install script, because the runtime stage
// installs with --ignore-scripts.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';

const APP = '/app';
const failures = [];
const expect = (condition, message) => {
  if (!condition) failures.push(message);
};

expect(process.getuid() !== 0, 'the image runs as root (uid 0)');

const lock = JSON.parse(readFileSync(`${APP}/package-lock.json`, 'utf8'));
let devCount = 0;
let productionCount = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  if (!path.startsWith('node_modules/')) continue;
  const installed = existsSync(`${APP}/${path}/package.json`);
  if (entry.dev === true) {
    devCount += 1;
    expect(!installed, `dev dependency ${path} is in the image`);
  } else if (entry.optional !== true && entry.devOptional !== true) {
    productionCount += 1;
    expect(installed, `production dependency ${path} is missing from the image`);
  }
  if (entry.dev !== true) {
    expect(
      entry.hasInstallScript !== true,
      `production dependency ${path} has an install script, which the Dockerfile's npm ci --ignore-scripts skips`,
    );
  }
}

// Named checks, so a lockfile without dev flags cannot pass the loop above unnoticed.
// A package counts as installed when Node's lookup folders hold its package.json,
// whatever its "exports" field allows.
const require = createRequire(`${APP}/package.json`);
const isInstalled = (name) =>
  (require.resolve.paths(name) ?? []).some((folder) => existsSync(`${folder}/${name}/package.json`));
for (const name of ['vitest', 'typescript', 'openai', 'eslint']) {
  expect(!isInstalled(name), `dev dependency ${name} is in the image`);
}
// Loading, not only finding, the main production packages also catches a missing transitive dependency.
for (const name of ['fastify', 'yaml', 'pino', 'undici']) {
  try {
    require(name);
  } catch (error) {
    failures.push(`production dependency ${name} does not load: ${error.message}`);
  }
}

for (const path of ['dist/main.js', 'config/microtune.yaml', 'packs/intern-doctor.yaml']) {
  expect(existsSync(`${APP}/${path}`), `${APP}/${path} is missing`);
}
for (const path of ['src', 'test', 'bench', 'node_modules/.cache', '.git']) {
  expect(!existsSync(`${APP}/${path}`), `${APP}/${path} is in the image`);
}

if (failures.length > 0) {
  console.error(`image check failed:\n  - ${failures.join('\n  - ')}`);
  process.exit(1);
}
console.log(
  `image check passed: uid ${process.getuid()}, ${productionCount} production packages present, ` +
    `${devCount} dev-only packages absent, no src/ or test/`,
);

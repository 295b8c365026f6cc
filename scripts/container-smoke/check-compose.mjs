// Static check of compose.yaml, for machines without a compose tool that can
// validate offline (Debian bookworm's podman-compose 1.0.3 has no `config`
// command). It checks the structure that the README documents and that the
// Dockerfile relies on. It does not validate against the full Compose schema.
//
// Usage: node scripts/container-smoke/check-compose.mjs [COMPOSE_FILE]
// Needs the repository's npm dependencies (the `yaml` package).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import process from 'node:process';
import { parse } from 'yaml';

const composeFile = resolve(process.argv[2] ?? 'compose.yaml');
const projectDir = dirname(composeFile);
const failures = [];
const expect = (condition, message) => {
  if (!condition) failures.push(message);
};

const isMap = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Returns a service's environment as a map, from either compose form (map or KEY=value list). */
function environmentOf(service) {
  if (Array.isArray(service.environment)) {
    return Object.fromEntries(
      service.environment.map((entry) => {
        const separator = String(entry).indexOf('=');
        return separator < 0 ? [entry, undefined] : [entry.slice(0, separator), entry.slice(separator + 1)];
      }),
    );
  }
  return isMap(service.environment) ? service.environment : {};
}

const compose = parse(readFileSync(composeFile, 'utf8'));
const services = isMap(compose) && isMap(compose.services) ? compose.services : {};
expect(Object.keys(services).length > 0, `${composeFile}: services is missing or empty`);

for (const [name, service] of Object.entries(services)) {
  if (!isMap(service)) {
    failures.push(`services.${name}: expected a map`);
    continue;
  }
  expect(service.image !== undefined || service.build !== undefined, `services.${name}: has neither image nor build`);
  for (const port of service.ports ?? []) {
    // Short syntax "HOST_IP:HOST_PORT:CONTAINER_PORT". A port without 127.0.0.1 is published on every interface.
    expect(String(port).startsWith('127.0.0.1:'), `services.${name}.ports: "${port}" is not bound to 127.0.0.1`);
  }
  for (const volume of service.volumes ?? []) {
    const source = String(volume).split(':')[0];
    if (source.startsWith('.') || source.startsWith('/')) {
      expect(existsSync(resolve(projectDir, source)), `services.${name}.volumes: "${source}" does not exist`);
    } else {
      expect(
        isMap(compose.volumes) && source in compose.volumes,
        `services.${name}.volumes: named volume "${source}" is not declared under volumes`,
      );
    }
  }
}

const microtune = services.microtune;
const ollama = services.ollama;
expect(isMap(microtune), 'services.microtune is missing');
expect(isMap(ollama), 'services.ollama is missing');

if (isMap(microtune)) {
  const exposed = /^EXPOSE\s+(\d+)/m.exec(readFileSync(resolve(projectDir, 'Dockerfile'), 'utf8'))?.[1];
  expect(exposed !== undefined, 'Dockerfile: no EXPOSE line');
  expect(
    (microtune.ports ?? []).map(String).includes(`127.0.0.1:${exposed}:${exposed}`),
    `services.microtune.ports: expected "127.0.0.1:${exposed}:${exposed}" (the Dockerfile's EXPOSE)`,
  );
  const volumes = (microtune.volumes ?? []).map(String);
  for (const mount of ['./packs:/app/packs:ro', './config:/app/config:ro']) {
    expect(volumes.includes(mount), `services.microtune.volumes: "${mount}" is missing`);
  }
  expect(
    existsSync(resolve(projectDir, 'config/microtune.yaml')),
    'config/microtune.yaml is missing, but the image reads MICROTUNE_CONFIG=/app/config/microtune.yaml',
  );
  const environment = environmentOf(microtune);
  expect(
    environment.UPSTREAM_BASE_URL === 'http://ollama:11434/v1',
    `services.microtune.environment.UPSTREAM_BASE_URL is "${environment.UPSTREAM_BASE_URL}", expected "http://ollama:11434/v1"`,
  );
  const dependsOn = Array.isArray(microtune.depends_on) ? microtune.depends_on : Object.keys(microtune.depends_on ?? {});
  expect(dependsOn.includes('ollama'), 'services.microtune.depends_on does not name ollama');
  const test = microtune.healthcheck?.test;
  expect(
    Array.isArray(test) && test[0] === 'CMD' && test.join(' ').includes('/healthz'),
    'services.microtune.healthcheck.test is not a CMD probe of /healthz',
  );
  expect(microtune.init === true, 'services.microtune.init is not true, so SIGTERM would reach node as PID 1');
}

if (isMap(ollama)) {
  expect(
    typeof ollama.image === 'string' && /^(docker\.io\/)?ollama\/ollama(:|$)/.test(ollama.image),
    `services.ollama.image is "${ollama.image}", expected ollama/ollama`,
  );
}

if (failures.length > 0) {
  console.error(`compose check failed for ${composeFile}:\n  - ${failures.join('\n  - ')}`);
  process.exit(1);
}
console.log(`compose check passed: ${composeFile} (services: ${Object.keys(services).join(', ')})`);

// Static checks of deploy/compose.replicas.yaml: two or more replicas built
// from the repository, sharing one Redis, behind an nginx that is the only
// service published, and only on 127.0.0.1.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { durationSeconds, isMap, parseMicrotuneConfig, parseYamlFile } from './common.mjs';

const MIN_STOP_MARGIN_SECONDS = 2;
/** The upstream first-byte timeout when the config sets none (DEFAULT_TIMEOUTS in src/proxy/upstream-client.ts). */
const DEFAULT_FIRST_BYTE_MS = 600_000;

const firstByteSecondsOf = (upstream) => (upstream.timeouts?.firstByteMs ?? DEFAULT_FIRST_BYTE_MS) / 1000;

/** Returns a service's environment as a map, from either Compose form (map or KEY=value list). */
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

/** Applies Compose's `${VAR:-default}` interpolation with every variable unset, as on a machine without a .env file. */
function interpolateDefaults(value) {
  return String(value).replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (_match, fallback) => fallback ?? '');
}

/** Splits a short-syntax volume "SOURCE:TARGET[:MODE]". */
function splitVolume(volume) {
  const [source, target, mode] = String(volume).split(':');
  return { source, target, mode };
}

function checkPorts(file, services, failures) {
  for (const [name, service] of Object.entries(services)) {
    for (const port of service.ports ?? []) {
      const text = isMap(port) ? `${port.host_ip ?? ''}:${port.published}:${port.target}` : String(port);
      failures.expect(text.startsWith('127.0.0.1:'), file, `services.${name}.ports`, `"${text}" is not bound to 127.0.0.1`);
    }
  }
}

function checkVolumes(file, compose, services, failures) {
  const folder = path.dirname(file);
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const { source } = splitVolume(volume);
      if (source.startsWith('.') || source.startsWith('/')) {
        failures.expect(existsSync(path.resolve(folder, source)), file, `services.${name}.volumes`, `"${source}" does not exist`);
      } else {
        failures.expect(isMap(compose.volumes) && source in compose.volumes, file, `services.${name}.volumes`, `named volume "${source}" is not declared under volumes`);
      }
    }
  }
}

/** Checks one replica and returns its parsed microtune config. */
async function checkReplica(file, name, service, services, failures) {
  const field = `services.${name}`;
  const env = Object.fromEntries(Object.entries(environmentOf(service)).map(([key, value]) => [key, interpolateDefaults(value ?? '')]));
  const redisHost = /^redis:\/\/([^:/]+)/.exec(env.REDIS_URL ?? '')?.[1];
  failures.expect(
    redisHost !== undefined && String(services[redisHost]?.image ?? '').startsWith('redis:'),
    file,
    `${field}.environment.REDIS_URL`,
    `is "${env.REDIS_URL}", expected redis://<a redis service of this file>:6379`,
  );
  failures.expect((service.ports ?? []).length === 0, file, `${field}.ports`, 'is not empty, but clients must reach the replicas through nginx only');
  failures.expect(service.init === true, file, `${field}.init`, 'is not true, so SIGTERM would reach node as PID 1');
  const test = service.healthcheck?.test;
  failures.expect(Array.isArray(test) && test[0] === 'CMD' && /\/(healthz|readyz)/.test(test.join(' ')), file, `${field}.healthcheck.test`, 'is not a CMD probe of /healthz or /readyz');

  const configMount = (service.volumes ?? []).map(splitVolume).find((volume) => volume.target === '/app/config');
  if (!failures.expect(configMount, file, `${field}.volumes`, 'mounts nothing at /app/config')) return undefined;
  const configFile = path.resolve(path.dirname(file), configMount.source, 'microtune.yaml');
  if (!failures.expect(existsSync(configFile), file, `${field}.volumes`, `${configFile} does not exist`)) return undefined;
  const config = await parseMicrotuneConfig(readFileSync(configFile, 'utf8'), '/app/config/microtune.yaml', env, failures, configFile);
  if (config === undefined) return undefined;

  const drainSeconds = config.server.shutdownGraceMs / 1000;
  const stopSeconds = durationSeconds(service.stop_grace_period);
  failures.expect(
    stopSeconds >= drainSeconds + MIN_STOP_MARGIN_SECONDS,
    file,
    `${field}.stop_grace_period`,
    `is ${service.stop_grace_period}; it must be at least ${drainSeconds + MIN_STOP_MARGIN_SECONDS} s (server.shutdownGraceMs ${drainSeconds} s + ${MIN_STOP_MARGIN_SECONDS} s margin)`,
  );
  return { config, port: Number(env.PORT ?? 8787) };
}

/**
 * Runs every Compose check. Returns what the nginx check needs: the mounted
 * nginx.conf, nginx's container port, the replicas' names and port, and the
 * limits nginx must not undercut.
 */
export async function checkCompose(file, failures) {
  const [compose] = parseYamlFile(file, failures);
  const services = isMap(compose?.services) ? compose.services : {};
  if (!failures.expect(Object.keys(services).length > 0, file, 'services', 'missing or empty')) return undefined;
  checkPorts(file, services, failures);
  checkVolumes(file, compose, services, failures);

  const replicaNames = Object.keys(services).filter((name) => services[name].build !== undefined);
  failures.expect(replicaNames.length >= 2, file, 'services', `${replicaNames.length} service(s) build microtune; expected at least 2 replicas`);
  const replicas = [];
  for (const name of replicaNames) {
    const context = path.resolve(path.dirname(file), String(services[name].build.context ?? services[name].build));
    failures.expect(context === path.resolve(path.dirname(file), '..'), file, `services.${name}.build`, `builds ${context}, not the repository root`);
    const checked = await checkReplica(file, name, services[name], services, failures);
    if (checked !== undefined) replicas.push({ name, ...checked });
  }

  const nginxName = Object.keys(services).find((name) => String(services[name].image ?? '').startsWith('nginx'));
  if (!failures.expect(nginxName, file, 'services', 'no nginx service')) return undefined;
  const nginx = services[nginxName];
  const confMount = (nginx.volumes ?? []).map(splitVolume).find((volume) => volume.target === '/etc/nginx/nginx.conf');
  if (!failures.expect(confMount, file, `services.${nginxName}.volumes`, 'mounts nothing at /etc/nginx/nginx.conf')) return undefined;
  const published = (nginx.ports ?? []).map((port) => String(port).split(':'));
  if (!failures.expect(published.length === 1 && published[0].length === 3, file, `services.${nginxName}.ports`, 'expected one "127.0.0.1:HOST_PORT:CONTAINER_PORT" entry')) return undefined;
  const dependsOn = Array.isArray(nginx.depends_on) ? nginx.depends_on : Object.keys(nginx.depends_on ?? {});
  for (const name of replicaNames) {
    failures.expect(dependsOn.includes(name), file, `services.${nginxName}.depends_on`, `does not name ${name}`);
  }
  if (replicas.length === 0) return undefined;

  return {
    confFile: path.resolve(path.dirname(file), confMount.source),
    listenPort: Number(published[0][2]),
    replicas: replicas.map(({ name, port }) => ({ name, port })),
    bodyLimitBytes: Math.max(...replicas.map(({ config }) => config.server.bodyLimitBytes)),
    firstByteSeconds: Math.max(...replicas.flatMap(({ config }) => Object.values(config.upstreams).map(firstByteSecondsOf))),
    summary: `${Object.keys(services).length} services, replicas ${replicaNames.join(' and ')} behind ${nginxName}`,
  };
}

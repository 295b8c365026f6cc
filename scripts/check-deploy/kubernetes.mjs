// Static checks of the Kubernetes example in deploy/kubernetes/. No cluster
// runs here, so the manifests are parsed and checked for the fields that the
// proxy depends on. The API server's own schema validation is not repeated.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { durationSeconds, isMap, loadPacks, parseMicrotuneConfig, parseYamlFile, packFiles, yamlFiles } from './common.mjs';

const DEPLOYMENT = 'microtune';
const CONTAINER = 'microtune';
const PACKS_CONFIGMAP_FILE = 'packs.configmap.yaml';
/** Seconds that terminationGracePeriodSeconds must leave after the preStop sleep and the drain period. */
const MIN_GRACE_MARGIN_SECONDS = 2;
/** server.shutdownGraceMs when the config does not set it (src/config/schema.ts). */
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

const PACK_LABELS = { 'app.kubernetes.io/name': 'microtune', 'app.kubernetes.io/component': 'proxy' };

/** The repository's packs/ folder, seen from deploy/kubernetes/. */
const packsFolderOf = (folder) => path.resolve(folder, '..', '..', 'packs');

/** Writes deploy/kubernetes/packs.configmap.yaml from the repository's packs/ folder. */
export async function writePacksConfigMap(folder) {
  const packs = await packFiles(packsFolderOf(folder));
  const manifest = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'microtune-packs', labels: PACK_LABELS },
    data: Object.fromEntries(Object.keys(packs).sort().map((name) => [name, packs[name]])),
  };
  const header =
    '# Generated from packs/ by `node scripts/check-deploy.mjs --write-packs`: edit packs/ and run it\n' +
    '# again. A ConfigMap holds at most 1 MiB; mount a PersistentVolumeClaim for larger pack sets.\n';
  const file = path.join(folder, PACKS_CONFIGMAP_FILE);
  writeFileSync(file, header + stringify(manifest, { lineWidth: 0, blockQuote: 'literal' }));
  return file;
}

/** Returns the resources of every manifest, each with the file it came from. */
function readManifests(folder, failures) {
  const resources = [];
  for (const file of yamlFiles(folder)) {
    for (const value of parseYamlFile(file, failures)) {
      if (!isMap(value) || typeof value.kind !== 'string') {
        failures.add(file, '', 'a document without `kind`');
        continue;
      }
      resources.push({ file, resource: value });
    }
  }
  return resources;
}

function find(resources, kind, name) {
  return resources.find(({ resource }) => resource.kind === kind && resource.metadata?.name === name);
}

function labelsMatch(selector, labels) {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels?.[key] === value);
}

/** Returns the container port number that a probe or Service port (a name or a number) refers to. */
function portNumber(container, port) {
  if (typeof port === 'number') return port;
  return container.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

/** Returns the preStop sleep in seconds (exec `sleep N` or the `sleep` action), or undefined. */
function preStopSleepSeconds(container) {
  const preStop = container.lifecycle?.preStop;
  if (isMap(preStop?.sleep)) return Number(preStop.sleep.seconds);
  const command = preStop?.exec?.command;
  if (Array.isArray(command) && command.length === 2 && /(^|\/)sleep$/.test(command[0])) return durationSeconds(command[1]);
  return undefined;
}

/** Returns the container's environment as a map; values from Secrets or ConfigMaps count as unset. */
function environmentOf(container) {
  const env = {};
  for (const entry of container.env ?? []) {
    if (typeof entry?.name === 'string' && entry.value !== undefined) env[entry.name] = String(entry.value);
  }
  return env;
}

function checkKustomization(folder, resources, failures) {
  const kustomization = resources.find(({ resource }) => resource.kind === 'Kustomization');
  if (!failures.expect(kustomization, path.join(folder, 'kustomization.yaml'), '', 'missing')) return;
  const listed = (kustomization.resource.resources ?? []).map(String);
  for (const entry of listed) {
    failures.expect(existsSync(path.join(folder, entry)), kustomization.file, 'resources', `"${entry}" does not exist`);
  }
  for (const file of yamlFiles(folder)) {
    const name = path.relative(folder, file);
    if (name === 'kustomization.yaml') continue;
    failures.expect(listed.includes(name), kustomization.file, 'resources', `"${name}" is not listed, so \`kubectl apply -k\` leaves it out`);
  }
}

function checkSecurityContexts(resources, failures) {
  for (const { file, resource } of resources) {
    if (resource.kind !== 'Deployment') continue;
    const pod = resource.spec?.template?.spec ?? {};
    for (const container of pod.containers ?? []) {
      const field = `${resource.metadata?.name}: containers[${container.name}].securityContext`;
      const nonRoot = container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
      failures.expect(nonRoot === true, file, field, 'runAsNonRoot is not true (set it on the pod or the container)');
      const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
      failures.expect(user === undefined || user !== 0, file, field, 'runAsUser is 0 (root)');
      failures.expect(container.securityContext?.allowPrivilegeEscalation === false, file, field, 'allowPrivilegeEscalation is not false');
    }
  }
}

function checkProbes(file, container, port, failures) {
  const probes = [
    ['readinessProbe', '/readyz'],
    ['livenessProbe', '/healthz'],
  ];
  for (const [probeName, expectedPath] of probes) {
    const probe = container[probeName]?.httpGet;
    const field = `containers[${CONTAINER}].${probeName}`;
    if (!failures.expect(isMap(probe), file, field, `missing, or not an httpGet probe of ${expectedPath}`)) continue;
    failures.expect(probe.path === expectedPath, file, `${field}.httpGet.path`, `is "${probe.path}", expected "${expectedPath}"`);
    const probePort = portNumber(container, probe.port);
    failures.expect(probePort === port, file, `${field}.httpGet.port`, `is ${JSON.stringify(probe.port)} (port ${probePort}), but the server listens on PORT=${port}`);
  }
}

/** Checks the volumes that hold the config and the packs; returns the packs volume. */
function checkMounts(file, pod, container, mounts, failures) {
  const mountAt = (mountPath) => (container.volumeMounts ?? []).find((mount) => mount.mountPath === mountPath);
  const volumeOf = (mount) => (pod.volumes ?? []).find((volume) => volume.name === mount?.name);
  const result = {};
  for (const [role, mountPath] of Object.entries(mounts)) {
    const mount = mountAt(mountPath);
    const field = `containers[${CONTAINER}].volumeMounts`;
    if (!failures.expect(mount, file, field, `nothing is mounted at ${mountPath} (the ${role} folder)`)) continue;
    failures.expect(mount.subPath === undefined, file, field, `${mountPath} uses subPath, and subPath mounts never receive ConfigMap updates`);
    failures.expect(mount.readOnly === true, file, field, `${mountPath} is not readOnly`);
    result[role] = volumeOf(mount);
    failures.expect(result[role], file, 'volumes', `no volume named "${mount.name}"`);
  }
  return result;
}

async function checkPacksVolume(folder, resources, volume, config, failures) {
  const deploymentFile = path.join(folder, 'deployment.yaml');
  if (isMap(volume.persistentVolumeClaim)) {
    failures.expect(find(resources, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName), deploymentFile, 'volumes', `PersistentVolumeClaim "${volume.persistentVolumeClaim.claimName}" is not defined in ${folder}`);
    return;
  }
  if (!failures.expect(isMap(volume.configMap), deploymentFile, 'volumes', `the packs volume "${volume.name}" is neither a configMap nor a persistentVolumeClaim`)) return;
  const configMap = find(resources, 'ConfigMap', volume.configMap.name);
  if (!failures.expect(configMap, deploymentFile, 'volumes', `ConfigMap "${volume.configMap.name}" is not defined`)) return;

  const data = configMap.resource.data ?? {};
  const repository = await packFiles(packsFolderOf(folder));
  const drifted = Object.keys(repository).filter((name) => data[name] !== repository[name]);
  const extra = Object.keys(data).filter((name) => !(name in repository));
  failures.expect(
    drifted.length === 0 && extra.length === 0,
    configMap.file,
    'data',
    `differs from packs/ (${[...drifted, ...extra].join(', ')}); run \`node scripts/check-deploy.mjs --write-packs\``,
  );

  const packSet = await loadPacks(data);
  for (const failure of packSet.failures.values()) failures.add(configMap.file, `data.${path.basename(failure.file)}`, failure.problem);
  for (const [alias, settings] of Object.entries(config.aliases)) {
    const packs = settings.variants?.map((variant) => variant.pack) ?? (settings.pack === undefined ? [] : [settings.pack]);
    for (const pack of packs) {
      failures.expect(packSet.packs.has(pack), configMap.file, 'data', `alias "${alias}" needs pack "${pack}", which is not in this ConfigMap`);
    }
  }
}

function checkService(resources, deployment, container, failures) {
  const labels = deployment.resource.spec?.template?.metadata?.labels;
  const services = resources.filter(({ resource }) => resource.kind === 'Service' && labelsMatch(resource.spec?.selector, labels));
  if (!failures.expect(services.length > 0, deployment.file, '', `no Service selects the labels of Deployment "${DEPLOYMENT}"`)) return;
  for (const { file, resource } of services) {
    for (const port of resource.spec?.ports ?? []) {
      failures.expect(portNumber(container, port.targetPort ?? port.port) !== undefined, file, `${resource.metadata.name}: ports`, `targetPort ${JSON.stringify(port.targetPort)} matches no container port`);
    }
  }
}

function checkAutoscaler(resources, deployment, failures) {
  const hpa = resources.find(({ resource }) => resource.kind === 'HorizontalPodAutoscaler' && resource.spec?.scaleTargetRef?.name === DEPLOYMENT);
  if (!failures.expect(hpa, deployment.file, '', `no HorizontalPodAutoscaler targets Deployment "${DEPLOYMENT}"`)) return;
  const { file, resource } = hpa;
  const spec = resource.spec;
  failures.expect(resource.apiVersion === 'autoscaling/v2', file, 'apiVersion', `is "${resource.apiVersion}", expected autoscaling/v2`);
  failures.expect(spec.scaleTargetRef.kind === 'Deployment' && spec.scaleTargetRef.apiVersion === 'apps/v1', file, 'spec.scaleTargetRef', 'is not an apps/v1 Deployment');
  failures.expect(Number.isInteger(spec.minReplicas) && spec.minReplicas >= 2, file, 'spec.minReplicas', `is ${spec.minReplicas}; keep at least 2 so one replica serves while the other drains`);
  failures.expect(Number.isInteger(spec.maxReplicas) && spec.maxReplicas >= (spec.minReplicas ?? 1), file, 'spec.maxReplicas', `is ${spec.maxReplicas}, below minReplicas`);
  const cpu = (spec.metrics ?? []).find((metric) => metric.type === 'Resource' && metric.resource?.name === 'cpu');
  const target = cpu?.resource?.target;
  failures.expect(
    target?.type === 'Utilization' && Number.isInteger(target.averageUtilization) && target.averageUtilization > 0 && target.averageUtilization <= 100,
    file,
    'spec.metrics',
    'no cpu Resource metric with a Utilization target from 1 to 100',
  );
}

function checkDisruptionBudgets(resources, deployment, failures) {
  const labels = deployment.resource.spec?.template?.metadata?.labels;
  for (const { file, resource } of resources) {
    if (resource.kind !== 'PodDisruptionBudget') continue;
    failures.expect(labelsMatch(resource.spec?.selector?.matchLabels, labels), file, 'spec.selector', 'does not select the Deployment\'s pods');
  }
}

/** Checks the proxy Deployment and returns what the other checks need from it. */
async function checkDeployment(folder, resources, deployment, failures) {
  const { file, resource } = deployment;
  const pod = resource.spec?.template?.spec ?? {};
  failures.expect(labelsMatch(resource.spec?.selector?.matchLabels, resource.spec?.template?.metadata?.labels), file, 'spec.selector.matchLabels', 'does not match spec.template.metadata.labels');
  const container = (pod.containers ?? []).find((candidate) => candidate.name === CONTAINER);
  if (!failures.expect(container, file, 'spec.template.spec.containers', `no container named "${CONTAINER}"`)) return undefined;

  const env = environmentOf(container);
  const port = Number(env.PORT ?? 8787);
  failures.expect(env.HOST === '0.0.0.0' || env.HOST === '::', file, 'env.HOST', `is "${env.HOST}"; the server listens on 127.0.0.1 unless HOST is 0.0.0.0, so the kubelet and the Service could not reach it`);
  const declaresPort = (container.ports ?? []).some((entry) => entry.containerPort === port);
  failures.expect(declaresPort, file, 'ports', `no containerPort ${port} (the PORT variable)`);
  failures.expect(typeof env.REDIS_URL === 'string' && env.REDIS_URL !== '', file, 'env.REDIS_URL', 'is missing, so each replica would keep rate limits, stashed reasoning and recaps to itself');
  checkProbes(file, container, port, failures);
  for (const kind of ['cpu', 'memory']) {
    failures.expect(container.resources?.requests?.[kind] !== undefined, file, `resources.requests.${kind}`, 'is missing (the HPA computes CPU utilization from the request)');
  }

  const configFile = env.MICROTUNE_CONFIG;
  if (!failures.expect(typeof configFile === 'string' && path.isAbsolute(configFile), file, 'env.MICROTUNE_CONFIG', 'is missing or not an absolute path')) return undefined;
  const { config: configVolume } = checkMounts(file, pod, container, { config: path.dirname(configFile) }, failures);
  const configMap = configVolume?.configMap === undefined ? undefined : find(resources, 'ConfigMap', configVolume.configMap.name);
  const configText = configMap?.resource.data?.[path.basename(configFile)];
  if (!failures.expect(typeof configText === 'string', file, 'volumes', `no ConfigMap in ${folder} has the key ${path.basename(configFile)} for ${configFile}`)) return undefined;
  const config = await parseMicrotuneConfig(configText, configFile, env, failures, configMap.file);
  if (config === undefined) return undefined;

  const { packs: packsVolume } = checkMounts(file, pod, container, { packs: config.packsPath }, failures);
  if (packsVolume !== undefined) await checkPacksVolume(folder, resources, packsVolume, config, failures);

  const sleepSeconds = preStopSleepSeconds(container);
  failures.expect(Number.isFinite(sleepSeconds) && sleepSeconds > 0, file, 'lifecycle.preStop', 'no preStop sleep, so the pod may stop accepting requests before the endpoints drop it');
  const drainSeconds = (config.server.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS) / 1000;
  const needed = (sleepSeconds ?? 0) + drainSeconds + MIN_GRACE_MARGIN_SECONDS;
  const grace = pod.terminationGracePeriodSeconds;
  failures.expect(
    Number.isInteger(grace) && grace >= needed,
    file,
    'terminationGracePeriodSeconds',
    `is ${grace}; it must be at least ${needed} s (preStop ${sleepSeconds ?? 0} s + server.shutdownGraceMs ${drainSeconds} s + ${MIN_GRACE_MARGIN_SECONDS} s margin)`,
  );
  return { container, grace, needed };
}

/** Runs every Kubernetes check on `folder`; returns a one-line summary. */
export async function checkKubernetes(folder, failures) {
  const resources = readManifests(folder, failures);
  checkKustomization(folder, resources, failures);
  checkSecurityContexts(resources, failures);

  const deployment = find(resources, 'Deployment', DEPLOYMENT);
  if (!failures.expect(deployment, path.join(folder, 'deployment.yaml'), '', `no Deployment named "${DEPLOYMENT}"`)) return '';
  const checked = await checkDeployment(folder, resources, deployment, failures);
  if (checked !== undefined) {
    checkService(resources, deployment, checked.container, failures);
  }
  checkAutoscaler(resources, deployment, failures);
  checkDisruptionBudgets(resources, deployment, failures);

  const kinds = resources.map(({ resource }) => resource.kind);
  const grace = checked === undefined ? '' : `, grace ${checked.grace} s >= ${checked.needed} s`;
  return `${resources.length} resources (${[...new Set(kinds)].join(', ')})${grace}`;
}

// Static check of deploy/: the Kubernetes example (deploy/kubernetes/), the
// Compose file with two replicas (deploy/compose.replicas.yaml) and the
// nginx.conf it mounts. No cluster or container runtime runs in CI. So every
// YAML file is parsed with the `yaml` package and checked for the fields the
// proxy depends on: probes, non-root, grace period against the drain period,
// HPA target, Service selector, REDIS_URL and ports on 127.0.0.1. The config
// and packs are parsed with the server's own code from dist/.
//
// Usage: node scripts/check-deploy.mjs [--write-packs] [--root DIR]
//   --write-packs  regenerate deploy/kubernetes/packs.configmap.yaml from packs/ first
//   --root DIR     check DIR/deploy against DIR/packs and DIR/config instead of this
//                  repository's (the checker's own tests use it on edited copies)
// Needs `npm run build` (dist/) and nginx (`apt-get install -y nginx`) for `nginx -t`.
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { Failures, parseYamlFile, REPO, yamlFiles } from './check-deploy/common.mjs';
import { checkCompose } from './check-deploy/compose.mjs';
import { checkKubernetes, writePacksConfigMap } from './check-deploy/kubernetes.mjs';
import { checkNginx } from './check-deploy/nginx.mjs';

let options;
try {
  ({ values: options } = parseArgs({
    options: { 'write-packs': { type: 'boolean', default: false }, root: { type: 'string', default: REPO } },
    strict: true,
  }));
} catch (error) {
  console.error(`check-deploy: ${error.message}. Usage: node scripts/check-deploy.mjs [--write-packs] [--root DIR]`);
  process.exit(2);
}
const ROOT = path.resolve(options.root);
const DEPLOY = path.join(ROOT, 'deploy');

try {
  if (options['write-packs']) {
    const written = await writePacksConfigMap(path.join(DEPLOY, 'kubernetes'));
    console.log(`wrote ${path.relative(ROOT, written)}`);
  }

  const failures = new Failures(ROOT);
  const files = yamlFiles(DEPLOY);
  for (const file of files) parseYamlFile(file, failures);

  const kubernetes = await checkKubernetes(path.join(DEPLOY, 'kubernetes'), failures);
  const compose = await checkCompose(path.join(DEPLOY, 'compose.replicas.yaml'), failures);
  const nginx = compose === undefined ? '' : checkNginx(compose, failures);

  if (failures.list.length > 0) {
    console.error(`deploy check failed (${failures.list.length} problem(s)):\n  - ${failures.list.join('\n  - ')}`);
    process.exit(1);
  }
  console.log(`deploy check passed: ${files.length} YAML files parsed`);
  console.log(`  kubernetes: ${kubernetes}`);
  console.log(`  compose: ${compose.summary}`);
  console.log(`  nginx.conf: ${nginx}, nginx -t passed`);
} catch (error) {
  console.error(`check-deploy: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

/**
 * scripts/check-deploy.mjs on edited copies of deploy/: the shipped files
 * pass, and each broken field is reported with its file and field.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(REPO, 'scripts/check-deploy.mjs');

let copies: string[] = [];

beforeAll(() => {
  if (!existsSync(path.join(REPO, 'dist/config/load-config.js'))) {
    throw new Error('dist/ is missing; run `npm run build` first, because check-deploy parses the config with the built server code');
  }
});

afterAll(() => {
  for (const copy of copies) rmSync(copy, { recursive: true, force: true });
  copies = [];
});

interface Edit {
  file: string;
  from: string;
  to: string;
}

/** Copies deploy/, packs/ and config/ to a temporary root and applies `edits`, each of which must match. */
function editedCopy(edits: Edit[]): string {
  const root = mkdtempSync(path.join(tmpdir(), 'microtune-deploy-'));
  copies.push(root);
  for (const folder of ['deploy', 'packs', 'config']) cpSync(path.join(REPO, folder), path.join(root, folder), { recursive: true });
  for (const edit of edits) {
    const file = path.join(root, edit.file);
    const text = readFileSync(file, 'utf8');
    if (!text.includes(edit.from)) throw new Error(`${edit.file} does not contain ${JSON.stringify(edit.from)}; update this test's edit`);
    writeFileSync(file, text.replace(edit.from, edit.to));
  }
  return root;
}

function runCheck(root: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('node', [SCRIPT, '--root', root], { timeout: 30_000 }, (error, stdout, stderr) => {
      let code = 0;
      if (error !== null) code = typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

const DEPLOYMENT = 'deploy/kubernetes/deployment.yaml';
const COMPOSE = 'deploy/compose.replicas.yaml';
const NGINX = 'deploy/nginx.conf';

const BROKEN: { name: string; edits: Edit[]; expected: string }[] = [
  {
    name: 'grace period below the drain',
    edits: [{ file: DEPLOYMENT, from: 'terminationGracePeriodSeconds: 20', to: 'terminationGracePeriodSeconds: 12' }],
    expected: 'deployment.yaml: terminationGracePeriodSeconds: is 12; it must be at least 17 s',
  },
  {
    name: 'drain longer than the grace period',
    edits: [{ file: 'deploy/kubernetes/config.configmap.yaml', from: 'shutdownGraceMs: 10000', to: 'shutdownGraceMs: 30000' }],
    expected: 'terminationGracePeriodSeconds: is 20; it must be at least 37 s',
  },
  {
    name: 'no preStop sleep',
    edits: [{ file: DEPLOYMENT, from: 'command: ["sleep", "5"]', to: 'command: ["true"]' }],
    expected: 'lifecycle.preStop: no preStop sleep',
  },
  {
    name: 'readiness probe on /healthz',
    edits: [{ file: DEPLOYMENT, from: 'path: /readyz', to: 'path: /healthz' }],
    expected: 'readinessProbe.httpGet.path: is "/healthz", expected "/readyz"',
  },
  {
    name: 'liveness probe on another port',
    edits: [{ file: DEPLOYMENT, from: 'path: /healthz\n              port: http', to: 'path: /healthz\n              port: 9090' }],
    expected: 'livenessProbe.httpGet.port: is 9090',
  },
  {
    name: 'container allowed to run as root',
    edits: [{ file: DEPLOYMENT, from: 'runAsNonRoot: true\n            allowPrivilegeEscalation', to: 'runAsNonRoot: false\n            allowPrivilegeEscalation' }],
    expected: 'microtune: containers[microtune].securityContext: runAsNonRoot is not true',
  },
  {
    name: 'Service selecting other pods',
    edits: [{ file: 'deploy/kubernetes/service.yaml', from: 'app.kubernetes.io/component: proxy\n  ports', to: 'app.kubernetes.io/component: gateway\n  ports' }],
    expected: 'no Service selects the labels of Deployment "microtune"',
  },
  {
    name: 'REDIS_URL missing',
    edits: [{ file: DEPLOYMENT, from: '- name: REDIS_URL\n              value: redis://microtune-redis:6379', to: '- name: REDIS_HOST\n              value: microtune-redis' }],
    expected: 'env.REDIS_URL: is missing',
  },
  {
    name: 'HOST left at 127.0.0.1',
    edits: [{ file: DEPLOYMENT, from: 'value: 0.0.0.0', to: 'value: 127.0.0.1' }],
    expected: 'env.HOST: is "127.0.0.1"',
  },
  {
    name: 'config mounted with subPath',
    edits: [{ file: DEPLOYMENT, from: 'mountPath: /app/config\n', to: 'mountPath: /app/config\n              subPath: microtune.yaml\n' }],
    expected: '/app/config uses subPath',
  },
  {
    name: 'HPA aimed at another Deployment',
    edits: [{ file: 'deploy/kubernetes/hpa.yaml', from: 'name: microtune\n  minReplicas', to: 'name: microtune-old\n  minReplicas' }],
    expected: 'no HorizontalPodAutoscaler targets Deployment "microtune"',
  },
  {
    name: 'HPA without a CPU target',
    edits: [{ file: 'deploy/kubernetes/hpa.yaml', from: 'name: cpu', to: 'name: memory' }],
    expected: 'spec.metrics: no cpu Resource metric',
  },
  {
    name: 'invalid microtune config',
    edits: [{ file: 'deploy/kubernetes/config.configmap.yaml', from: 'shutdownGraceMs: 10000', to: 'shutdownGraceMs: 10000\n      drainMs: 5' }],
    expected: 'config.configmap.yaml: microtune config server',
  },
  {
    name: 'packs ConfigMap out of date',
    edits: [{ file: 'packs/default.yaml', from: 'name: default', to: 'name: default\ntitle: edited after the ConfigMap was generated' }],
    expected: 'packs.configmap.yaml: data: differs from packs/ (default.yaml)',
  },
  {
    name: 'file left out of kustomization',
    edits: [{ file: 'deploy/kubernetes/kustomization.yaml', from: '  - pdb.yaml\n', to: '' }],
    expected: '"pdb.yaml" is not listed',
  },
  {
    name: 'invalid YAML',
    edits: [{ file: 'deploy/kubernetes/service.yaml', from: 'type: ClusterIP', to: 'type: [ClusterIP' }],
    expected: 'service.yaml: invalid YAML',
  },
  {
    name: 'Compose port on every interface',
    edits: [{ file: COMPOSE, from: '"127.0.0.1:8787:8080"', to: '"8787:8080"' }],
    expected: 'services.nginx.ports: "8787:8080" is not bound to 127.0.0.1',
  },
  {
    name: 'Compose replica without Redis',
    edits: [{ file: COMPOSE, from: 'REDIS_URL: redis://redis:6379', to: 'REDIS_URL: ""' }],
    expected: 'services.microtune-1.environment.REDIS_URL: is ""',
  },
  {
    name: 'Compose stop timeout below the drain',
    edits: [{ file: COMPOSE, from: 'stop_grace_period: 15s', to: 'stop_grace_period: 10s' }],
    expected: 'services.microtune-2.stop_grace_period: is 10s',
  },
  {
    name: 'nginx missing a replica',
    edits: [{ file: NGINX, from: '    server microtune-2:8787 max_fails=1 fail_timeout=5s;\n', to: '' }],
    expected: 'nginx.conf: upstream microtune: servers are ["microtune-1:8787"]',
  },
  {
    name: 'nginx body limit below the proxy',
    edits: [{ file: NGINX, from: 'client_max_body_size 32m;', to: 'client_max_body_size 1m;' }],
    expected: 'client_max_body_size: is 1048576 bytes',
  },
  {
    name: 'nginx read timeout below first byte',
    edits: [{ file: NGINX, from: 'proxy_read_timeout 620s;', to: 'proxy_read_timeout 60s;' }],
    expected: 'proxy_read_timeout: is 60 s',
  },
  {
    name: 'nginx without retries on error',
    edits: [{ file: NGINX, from: 'proxy_next_upstream error http_503 non_idempotent;', to: 'proxy_next_upstream error http_503;' }],
    expected: 'proxy_next_upstream: does not retry POST requests on error',
  },
  {
    name: 'nginx retrying slow answers',
    edits: [{ file: NGINX, from: 'proxy_next_upstream error http_503 non_idempotent;', to: 'proxy_next_upstream error timeout http_503 non_idempotent;' }],
    expected: 'proxy_next_upstream: includes timeout',
  },
  {
    name: 'nginx syntax error',
    edits: [{ file: NGINX, from: 'keepalive 64;', to: 'keepalive 64;\n    keepalive_bogus 1;' }],
    expected: 'nginx -t rejected it',
  },
];

describe('check-deploy', () => {
  it('passes the shipped files', async () => {
    const result = await runCheck(editedCopy([]));
    expect(result.output).toContain('deploy check passed');
    expect(result.code).toBe(0);
  });

  it.each(BROKEN)('rejects $name', async ({ edits, expected }) => {
    const result = await runCheck(editedCopy(edits));
    expect(result.output).toContain(expected);
    expect(result.code).toBe(1);
  });
});

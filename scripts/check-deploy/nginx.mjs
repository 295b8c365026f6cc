// Checks of deploy/nginx.conf against the Compose file that mounts it, and a
// syntax check with `nginx -t` on a copy whose addresses are 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Returns the arguments of every `name ...;` directive in `text`, comments removed. */
function directives(text, name) {
  const found = [];
  const pattern = new RegExp(`(?:^|[;{}\\s])${name}\\s+([^;{}]*);`, 'g');
  for (const match of text.matchAll(pattern)) found.push(match[1].trim());
  return found;
}

/** Converts an nginx size ("32m", "1g", "4096") to bytes, or NaN. */
function sizeBytes(value) {
  const match = /^(\d+)([kmg]?)$/i.exec(value ?? '');
  if (match === null) return Number.NaN;
  const units = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  return Number(match[1]) * units[match[2].toLowerCase()];
}

/** Converts an nginx time ("620s", "10m", "90") to seconds, or NaN. */
function timeSeconds(value) {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value ?? '');
  if (match === null) return Number.NaN;
  const units = { ms: 0.001, s: 1, m: 60, h: 3600 };
  return Number(match[1]) * units[match[2] ?? 's'];
}

/** Returns the body of `upstream NAME { ... }`, or undefined. */
function upstreamBlock(text, name) {
  return new RegExp(`upstream\\s+${name}\\s*\\{([^}]*)\\}`).exec(text)?.[1];
}

/**
 * Runs `nginx -t` on a copy of the config whose upstream servers and listen
 * address are on 127.0.0.1, because the Compose host names do not resolve here.
 */
function syntaxCheck(file, text, replicas, failures) {
  const folder = mkdtempSync(path.join(tmpdir(), 'microtune-nginx-check-'));
  try {
    mkdirSync(path.join(folder, 'logs'));
    let local = text.replace(/(^|\n)(\s*listen\s+)(\d+)/g, '$1$2127.0.0.1:$3');
    for (const { name } of replicas) local = local.replaceAll(`${name}:`, '127.0.0.1:');
    const copy = path.join(folder, 'nginx.conf');
    writeFileSync(copy, local);
    const result = spawnSync('nginx', ['-t', '-q', '-p', folder, '-c', copy, '-e', path.join(folder, 'logs', 'error.log')], { encoding: 'utf8', timeout: 10_000 });
    if (result.error !== undefined) {
      const missing = result.error.code === 'ENOENT';
      failures.add(file, '', missing ? 'nginx is not installed, so `nginx -t` cannot check the syntax; install it with `apt-get install -y nginx`' : `nginx -t failed to run: ${result.error.message}`);
      return;
    }
    failures.expect(result.status === 0, file, '', `nginx -t rejected it:\n${(result.stderr || result.stdout).trim()}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Checks nginx.conf against what checkCompose returned; returns a one-line summary. */
export function checkNginx(compose, failures) {
  const file = compose.confFile;
  const text = readFileSync(file, 'utf8').replace(/#[^\n]*/g, '');

  const proxyPass = directives(text, 'proxy_pass');
  const upstreamName = /^http:\/\/([\w-]+)$/.exec(proxyPass[0] ?? '')?.[1];
  if (!failures.expect(proxyPass.length === 1 && upstreamName, file, 'proxy_pass', `expected one "proxy_pass http://<upstream>;", found ${JSON.stringify(proxyPass)}`)) return '';
  const block = upstreamBlock(text, upstreamName);
  if (!failures.expect(block, file, `upstream ${upstreamName}`, 'missing')) return '';

  const servers = directives(block, 'server').map((entry) => entry.split(/\s+/)[0]);
  const expected = compose.replicas.map(({ name, port }) => `${name}:${port}`);
  failures.expect(
    JSON.stringify([...servers].sort()) === JSON.stringify([...expected].sort()),
    file,
    `upstream ${upstreamName}`,
    `servers are ${JSON.stringify(servers)}, expected the Compose replicas ${JSON.stringify(expected)}`,
  );
  failures.expect(directives(block, 'keepalive').length === 1, file, `upstream ${upstreamName}`, 'no keepalive, so nginx opens a new connection to a replica for every request');

  const listen = directives(text, 'listen').map((entry) => Number(entry.split(/\s+/)[0].split(':').pop()));
  failures.expect(listen.includes(compose.listenPort), file, 'listen', `is ${JSON.stringify(listen)}, but Compose publishes container port ${compose.listenPort}`);

  const bodyLimit = sizeBytes(directives(text, 'client_max_body_size')[0]);
  failures.expect(bodyLimit >= compose.bodyLimitBytes, file, 'client_max_body_size', `is ${bodyLimit} bytes, below microtune's server.bodyLimitBytes (${compose.bodyLimitBytes})`);
  const readTimeout = timeSeconds(directives(text, 'proxy_read_timeout')[0]);
  failures.expect(readTimeout > compose.firstByteSeconds, file, 'proxy_read_timeout', `is ${readTimeout} s; it must exceed microtune's upstream first-byte timeout (${compose.firstByteSeconds} s)`);
  failures.expect(directives(text, 'proxy_buffering').includes('off'), file, 'proxy_buffering', 'is not off, so nginx may hold back streamed responses');
  failures.expect(directives(text, 'proxy_http_version').includes('1.1'), file, 'proxy_http_version', 'is not 1.1, so upstream keepalive does not work');
  const nextUpstream = (directives(text, 'proxy_next_upstream')[0] ?? '').split(/\s+/);
  failures.expect(
    nextUpstream.includes('error') && nextUpstream.includes('non_idempotent'),
    file,
    'proxy_next_upstream',
    'does not retry POST requests on error, so requests sent to a stopping replica fail with 502',
  );
  failures.expect(!nextUpstream.includes('timeout'), file, 'proxy_next_upstream', 'includes timeout, so nginx would send a slow request to a second replica');

  syntaxCheck(file, readFileSync(file, 'utf8'), compose.replicas, failures);
  return `upstream ${upstreamName}: ${servers.join(', ')}`;
}

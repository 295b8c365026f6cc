// nginx configs of the replica benchmark: a mock upstream that returns one
// fixed chat completion, and the load balancer in front of the replicas. Both
// listen on 127.0.0.1 only, run one worker in the foreground, and keep their
// pid, logs and temporary files in the benchmark's own folder.
import path from 'node:path';

/** Quotes `text` as an nginx string; nginx turns `\n` into a newline, so backslashes are doubled. */
function nginxString(text) {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function preamble(folder, name) {
  return [
    'daemon off;',
    'worker_processes 1;',
    `pid ${path.join(folder, `${name}.pid`)};`,
    `error_log ${path.join(folder, `${name}-error.log`)} warn;`,
    'events { worker_connections 4096; }',
  ];
}

/** Returns the config of the mock upstream: POST /v1/chat/completions returns `completion`, GET /health returns 200. */
export function mockUpstreamConf({ folder, port, completion }) {
  return [
    ...preamble(folder, 'mock'),
    'http {',
    '  access_log off;',
    '  keepalive_requests 1000000;',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    "    location = /health { return 200 'ok'; }",
    '    location / {',
    '      default_type application/json;',
    `      return 200 ${nginxString(JSON.stringify(completion))};`,
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Returns the config of the load balancer: one server per entry of `routes`
 * ({ port, replicaPorts, nginxRetries }), each proxying to its own upstream
 * block with the settings of deploy/nginx.conf (least_conn, keepalive, no
 * buffering, retry on error and 503). With `nginxRetries: false` the route
 * keeps nginx's default proxy_next_upstream instead.
 */
export function loadBalancerConf({ folder, routes }) {
  const lines = [...preamble(folder, 'front'), 'http {', '  access_log off;', '  keepalive_requests 1000000;'];
  for (const [index, route] of routes.entries()) {
    lines.push(`  upstream replicas_${index} {`, '    least_conn;');
    for (const port of route.replicaPorts) lines.push(`    server 127.0.0.1:${port} max_fails=1 fail_timeout=5s;`);
    lines.push('    keepalive 64;', '    keepalive_requests 1000000;', '  }');
    lines.push(
      '  server {',
      `    listen 127.0.0.1:${route.port};`,
      '    client_max_body_size 32m;',
      '    location / {',
      `      proxy_pass http://replicas_${index};`,
      '      proxy_http_version 1.1;',
      '      proxy_set_header Connection "";',
      '      proxy_buffering off;',
      '      proxy_read_timeout 620s;',
      ...(route.nginxRetries === false ? [] : ['      proxy_next_upstream error http_503 non_idempotent;', '      proxy_next_upstream_tries 2;']),
      '    }',
      '  }',
    );
  }
  lines.push('}', '');
  return lines.join('\n');
}

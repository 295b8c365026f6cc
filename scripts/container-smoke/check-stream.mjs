// Checks one streamed chat that went through microtune to the scripted upstream.
//
// Usage: node check-stream.mjs SSE_FILE REQUEST_LOG ALIAS UPSTREAM_MODEL
// SSE_FILE is the response body the client received. REQUEST_LOG contains the
// request bodies the upstream received, one JSON object a line. Exits 1 and
// lists every failed check, or prints one summary line and exits 0.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { ANSWER, THINKING } from './scripted-reply.mjs';

const [sseFile, requestLog, alias, upstreamModel] = process.argv.slice(2);
if (!sseFile || !requestLog || !alias || !upstreamModel) {
  console.error('usage: node check-stream.mjs SSE_FILE REQUEST_LOG ALIAS UPSTREAM_MODEL');
  process.exit(2);
}

const failures = [];
const expect = (condition, message) => {
  if (!condition) failures.push(message);
};

// Response that the client received.
const sse = readFileSync(sseFile, 'utf8');
const dataLines = sse
  .split('\n')
  .filter((line) => line.startsWith('data: '))
  .map((line) => line.slice('data: '.length));
expect(dataLines.length > 0, 'the response has no "data: " lines');
expect(dataLines.at(-1) === '[DONE]', `the last data line is ${JSON.stringify(dataLines.at(-1))}, expected "[DONE]"`);

let content = '';
const models = new Set();
for (const data of dataLines.filter((line) => line !== '[DONE]')) {
  let chunk;
  try {
    chunk = JSON.parse(data);
  } catch {
    failures.push(`a data line is not JSON: ${data.slice(0, 120)}`);
    continue;
  }
  models.add(chunk.model);
  content += chunk.choices?.[0]?.delta?.content ?? '';
}
expect(
  models.size === 1 && models.has(alias),
  `the chunks name the models ${JSON.stringify([...models])}, expected only "${alias}"`,
);
expect(content.trim() === ANSWER, `the streamed content is ${JSON.stringify(content)}, expected the answer ${JSON.stringify(ANSWER)}`);
expect(!content.includes('```'), 'the streamed content still contains a ``` fence');
expect(!content.includes(THINKING), 'the streamed content still contains the monologue');

// Request that the upstream received.
const requests = readFileSync(requestLog, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line));
expect(requests.length === 1, `the upstream received ${requests.length} requests, expected 1`);
const [request] = requests;
if (request !== undefined) {
  const first = request.messages?.[0];
  expect(request.model === upstreamModel, `the upstream request names model "${request.model}", expected "${upstreamModel}"`);
  expect(request.stream === true, 'the upstream request is not streamed');
  expect(
    first?.role === 'system' && typeof first.content === 'string' && first.content.includes('<examples>'),
    'the first upstream message is not the rendered pack (a system message with <examples>)',
  );
}

if (failures.length > 0) {
  console.error(`stream check failed:\n  - ${failures.join('\n  - ')}`);
  console.error(`response body:\n${sse}`);
  process.exit(1);
}
console.log(
  `stream check passed: ${dataLines.length} data lines ending in [DONE], answer without the thinking block, ` +
    `upstream received the pack (${request.messages[0].content.length} characters) and model "${upstreamModel}"`,
);

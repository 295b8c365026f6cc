import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the scripted model "writes": a monologue in a thinking fence, then the answer. */
export const SCRIPTED_THINKING = '她问我是不是第一次值夜班……脸一下就热了。不能慌，先把该说的说清楚。就这么办，我先深吸一口气。';
export const SCRIPTED_ANSWER = '（捏了捏白大褂口袋里的笔）“是、是第一次。不过您放心，每一步我都会先核对，拿不准就马上问上级医生。”';
export const SCRIPTED_TEXT = `\`\`\`thinking\n${SCRIPTED_THINKING}\n\`\`\`\n\n${SCRIPTED_ANSWER}`;

export interface ScriptedUpstream {
  baseUrl: string;
  /** Parsed bodies of every request received, in order. */
  requests: { model: string; messages: { role: string; content: unknown }[]; stream?: boolean }[];
  close: () => Promise<void>;
}

/** Splits text into small pieces the way a model streams tokens, cutting the fences apart too. */
function pieces(text: string): string[] {
  const result: string[] = [];
  for (let index = 0; index < text.length; index += 3) result.push(text.slice(index, index + 3));
  return result;
}

/**
 * Starts a local OpenAI-compatible upstream on 127.0.0.1 that always gives
 * the same answer, as JSON or as an SSE stream, so the demo runs with no model.
 */
export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const requests: ScriptedUpstream['requests'] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ScriptedUpstream['requests'][number];
      requests.push(body);
      const base = { id: `chatcmpl-demo-${requests.length}`, created: Math.floor(Date.now() / 1000), model: body.model };
      const usage = { prompt_tokens: 1200, completion_tokens: 60, total_tokens: 1260 };

      if (body.stream !== true) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: SCRIPTED_TEXT }, finish_reason: 'stop' }],
            usage,
          }),
        );
        return;
      }

      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      const event = (delta: object, finishReason: string | null) =>
        `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
      response.write(event({ role: 'assistant', content: '' }, null));
      for (const piece of pieces(SCRIPTED_TEXT)) response.write(event({ content: piece }, null));
      response.write(event({}, 'stop'));
      response.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

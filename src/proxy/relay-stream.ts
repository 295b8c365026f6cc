import type { OutgoingHttpHeaders } from 'node:http';
import { upstreamBadResponse } from '../errors/proxy-error.js';
import { ChatStreamTransform } from '../sse/chat-stream-transform.js';
import { encodeComment } from '../sse/encode.js';
import type { RelayContext } from './chat-completions.js';
import { quote, readBodyText } from './read-body.js';
import type { UpstreamClient } from './upstream-client.js';

const MAX_NON_SSE_BODY_BYTES = 1024 * 1024;

/**
 * How long an upstream may keep its response open after `[DONE]`. The client's response ends
 * at `[DONE]` at once, and the upstream request is aborted after this delay.
 */
const AFTER_DONE_GRACE_MS = 1000;

function isEventStream(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value !== undefined && value.toLowerCase().includes('text/event-stream');
}

/**
 * Re-streams an upstream SSE answer event by event as it arrives, filtering
 * thinking on the way. Once the first byte is out, a failure can no longer
 * change the status: the client gets one SSE error event and the stream
 * ends without `[DONE]`, so a cut-off answer never looks complete.
 */
export async function relayStream(context: RelayContext, client: UpstreamClient): Promise<void> {
  const { upstream, reply, record } = context;
  if (!isEventStream(upstream.headers['content-type'])) {
    let text: string;
    try {
      text = await readBodyText(upstream.body, MAX_NON_SSE_BODY_BYTES);
    } catch {
      text = '(unreadable body)';
    }
    throw upstreamBadResponse(
      client.name,
      `a streaming request got a ${upstream.status} answer that is not text/event-stream: ${quote(text) || '(empty body)'}`,
    );
  }

  const transform = new ChatStreamTransform({
    mode: context.thinking,
    implicitThinkOpen: context.route.implicitThinkOpen,
    emptyAnswerFallback: context.route.emptyAnswerFallback,
    responseModel: context.clientModel,
    onToolCallReasoning:
      context.stash === undefined
        ? undefined
        : (reasoning, ids) => {
            context.stash?.set(ids, reasoning).catch((error: unknown) => {
              context.request.log.warn({ err: error }, 'could not stash tool-call reasoning');
            });
          },
    onFallback: (index) => {
      record.fallbackUsed = true;
      context.request.log.warn({ choice: index }, 'upstream sent reasoning but no content; the reasoning was sent as the answer');
    },
  });

  const response = reply.raw;
  reply.hijack();
  record.hijacked = true;
  const headers = { ...reply.getHeaders() } as OutgoingHttpHeaders;
  delete headers['content-length'];
  response.writeHead(upstream.status, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  response.flushHeaders();

  let lastWriteAt = performance.now();
  const write = (text: string): void => {
    if (text === '' || response.destroyed || response.writableEnded) return;
    lastWriteAt = performance.now();
    // A full socket buffer pauses the upstream until the client has read it.
    if (!response.write(text)) upstream.body.pause();
  };
  const onDrain = (): void => upstream.body.resume();
  response.on('drain', onDrain);
  const keepAlive =
    context.keepAliveCommentMs > 0
      ? setInterval(() => {
          if (performance.now() - lastWriteAt >= context.keepAliveCommentMs) write(encodeComment('keep-alive'));
        }, Math.max(250, Math.floor(context.keepAliveCommentMs / 2)))
      : undefined;

  // The chunks undici parses from one socket read arrive in one tick. They are handed to the
  // transform together in a microtask, so the client gets one write per read, not one per event.
  let pending: Buffer[] = [];
  let flushQueued = false;
  // Set while the relay waits for the upstream body. It is called at [DONE] too, so the client's
  // response ends even when the upstream keeps its own response open.
  let settle: ((error?: unknown) => void) | undefined;
  let lingering: NodeJS.Timeout | undefined;
  const flush = (): void => {
    flushQueued = false;
    if (pending.length === 0) return;
    const chunks = pending;
    pending = [];
    write(transform.push(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    if (transform.sawDone && settle !== undefined) {
      settle();
      lingering = setTimeout(() => upstream.body.destroy(new Error('upstream kept its response open after [DONE]')), AFTER_DONE_GRACE_MS);
      lingering.unref();
    }
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const onClose = (): void => {
        // The client left: stop reading; the finally block aborts the upstream call.
        upstream.body.destroy(new Error('client disconnected'));
      };
      response.once('close', onClose);
      settle = (error?: unknown) => {
        settle = undefined;
        response.off('close', onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      upstream.body.read({
        data(chunk) {
          pending.push(chunk);
          if (!flushQueued) {
            flushQueued = true;
            queueMicrotask(flush);
          }
        },
        end() {
          clearTimeout(lingering);
          // Taken first, so that a [DONE] in the last chunks does not start the lingering timer.
          const finish = settle;
          settle = undefined;
          flush();
          finish?.();
        },
        error(error) {
          clearTimeout(lingering);
          const finish = settle;
          settle = undefined;
          flush();
          finish?.(error);
        },
      });
    });
    if (!response.destroyed) {
      write(transform.end());
      record.outcome = transform.sawDone ? 'done' : 'ended';
    }
  } catch (error) {
    if (record.clientAborted || response.destroyed) {
      record.outcome = 'client_aborted';
    } else {
      const described = client.describeError(error, 'in the middle of the stream');
      record.outcome = 'upstream_failed';
      record.error = described;
      write(transform.fail(described.message));
    }
  } finally {
    if (keepAlive !== undefined) clearInterval(keepAlive);
    response.off('drain', onDrain);
    record.usage = transform.usage as typeof record.usage;
    if (!response.destroyed) response.end();
    if (record.clientAborted || response.destroyed) context.abort.abort(new Error('client disconnected'));
  }
}

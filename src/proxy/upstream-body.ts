/**
 * The body of an upstream response, fed by undici's dispatch callbacks.
 *
 * undici's own `request()` wraps every body in a Readable stream. A proxy that reads each
 * chunk once and passes it on pays for that stream's buffering and events on every chunk.
 * The body here is a plain push source instead. The dispatch handler calls `push()` with each
 * chunk, and the one consumer set with `read()` gets it in the same tick. Chunks that arrive
 * before `read()` wait in a queue. `pause()` and `resume()` reach undici (and a decoder, for
 * a compressed body), which then stop and restart reading the socket.
 */

export interface BodyConsumer {
  /** One chunk of the body. */
  data(chunk: Buffer): void;
  /** The body ended cleanly. */
  end(): void;
  /** The body failed (socket error, idle timeout, abort). No more calls follow. */
  error(error: unknown): void;
}

type State = 'open' | 'ended' | 'failed';

export class UpstreamBody {
  private consumer: BodyConsumer | undefined;
  private queue: Buffer[] = [];
  private state: State = 'open';
  private failure: unknown;
  private paused = false;
  private resumeSource: (() => void) | undefined;
  private readonly abortSource: (reason: unknown) => void;

  /** `abort` stops the upstream request; it is called by `destroy()`. */
  constructor(abort: (reason: unknown) => void) {
    this.abortSource = abort;
  }

  /** True while the consumer has paused the body. The dispatch handler checks it after each chunk. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Called with undici's resume function, which restarts a paused socket. */
  setResume(resume: () => void): void {
    this.resumeSource = resume;
  }

  push(chunk: Buffer): void {
    if (this.state !== 'open') return;
    if (this.consumer === undefined) this.queue.push(chunk);
    else this.consumer.data(chunk);
  }

  finish(): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    this.consumer?.end();
  }

  fail(error: unknown): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failure = error;
    this.queue = [];
    this.consumer?.error(error);
  }

  /** Sets the consumer and hands it the chunks that arrived before. Only one consumer is allowed. */
  read(consumer: BodyConsumer): void {
    if (this.consumer !== undefined) throw new Error('the upstream body already has a reader');
    this.consumer = consumer;
    const queued = this.queue;
    this.queue = [];
    for (const chunk of queued) consumer.data(chunk);
    if (this.state === 'ended') consumer.end();
    else if (this.state === 'failed') consumer.error(this.failure);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeSource?.();
  }

  /** Stops the upstream request; the consumer then gets `error(reason)` unless the body already ended. */
  destroy(reason: unknown = new Error('upstream body discarded')): void {
    if (this.state !== 'open') return;
    this.abortSource(reason);
    this.fail(reason);
  }
}

/** Upstream JSON bodies larger than this are rejected instead of buffered. */
export const MAX_UPSTREAM_JSON_BYTES = 64 * 1024 * 1024;

export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`the body is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Reads a whole body as UTF-8, failing once it passes `limit` bytes (the rest is discarded). */
export function readBodyText(body: UpstreamBody, limit = MAX_UPSTREAM_JSON_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    body.read({
      data(chunk) {
        if (done) return;
        size += chunk.length;
        if (size > limit) {
          done = true;
          body.destroy(new BodyTooLargeError(limit));
          reject(new BodyTooLargeError(limit));
          return;
        }
        chunks.push(chunk);
      },
      end() {
        if (done) return;
        done = true;
        resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
      },
      error(error) {
        if (done) return;
        done = true;
        reject(error);
      },
    });
  });
}

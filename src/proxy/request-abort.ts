/**
 * The abort state of one chat request.
 *
 * Creating an AbortController's signal (an EventTarget) took about 1.8 % of the CPU of a
 * non-stream request in the benchmark's profile. Most requests are never aborted, so this
 * class keeps the abort state and listeners itself, and makes a real AbortSignal only when
 * an API needs one (a retry's wait). It has the part of AbortSignal's interface that the proxy uses, so code
 * that takes an `AbortLike` accepts either.
 */

/** The part of AbortSignal that the proxy's upstream calls use. */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class RequestAbort implements AbortLike {
  private state: { reason: unknown } | undefined;
  private listeners: (() => void)[] = [];
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;

  get aborted(): boolean {
    return this.state !== undefined;
  }

  get reason(): unknown {
    return this.state?.reason;
  }

  /** A real AbortSignal that follows this request's abort, made on first use. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.state !== undefined) this.controller.abort(this.state.reason);
    }
    return this.controller.signal;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.state === undefined) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners.indexOf(listener);
    if (at !== -1) this.listeners.splice(at, 1);
  }

  /** Aborts the request once; later calls do nothing. Listeners run in the order they were added. */
  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.state !== undefined) return;
    this.state = { reason };
    this.dispose();
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
    this.controller?.abort(reason);
  }

  /** Aborts with a TimeoutError DOMException after `ms`, as AbortSignal.timeout() does. */
  abortAfter(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
    this.timer.unref();
  }

  /** Stops a pending `abortAfter()` timer. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Returns a real AbortSignal for `abort`, for APIs that accept nothing else. */
export function toAbortSignal(abort: AbortLike): AbortSignal {
  return abort instanceof RequestAbort ? abort.signal : (abort as AbortSignal);
}

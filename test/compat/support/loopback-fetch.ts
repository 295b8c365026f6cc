/**
 * Replaces globalThis.fetch with one that reaches 127.0.0.1 only. Client libraries can
 * fetch on their own: @langchain/core downloads tiktoken tables from tiktoken.pages.dev
 * to estimate token counts. The tests must never leave this machine, so such a request
 * fails here and is recorded for the test to assert on.
 */
export interface LoopbackFetchGuard {
  /** URLs that a client tried to fetch and that were not on 127.0.0.1. */
  blocked: string[];
  restore: () => void;
}

function requestUrl(input: Parameters<typeof fetch>[0]): URL {
  if (input instanceof Request) return new URL(input.url);
  return new URL(String(input));
}

/** Install before the clients are built, because some of them keep the fetch they found at construction. */
export function installLoopbackFetch(): LoopbackFetchGuard {
  const original = globalThis.fetch;
  const blocked: string[] = [];
  const guarded: typeof fetch = async (input, init) => {
    const url = requestUrl(input);
    if (url.hostname !== '127.0.0.1') {
      blocked.push(url.href);
      throw new TypeError(`fetch to ${url.href} blocked: the compatibility tests only reach 127.0.0.1`);
    }
    return original(input, init);
  };
  globalThis.fetch = guarded;
  return {
    blocked,
    restore: () => {
      globalThis.fetch = original;
    },
  };
}

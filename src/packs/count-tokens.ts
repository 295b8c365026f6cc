import { createRequire } from 'node:module';

/**
 * The encoding used for every count: o200k_base, the tokenizer of OpenAI's
 * GPT-4o family. Counts for other models (DeepSeek, Qwen, Llama, …) are
 * estimates, since each of those has a tokenizer of its own.
 */
export const TOKEN_ENCODING = 'o200k_base';

type CountFunction = (text: string) => number;

const require = createRequire(import.meta.url);
let countO200k: CountFunction | undefined;

/**
 * Counts tokens in `text` with the o200k_base encoding. The encoding's tables (about 20 MB
 * of heap) are loaded on the first call, so a server whose aliases never count tokens does
 * not hold them; that first call takes a few hundred milliseconds.
 */
export function countTokens(text: string): number {
  countO200k ??= (require('gpt-tokenizer/encoding/o200k_base') as { countTokens: CountFunction }).countTokens;
  return countO200k(text);
}

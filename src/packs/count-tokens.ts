import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base';

/**
 * The encoding used for every count: o200k_base, the tokenizer of OpenAI's
 * GPT-4o family. Counts for other models (DeepSeek, Qwen, Llama, …) are
 * estimates, since each of those has a tokenizer of its own.
 */
export const TOKEN_ENCODING = 'o200k_base';

/** Counts tokens in `text` with the o200k_base encoding. */
export function countTokens(text: string): number {
  return countO200k(text);
}

import { z } from 'zod';

export const PACK_NAME_PATTERN = /^[a-z0-9-]+$/;

const text = z.string().refine((value) => value.trim() !== '', { message: 'must not be empty' });

export const exampleSchema = z
  .object({
    user: text,
    thinking: text,
    answer: text,
  })
  .strict();

export const packSchema = z
  .object({
    name: z.string().regex(PACK_NAME_PATTERN, 'must be lowercase letters, digits and "-"'),
    title: z.string().optional(),
    language: z.string().optional(),
    char: z.string().optional(),
    user: z.string().optional(),
    /**
     * Whether the examples show one character or many. `many` declares a pack
     * meant for many characters, which lint checks for examples that all
     * show the same one (rule single-character).
     */
    characters: z.enum(['one', 'many']).optional(),
    preamble: z.string().optional(),
    examples: z.array(exampleSchema).default([]),
  })
  .strict()
  .superRefine((pack, context) => {
    if (pack.examples.length === 0 && (pack.preamble === undefined || pack.preamble.trim() === '')) {
      context.addIssue({
        code: 'custom',
        path: ['preamble'],
        message: 'is required when the pack has no examples',
      });
    }
  });

export type PackExample = z.infer<typeof exampleSchema>;
export type Pack = z.infer<typeof packSchema>;

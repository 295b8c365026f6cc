/**
 * Problems and notes of the importers, as codes with parameters. The CLI
 * message catalogue (src/cli/messages.ts) turns them into Chinese or English
 * text; the pack loader uses the English text.
 */

/** Reason an input could not be imported. */
export type ImportProblemCode =
  | 'closing-tag-without-opening'
  | 'examples-nested'
  | 'examples-not-closed'
  | 'example-not-closed'
  | 'text-outside-example'
  | 'missing-human-message'
  | 'human-message-not-closed'
  | 'missing-assistant-response'
  | 'assistant-response-not-closed'
  | 'unexpected-text-in-example'
  | 'missing-thinking'
  | 'thinking-not-closed'
  | 'png-signature'
  | 'png-truncated'
  | 'png-crc'
  | 'png-no-card-chunk'
  | 'png-text-chunk'
  | 'card-base64'
  | 'card-utf8'
  | 'card-json'
  | 'card-not-object'
  | 'card-spec'
  | 'card-data-missing'
  | 'card-field-type'
  | 'card-name-missing';

export type ImportParams = Record<string, string | number>;

export interface ImportProblem {
  code: ImportProblemCode;
  /** 1-based line in the input, for text inputs. */
  line?: number;
  params: ImportParams;
}

/** Thrown by the importers for input they cannot convert; never for a bug. */
export class PackImportError extends Error {
  readonly problem: ImportProblem;

  constructor(problem: ImportProblem) {
    super(`${problem.code}${problem.line === undefined ? '' : ` at line ${problem.line}`}`);
    this.name = 'PackImportError';
    this.problem = problem;
  }
}

/** Something in the input that the pack format has no place for, or that the importer added. */
export type ImportNoteCode =
  | 'card-field-left-out'
  | 'card-book-left-out'
  | 'card-greetings-left-out'
  | 'card-original-macro-removed'
  | 'card-legacy-placeholders'
  | 'card-turn-without-request'
  | 'card-request-without-answer'
  | 'card-text-before-turns'
  | 'card-no-examples'
  | 'card-placeholder-monologues'
  | 'card-format-paragraph-added'
  | 'png-both-chunks';

export interface ImportNote {
  code: ImportNoteCode;
  params: ImportParams;
}

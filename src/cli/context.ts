import path from 'node:path';
import { message, type Lang, type MessageArgs, type MessageId } from './messages.js';

export interface Writer {
  write(chunk: string): unknown;
}

/** Streams, environment and working folder of one run, passed in so tests can run the command in-process. */
export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  env: Record<string, string | undefined>;
  cwd: string;
}

export const EXIT_OK = 0;
/** At least one error finding, or an input that could not be converted. */
export const EXIT_FINDINGS = 1;
/** Invalid usage, or a file or folder that could not be read. */
export const EXIT_USAGE = 2;

/** Ends a command with an exit status and a message for stderr. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, text: string) {
    super(text);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export class CliContext {
  readonly io: CliIo;
  readonly lang: Lang;

  constructor(io: CliIo, lang: Lang) {
    this.io = io;
    this.lang = lang;
  }

  /** Returns the message `id` in the chosen language. */
  text<K extends MessageId>(id: K, ...params: MessageArgs<K>): string {
    return message(this.lang, id, ...params);
  }

  /** Returns a CliError that ends the command with `exitCode` and the message `id`. */
  error<K extends MessageId>(exitCode: number, id: K, ...params: MessageArgs<K>): CliError {
    return new CliError(exitCode, this.text(id, ...params));
  }

  out(line: string): void {
    this.io.stdout.write(`${line}\n`);
  }

  err(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** Resolves a path given on the command line against the working folder. */
  resolve(file: string): string {
    return path.resolve(this.io.cwd, file);
  }

  /** Shows a path relative to the working folder when it lies inside it. */
  display(file: string): string {
    const relative = path.relative(this.io.cwd, file);
    return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
  }

  /** Describes why a file could not be read or written, in the chosen language. */
  fileErrorReason(error: unknown): string {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') return this.text('reasonNotFound');
    if (code === 'EISDIR') return this.text('reasonIsFolder');
    if (code === 'EACCES' || code === 'EPERM') return this.text('reasonNoPermission');
    return error instanceof Error ? error.message : String(error);
  }
}

import { parseArgs } from 'node:util';
import { CliContext, CliError, EXIT_OK, EXIT_USAGE, type CliIo } from './context.js';
import { runImport } from './import-command.js';
import { runLint } from './lint-command.js';
import { resolveLang } from './messages.js';
import { runNew } from './new-command.js';
import { runRender } from './render-command.js';
import { runStats } from './stats-command.js';

const OPTIONS = {
  config: { type: 'string' },
  lang: { type: 'string' },
  user: { type: 'string' },
  output: { type: 'string', short: 'o' },
  name: { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;

/** Options each command accepts besides --lang and --help. */
const COMMAND_OPTIONS: Record<string, readonly OptionName[]> = {
  lint: ['config'],
  render: ['config', 'user'],
  stats: ['config', 'user'],
  new: ['config'],
  import: ['output', 'name', 'force'],
};

export type { CliIo } from './context.js';

/**
 * Runs `microtune` with `argv` (the arguments after the program name) and
 * returns the exit status: 0 success, 1 error findings, 2 usage or read
 * error. Every failure becomes a message on stderr, never a stack trace.
 */
export function runCli(argv: readonly string[], io: CliIo): number {
  const lang = resolveLang(peekLang(argv), io.env);
  const context = new CliContext(io, lang ?? 'zh');
  try {
    if (lang === undefined) throw usageError(context, context.text('invalidLang', { value: peekLang(argv) ?? '' }));
    return dispatch(context, argv);
  } catch (error) {
    if (error instanceof CliError) {
      context.err(error.message);
      return error.exitCode;
    }
    const detail = error instanceof Error ? error.message : String(error);
    context.err(context.text('unexpectedError', { detail }));
    return EXIT_USAGE;
  }
}

function dispatch(context: CliContext, argv: readonly string[]): number {
  const { values, positionals } = parseCommandLine(context, argv);
  const [group, command, ...rest] = positionals;
  if (values.help === true) {
    context.out(context.text('usage'));
    return EXIT_OK;
  }
  if (group === undefined || (group === 'packs' && command === undefined)) {
    throw new CliError(EXIT_USAGE, `${context.text('missingCommand')}\n\n${context.text('usage')}`);
  }
  if (group !== 'packs' || command === undefined || !(command in COMMAND_OPTIONS)) {
    throw usageError(context, context.text('unknownCommand', { command: positionals.slice(0, 2).join(' ') }));
  }

  const allowed = new Set<string>(['lang', 'help', ...COMMAND_OPTIONS[command]!]);
  for (const option of Object.keys(values)) {
    if (!allowed.has(option)) {
      throw usageError(context, context.text('optionNotForCommand', { option: `--${option}`, command }));
    }
  }

  const needs = (argument: string): string => {
    if (rest[0] === undefined) throw usageError(context, context.text('missingArgument', { command, argument }));
    return rest[0];
  };
  // Every command takes at most one argument.
  if (rest.length > 1) {
    throw usageError(context, context.text('tooManyArguments', { command, extra: rest.slice(1).join(' ') }));
  }
  const packOptions = { config: values.config, user: values.user };

  switch (command) {
    case 'lint':
      return runLint(context, rest[0], values.config);
    case 'render':
      return runRender(context, needs(context.lang === 'zh' ? '名字|文件' : 'pack|file'), packOptions);
    case 'stats':
      return runStats(context, rest[0], packOptions);
    case 'new':
      return runNew(context, needs(context.lang === 'zh' ? '名字' : 'pack'), values.config);
    default:
      return runImport(context, needs(context.lang === 'zh' ? '文件' : 'file'), {
        output: values.output,
        name: values.name,
        force: values.force === true,
      });
  }
}

function parseCommandLine(context: CliContext, argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const code = (error as NodeJS.ErrnoException).code;
    // Node names the option in quotes: "Unknown option '--x'", "Option '-o, --output <value>' argument missing".
    const option = /'(-[^'<]+?)\s*(?:<[^']*)?'/.exec(detail)?.[1] ?? detail;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw usageError(context, context.text('unknownOption', { option }));
    if (detail.includes('argument missing')) throw usageError(context, context.text('optionNeedsValue', { option }));
    throw usageError(context, context.text('invalidOption', { detail }));
  }
}

/** Reads --lang before full parsing, so even a parsing error is reported in the requested language. */
function peekLang(argv: readonly string[]): string | undefined {
  for (const [index, argument] of argv.entries()) {
    if (argument === '--') break;
    if (argument === '--lang') return argv[index + 1];
    if (argument.startsWith('--lang=')) return argument.slice('--lang='.length);
  }
  return undefined;
}

function usageError(context: CliContext, text: string): CliError {
  return new CliError(EXIT_USAGE, `${text}\n${context.text('usageHint')}`);
}

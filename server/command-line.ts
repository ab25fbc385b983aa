import { type Setting } from './define-setting.js';
import { documentedDefault } from './setting-default.js';
import { settingGroups } from './settings.js';

/** An entry point as `--help` names it. */
export interface EntryPoint {
  /** How an operator starts it: `npm start`. */
  readonly command: string;
  /** One line on what it is. */
  readonly summary: string;
}

/**
 * The settings reference for a terminal, from the same declarations as docs/configuration.md:
 * each setting's variable, configuration key, default and the first sentence of its description.
 */
export function settingsHelp(entry: EntryPoint): string {
  const lines = [
    `Usage: ${entry.command} [--help]`,
    '',
    entry.summary,
    'Settings are environment variables, read once at start-up; an invalid one stops it naming the variable.',
    'Every setting in full: docs/configuration.md.',
  ];
  for (const { title, settings } of settingGroups) {
    lines.push('', `${title}:`);
    for (const [key, s] of Object.entries(settings) as [string, Setting<unknown>][]) {
      lines.push(`  ${s.env} (${key}), default ${plain(documentedDefault(s))}`, `      ${firstSentence(s.description)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Markdown code spans as plain text. */
const plain = (markdown: string): string => markdown.replaceAll('`', '');

function firstSentence(text: string): string {
  // A full stop followed by a space ends a sentence; "e.g. " and "i.e. " do not.
  const end = text.search(/(?<!\b(?:e\.g|i\.e|etc))\.\s/);
  return plain(end === -1 ? text : text.slice(0, end + 1));
}

/**
 * Reads an entry point's arguments before anything starts: none runs it, `--help`/`-h` prints
 * the settings reference (exit 0), anything else is refused (exit 2), since settings are
 * environment variables and a mistyped flag must not start a server that ignores it.
 * Undefined: run; a number: exit with it.
 */
export function handleCommandLine(
  args: readonly string[],
  entry: EntryPoint,
  out: { stdout(text: string): void; stderr(text: string): void } = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  },
): number | undefined {
  if (args.length === 0) return undefined;
  if (args.some((arg) => arg === '--help' || arg === '-h')) {
    out.stdout(settingsHelp(entry));
    return 0;
  }
  out.stderr(`${entry.command}: unknown argument ${JSON.stringify(args[0])}; settings are environment variables (see --help)\n`);
  return 2;
}

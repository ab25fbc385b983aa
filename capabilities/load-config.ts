import { readFile } from 'node:fs/promises';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { type z } from 'zod';
import { CapserveError } from '../core/errors.js';
import { fileLabel } from '../core/redact-paths.js';
import { formatIssues, pathOf } from '../core/format-issues.js';
import { type CapabilitiesConfig, capabilitiesConfigSchema } from './config-schema.js';

/**
 * Reads and validates a capabilities configuration file, JSON or YAML (`.yaml`/`.yml`; JSON is
 * read by the same parser). Errors name each problem's path and line, and the file by its
 * setting and its path relative to the project root (never an absolute path: these messages
 * reach `POST /admin/reload` answers), and never quote the file's text, so a setting pointed at
 * the wrong file cannot show what is in it.
 */
export async function loadCapabilitiesConfig(file: string, setting = 'CAPABILITIES_CONFIG'): Promise<CapabilitiesConfig> {
  const label = fileLabel(file, setting);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CapserveError('CONFIG_INVALID', `cannot read capabilities config ${label}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: error });
  }
  return parseCapabilitiesText(text, label);
}

/** Parses configuration text; syntax errors and schema problems come with line and column. */
export function parseCapabilitiesText(text: string, file = '<inline>'): CapabilitiesConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const [syntax] = document.errors;
  if (syntax !== undefined) {
    const at = lineCounter.linePos(syntax.pos[0]);
    // The parser's first line says what is wrong ("Map keys must be unique"); later lines quote the text.
    const reason = (syntax.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '').slice(0, 200);
    throw new CapserveError('CONFIG_INVALID', `cannot parse capabilities config ${file} (line ${at.line}, column ${at.col}): ${reason}`);
  }
  const parsed = capabilitiesConfigSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const issues = parsed.error.issues.map(withoutContent);
    const located = issues.map((issue) => `${pathOf(issue)}${lineOf(document, lineCounter, issue.path)}: ${issue.message}`);
    throw new CapserveError('CONFIG_INVALID', `invalid capabilities config ${file}: ${located.join('; ')}`, { details: { issues } });
  }
  return parsed.data;
}

export function parseCapabilitiesConfig(raw: unknown, file = '<inline>'): CapabilitiesConfig {
  const parsed = capabilitiesConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(withoutContent);
    throw new CapserveError('CONFIG_INVALID', `invalid capabilities config ${file}: ${formatIssues(issues)}`, { details: { issues } });
  }
  return parsed.data;
}

/** A key a capabilities file could mean: a name, not a line of some other file. */
const keyLike = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/**
 * An issue that quotes nothing from the file but key names: an unrecognised key is a misspelt
 * setting worth naming ("capabilites"), but a key such as `root:x:0:0:root:/root:/bin/bash`
 * is another file's content, and is only counted.
 */
function withoutContent(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'unrecognized_keys') return issue;
  const named = issue.keys.filter((key) => keyLike.test(key)).slice(0, 10);
  const others = issue.keys.length - named.length;
  const listed = [...named.map((key) => JSON.stringify(key)), ...(others > 0 ? [`${others} other${others === 1 ? '' : 's'}`] : [])];
  return { ...issue, keys: named, message: `Unrecognized key${issue.keys.length === 1 ? '' : 's'}: ${listed.join(', ')}` };
}

/** `capabilities.2.params.labels: give at least two labels; ...` */
/** " (line N, column M)" of the deepest node on `path` that exists in the document. */
function lineOf(document: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): string {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node: unknown = depth === 0 ? document.contents : document.getIn(path.slice(0, depth).map((key) => (typeof key === 'symbol' ? String(key) : key)), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range !== undefined) {
      const at = lineCounter.linePos(range[0]);
      return ` (line ${at.line}, column ${at.col})`;
    }
  }
  return '';
}

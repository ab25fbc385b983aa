import { readFile } from 'node:fs/promises';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { CapserveError, messageOf } from '../core/errors.js';
import { formatIssues, pathOf } from '../core/format-issues.js';
import { type CapabilitiesConfig, capabilitiesConfigSchema } from './config-schema.js';

/**
 * Reads and validates a capabilities configuration file, JSON or YAML (`.yaml`/`.yml`; JSON is
 * read by the same parser). Errors name the file, and each problem its path and line.
 */
export async function loadCapabilitiesConfig(file: string): Promise<CapabilitiesConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CapserveError('CONFIG_INVALID', `cannot read capabilities config ${file}: ${messageOf(error)}`, { cause: error });
  }
  return parseCapabilitiesText(text, file);
}

/** Parses configuration text; syntax errors and schema problems come with line and column. */
export function parseCapabilitiesText(text: string, file = '<inline>'): CapabilitiesConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const [syntax] = document.errors;
  if (syntax !== undefined) {
    const at = lineCounter.linePos(syntax.pos[0]);
    throw new CapserveError('CONFIG_INVALID', `cannot parse capabilities config ${file} (line ${at.line}, column ${at.col}): ${syntax.message.split('\n')[0]}`);
  }
  const parsed = capabilitiesConfigSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const located = parsed.error.issues.map((issue) => `${pathOf(issue)}${lineOf(document, lineCounter, issue.path)}: ${issue.message}`);
    throw new CapserveError('CONFIG_INVALID', `invalid capabilities config ${file}: ${located.join('; ')}`, { details: { issues: parsed.error.issues } });
  }
  return parsed.data;
}

export function parseCapabilitiesConfig(raw: unknown, file = '<inline>'): CapabilitiesConfig {
  const parsed = capabilitiesConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CapserveError('CONFIG_INVALID', `invalid capabilities config ${file}: ${formatIssues(parsed.error.issues)}`, {
      details: { issues: parsed.error.issues },
    });
  }
  return parsed.data;
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

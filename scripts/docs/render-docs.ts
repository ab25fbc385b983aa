import { z } from 'zod';
import { type ErrorDefinition, errorDefinitions } from '../../core/errors.js';
import { type Setting } from '../../server/define-setting.js';
import { settingGroups } from '../../server/settings.js';
import { documentedDefault } from '../../server/setting-default.js';

// The page and `--help` share it; the docs tests still reach it here.
export { documentedDefault };

/*
 * The reference pages that restate code: docs/configuration.md from the settings declaration,
 * docs/errors.md from the error registry. scripts/docs/generate-docs.ts writes them; a test
 * compares the files with what these functions return.
 */

/** The whole of docs/configuration.md. */
export function renderConfigurationPage(): string {
  const sections = settingGroups.map(({ title, settings }) => {
    const rows = Object.values(settings).map((s: Setting<unknown>) => [code(s.env), documentedDefault(s), acceptedValues(s.schema), s.description]);
    return `## ${title}\n\n${table(['Variable', 'Default', 'Accepted', 'Description'], rows)}`;
  });
  return [
    '# Configuration',
    generatedFrom('server/settings.ts'),
    [
      'capserve reads its settings from environment variables, once, when it starts; nothing else reads the environment.',
      'An empty variable counts as unset. An invalid value stops start-up with `CONFIG_INVALID`, naming every variable at fault.',
      'Switches take `1`/`true` or `0`/`false`.',
      'Paths default to places in the project (the folder holding `package.json`); a path you set is resolved against the working directory.',
    ].join(' '),
    ...sections,
  ].join('\n\n') + '\n';
}

/** The whole of docs/errors.md. */
export function renderErrorsPage(): string {
  const definitions: [string, ErrorDefinition][] = Object.entries(errorDefinitions);
  // By status, the registry's order within one status.
  const rows = definitions
    .sort(([, a], [, b]) => a.status - b.status)
    .map(([name, d]) => [code(name), String(d.status), d.retryable ? 'yes' : 'no', d.message]);
  return [
    '# Errors',
    generatedFrom('core/errors.ts'),
    'Every error response carries the same body:',
    '```json\n{ "error": { "code": "TOO_MANY_TEXTS", "message": "300 texts exceed the limit of 256 per request", "limit": 256 } }\n```',
    [
      '`code` is stable: branch on it. `message` is for people and may change.',
      'Some errors add machine-readable fields beside the two, such as `limit` above, `retryAfterSeconds` on 429 responses (also sent as a `Retry-After` header) or `issues` on `VALIDATION_ERROR`.',
      "On the WebSocket an error is a message `{ \"type\": \"error\", \"code\", \"message\", ... }` carrying the request's `id` when it had one; a failed job keeps `{ code, message }`.",
    ].join(' '),
    '*Retryable* says whether sending the same work again may succeed. A queued job is tried again (up to `JOB_ATTEMPTS` times in all) only after a retryable error.',
    table(['Code', 'HTTP status', 'Retryable', 'Meaning'], rows),
  ].join('\n\n') + '\n';
}

/** What the schema lets through: the choices, a number's bounds, a URL, or text. */
function acceptedValues(schema: z.ZodType): string {
  const json = inputSchema(schema);
  if (Array.isArray(json.enum)) return json.enum.map((v) => code(String(v))).join(', ');
  if (json.type === 'integer' || json.type === 'number') {
    const kind = json.type === 'integer' ? 'integer' : 'number';
    const min = typeof json.minimum === 'number' ? json.minimum : undefined;
    const max = typeof json.maximum === 'number' && json.maximum < Number.MAX_SAFE_INTEGER ? json.maximum : undefined;
    if (min !== undefined && max !== undefined) return `${kind} ${min}–${max}`;
    if (min !== undefined) return `${kind} ≥ ${min}`;
    return max === undefined ? kind : `${kind} ≤ ${max}`;
  }
  return json.format === 'uri' ? 'URL' : 'text';
}

/** The JSON Schema of what the variable may hold (transforms after it left out). */
const inputSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

const generatedFrom = (source: string): string =>
  `<!-- Generated from ${source} by \`npm run docs\`; edit that file and regenerate, not this page. -->`;

const code = (text: string): string => `\`${text}\``;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

import { z } from 'zod';
import { type Setting } from './define-setting.js';

/**
 * A setting's default as an operator would write it (markdown): the schema's own default (env
 * spelling, e.g. `0` for a switch), the declaration's text where the default is computed at
 * start-up, else unset. docs/configuration.md and `--help` both show it.
 */
export function documentedDefault(s: Setting<unknown>): string {
  if (s.defaultText !== undefined) return s.defaultText;
  const fallback = z.toJSONSchema(s.schema, { io: 'input', unrepresentable: 'any' }).default;
  return fallback === undefined ? 'unset' : `\`${String(fallback)}\``;
}

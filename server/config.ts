import { CapserveError } from '../core/errors.js';
import { type SettingValue } from './define-setting.js';
import { settings } from './settings.js';

/** The configuration, read once from the environment at start-up; nothing else reads process.env. */
export type ServerConfig = { readonly [K in keyof typeof settings]: SettingValue<(typeof settings)[K]> };

/** The names of every environment variable the server reads. */
export const configVariables: readonly string[] = Object.values(settings).map((s) => s.env);

/** Parses the environment once; empty variables count as unset, invalid values fail with every problem named. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(settings)) {
    const raw = env[s.env];
    const read = s.read(raw === '' ? undefined : raw);
    if (read.ok) values[key] = read.value;
    else problems.push(...read.problems);
  }
  if (problems.length > 0) throw new CapserveError('CONFIG_INVALID', `invalid environment: ${problems.join('; ')}`);
  // Every key of `settings` was read above, each into its setting's own type.
  return Object.freeze(values) as ServerConfig;
}

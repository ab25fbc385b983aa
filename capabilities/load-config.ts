import { readFile } from 'node:fs/promises';
import { type z } from 'zod';
import { CapserveError, messageOf } from '../server/errors.js';
import { type CapabilitiesConfig, capabilitiesConfigSchema } from './config-schema.js';

/** Reads and validates a capabilities configuration file; errors name the file and each bad path. */
export async function loadCapabilitiesConfig(file: string): Promise<CapabilitiesConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CapserveError('CONFIG_INVALID', `cannot read capabilities config ${file}: ${messageOf(error)}`, { cause: error });
  }
  return parseCapabilitiesConfig(raw, file);
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
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');
}

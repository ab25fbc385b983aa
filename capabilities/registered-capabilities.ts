import { type CapabilitiesConfig, capabilitySpecSchema } from './config-schema.js';
import { formatIssues } from '../core/format-issues.js';

/** A capability added at run time (e.g. by `/train` with `register`), as its configuration object. */
export interface RegisteredCapability {
  readonly name: string;
  /** A capabilities-config entry (validated by the capabilities schema when the configuration is built). */
  readonly spec: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
}

/**
 * The configuration file's capabilities plus those registered at run time (kept in the store).
 * The file wins a name clash, so an operator can always override a registration; a registered
 * entry that no longer validates is reported, not loaded.
 */
export function withRegistered(
  config: CapabilitiesConfig,
  registered: readonly RegisteredCapability[],
  warn: (message: string) => void = () => {},
): CapabilitiesConfig {
  const names = new Set(config.capabilities.map((spec) => spec.name));
  const extra = [];
  for (const entry of registered) {
    if (names.has(entry.name)) {
      warn(`registered capability "${entry.name}" is shadowed by the configuration file`);
      continue;
    }
    const parsed = capabilitySpecSchema.safeParse(entry.spec);
    if (!parsed.success) {
      warn(`registered capability "${entry.name}" is invalid and was skipped: ${formatIssues(parsed.error.issues)}`);
      continue;
    }
    names.add(entry.name);
    extra.push(parsed.data);
  }
  return { ...config, capabilities: [...config.capabilities, ...extra] };
}

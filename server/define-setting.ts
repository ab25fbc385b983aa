import path from 'node:path';
import { z } from 'zod';
import { isCapserveError } from '../core/errors.js';
import { formatIssues } from '../core/format-issues.js';
import { projectRoot } from '../core/project-root.js';

/** One environment variable: its name, what it means, its schema, and how its value is read. */
export interface Setting<T> {
  /** The environment variable. */
  readonly env: string;
  /** One line for docs/configuration.md. */
  readonly description: string;
  /** Validates the raw variable (`undefined` when unset) and supplies its default. */
  readonly schema: z.ZodType;
  /** The default in docs when the schema cannot show it because it is computed at start-up (markdown). */
  readonly defaultText: string | undefined;
  /** The value for the raw variable, or every problem with it, each naming the variable. */
  read(raw: string | undefined): SettingRead<T>;
}

export type SettingRead<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly string[] };

/** The type a setting puts into the configuration. */
export type SettingValue<S> = S extends Setting<infer T> ? T : never;

interface SettingSpec<S extends z.ZodType> {
  readonly env: string;
  readonly description: string;
  readonly schema: S;
  readonly defaultText?: string;
}

/**
 * Declares a setting. `resolve` finishes a valid value (resolves a path, computes a default,
 * parses a list); a CONFIG_INVALID it throws is reported like a schema problem.
 */
export function setting<S extends z.ZodType, T>(spec: SettingSpec<S> & { readonly resolve: (value: z.output<S>) => T }): Setting<T>;
export function setting<S extends z.ZodType>(spec: SettingSpec<S>): Setting<z.output<S>>;
export function setting<S extends z.ZodType, T>(spec: SettingSpec<S> & { readonly resolve?: (value: z.output<S>) => T }): Setting<T | z.output<S>> {
  const { env, description, schema, defaultText, resolve } = spec;
  return {
    env,
    description,
    schema,
    defaultText,
    read(raw) {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        return { ok: false, problems: [formatIssues(parsed.error.issues.map((issue) => ({ ...issue, path: [env, ...issue.path] })))] };
      }
      if (resolve === undefined) return { ok: true, value: parsed.data };
      try {
        return { ok: true, value: resolve(parsed.data) };
      } catch (error) {
        // Such messages name the variable themselves (e.g. "API_KEYS: cannot read …").
        if (isCapserveError(error) && error.code === 'CONFIG_INVALID') return { ok: false, problems: [error.message] };
        throw error;
      }
    },
  };
}

/** A whole number within bounds, with a default; environment text is coerced. */
export const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** A yes/no switch: `1`/`true` or `0`/`false`. */
export const flag = (fallback: '0' | '1') =>
  z
    .enum(['0', '1', 'true', 'false'])
    .default(fallback)
    .transform((v) => v === '1' || v === 'true');

/**
 * A path that defaults to `segments` under the project root (the folder holding package.json);
 * a path that is set is resolved against the working directory.
 */
export function underProjectRoot(...segments: string[]): { readonly defaultText: string; readonly resolve: (value: string | undefined) => string } {
  return {
    defaultText: `\`${segments.join('/')}\` in the project`,
    resolve: (value) => path.resolve(value ?? path.join(projectRoot(), ...segments)),
  };
}

import { readFile } from 'node:fs/promises';
import { type z } from 'zod';

/** Reads and parses a model's JSON file; errors name the model, what the file is, and the path. */
export async function readJson(file: string, what: string, modelName: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`model "${modelName}": cannot read ${what} ${file} (${errnoReason(error)})`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`model "${modelName}": ${what} ${file} is not valid JSON`, { cause: error });
  }
}

/** The errno code (ENOENT, EACCES…) where there is one: the message would repeat the path. */
export function errnoReason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ?? message;
}

/** `value` checked against `schema`; the first issue names the file and the model. */
export function parseAs<T>(schema: z.ZodType<T>, value: unknown, file: string, modelName: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new Error(`model "${modelName}": ${file} has an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

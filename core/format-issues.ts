import { type z } from 'zod';

/** `path: message; path: message` for zod issues, the root named `(root)`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${pathOf(issue)}: ${issue.message}`).join('; ');
}

/** An issue's path as dotted text, `(root)` for the value itself. */
export const pathOf = (issue: z.core.$ZodIssue): string => issue.path.map(String).join('.') || '(root)';

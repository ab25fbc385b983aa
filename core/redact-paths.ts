import path from 'node:path';
import { projectRoot } from './project-root.js';

/** An absolute POSIX path, or a Windows one, not part of a URL. */
const absolutePath = /(?<![\w:/.~-])(?:[A-Za-z]:\\|\/)(?:[\w.@+-]+[/\\])*[\w.@+-]+/g;

/**
 * A message fit for a response body: paths under the project root become relative to it, and
 * any other absolute path is reduced to `…/<file name>`, so an error never shows where the
 * server is installed or what lies outside it. Logs keep the full message.
 */
export function redactPaths(message: string, root: string = projectRoot()): string {
  return message.replace(absolutePath, (found) => {
    const relative = path.relative(root, found);
    if (relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)) return relative;
    return `…/${path.basename(found)}`;
  });
}

/** How a message names a file: relative to the project root when inside it, else by its setting (or `…/<file name>`). */
export function fileLabel(file: string, setting?: string, root: string = projectRoot()): string {
  const relative = path.relative(root, path.resolve(file));
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  if (setting === undefined) return inside ? relative : `…/${path.basename(file)}`;
  return inside ? `${setting} (${relative})` : setting;
}

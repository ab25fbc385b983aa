import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/**
 * Calls `onChange` after `file` changes and then stays unchanged for `debounceMs`. Watches the
 * folder rather than the file, because editors and `kubectl`-mounted config maps replace the
 * file (a rename) rather than write into it. Returns a function that stops watching.
 */
export function watchFile(file: string, onChange: () => void, debounceMs = 300): () => void {
  const name = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(path.dirname(file), (_event, changed) => {
    if (changed !== null && changed !== name && !changed.startsWith('..')) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

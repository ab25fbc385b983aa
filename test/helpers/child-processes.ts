import { readdirSync, readFileSync } from 'node:fs';

/** A live child of this process, from /proc (Linux). */
export interface ChildProcessInfo {
  readonly pid: number;
  /** The executable's name as the kernel keeps it (15 characters at most). */
  readonly name: string;
}

/**
 * This process's children that are still alive (zombies excluded: Node reaps them), read from
 * /proc/<pid>/stat. Tests use it to show a cancelled job left no ffmpeg or decoder behind.
 */
export function childProcesses(parent = process.pid): ChildProcessInfo[] {
  const children: ChildProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone between the listing and the read
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (Number(ppid) !== parent || state === 'Z') continue;
    children.push({ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return children;
}

/** Whether a process of this pid is alive (and not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

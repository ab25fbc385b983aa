import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { projectRoot } from '../core/project-root.js';

/** What `capserve_build_info` labels: capserve's version, the Node.js version, and onnxruntime-node's. */
export interface BuildInfo {
  readonly version: string;
  readonly node: string;
  readonly onnxruntime: string;
}

let cached: BuildInfo | undefined;

/** Read once per process: the package files do not change under a running server. */
export function buildInfo(): BuildInfo {
  cached ??= {
    version: versionOf(path.join(projectRoot(), 'package.json')),
    node: process.versions.node,
    onnxruntime: onnxruntimeVersion(),
  };
  return cached;
}

function versionOf(file: string): string {
  const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  return typeof version === 'string' ? version : 'unknown';
}

/** The installed onnxruntime-node, found the way the backends import it; "unknown" when it is not installed. */
function onnxruntimeVersion(): string {
  try {
    return versionOf(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  } catch {
    return 'unknown';
  }
}

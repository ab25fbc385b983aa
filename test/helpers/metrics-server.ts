import path from 'node:path';
import { spawn } from 'node:child_process';
import { type Test } from 'tap';
import { type FullServer, startFullServer, testDir, writeCapabilities } from './full-server.js';
import { tinyBertDir } from './tiny-bert.js';

/**
 * The whole server over the tiny BERT (an onnx classifier, `tiny`), with one answered
 * `/classify`, one refused (VALIDATION_ERROR) and one unknown route (NOT_FOUND) behind it, so
 * every series the dashboard and the alert rules read has a sample.
 */
export async function metricsServer(t: Test): Promise<FullServer> {
  const dir = await testDir(t, 'metrics');
  const bert = await tinyBertDir();
  const file = await writeCapabilities(dir, [{ name: 'classification', kind: 'classifier', model: 'tiny' }], [
    { name: 'tiny', backend: 'onnx', task: 'classification', path: bert },
  ]);
  const server = await startFullServer(t, { CAPABILITIES_CONFIG: file, MODELS_DIR: path.dirname(bert), SQLITE_PATH: ':memory:', MODEL_REPOSITORY: dir });
  const classified = await server.request('POST', '/classify', { texts: ['one text', 'two texts'], capabilities: ['classification'] });
  if (classified.status !== 200) throw new Error(`/classify answered ${classified.status}: ${classified.text}`);
  const refused = await server.request('POST', '/classify', { texts: [], capabilities: ['classification'] });
  if (refused.status !== 400) throw new Error(`an empty /classify answered ${refused.status}: ${refused.text}`);
  await server.request('GET', '/no-such-route');
  return server;
}

/** Runs a command with `input` on its stdin; resolves with its exit code and output. */
export function runWithInput(command: string, args: readonly string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** The metric names of a text exposition (every sample's name, histogram suffixes included). */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (match?.[1] !== undefined) names.add(match[1]);
  }
  return names;
}

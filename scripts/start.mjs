// `npm start` and `npm run worker`: run the built entry point in this very process, compiling
// first only when dist/ is missing or older than a source file.
//
// Plain JavaScript, so it runs where the dev dependencies (tsx, typescript) are not installed.
// The npm scripts `exec` it: npm forwards SIGTERM and SIGINT to its child, and without `exec`
// that child is `sh`, which dies of the signal and leaves node running, orphaned. Importing the
// entry point here (rather than spawning it) keeps one process that receives the signal itself
// and logs its own shutdown.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entries = { server: 'server/main.js', worker: 'server/worker.js' };

/**
 * Why dist/ must be built again, or undefined when it is current: an entry point or a source's
 * output is missing, or a source (or a tsconfig) is newer than the output it compiles to. tsc
 * rewrites every output on each build, so each output's time is its last build's.
 */
export function staleReason(projectRoot = root) {
  const outDir = path.join(projectRoot, 'dist');
  const build = JSON.parse(readFileSync(path.join(projectRoot, 'tsconfig.build.json'), 'utf8'));
  for (const entry of Object.values(entries)) {
    if (!existsSync(path.join(outDir, entry))) return `dist/${entry} is missing`;
  }
  const configTime = Math.max(...['tsconfig.json', 'tsconfig.build.json'].map((file) => statSync(path.join(projectRoot, file)).mtimeMs));
  let oldestOutput = Number.POSITIVE_INFINITY;
  for (const folder of build.include) {
    for (const source of sourceFiles(path.join(projectRoot, folder))) {
      const relative = path.relative(projectRoot, source);
      const output = path.join(outDir, relative.replace(/\.ts$/, '.js'));
      if (!existsSync(output)) return `dist has no output for ${relative}`;
      const outputTime = statSync(output).mtimeMs;
      if (statSync(source).mtimeMs > outputTime) return `${relative} changed since the last build`;
      oldestOutput = Math.min(oldestOutput, outputTime);
    }
  }
  if (configTime > oldestOutput) return 'a tsconfig changed since the last build';
  return undefined;
}

/** TypeScript sources under `dir` (not declarations), skipping generated model folders. */
function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'generated' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Runs tsc over tsconfig.build.json, passing on a signal that arrives meanwhile; resolves with its exit code. */
function build() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return Promise.resolve(undefined);
  }
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const forward = (signal) => child.kill(signal);
  process.on('SIGTERM', forward).on('SIGINT', forward);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('SIGTERM', forward).off('SIGINT', forward);
      resolve(signal === null ? code : 128);
    });
  });
}

async function start() {
  const [name, ...rest] = process.argv.slice(2);
  const entry = entries[name ?? ''];
  if (entry === undefined) {
    process.stderr.write(`usage: node scripts/start.mjs ${Object.keys(entries).join('|')} [--help]\n`);
    process.exit(2);
  }
  const stale = staleReason();
  if (stale !== undefined) {
    process.stderr.write(`capserve: building (${stale})\n`);
    const code = await build();
    if (code === undefined) {
      process.stderr.write('capserve: dist/ is out of date and TypeScript is not installed here; run `npm run build` where it is\n');
      process.exit(1);
    }
    if (code !== 0) process.exit(code);
  }
  // The entry point reads its own arguments from process.argv: as if it had been run directly.
  process.argv = [process.argv[0] ?? process.execPath, path.join(root, 'dist', entry), ...rest];
  await import(pathToFileURL(path.join(root, 'dist', entry)).href);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await start();

/**
 * Builds the GPU check bundle, scripts/gpu/out/capserve-gpu-check.tar.xz, for a machine with an
 * NVIDIA driver but no network, Node or npm (scripts/gpu/run.sh unpacks and runs it there):
 *
 *   node          this machine's Node binary (the tarball is xz-compressed)
 *   app/          the check as plain JavaScript (esbuild transpiles each file; nothing is bundled,
 *                 so worker threads and child processes find their files as in dist/), with only
 *                 the node_modules packages its imports reach, trimmed to linux/x64
 *   lib/          the Vulkan loader, libvulkan.so.1 (Debian libvulkan1), which Dawn loads
 *   run.sh        the runner, for reference (run it from the repository: scripts/gpu/run.sh)
 *
 *   npx tsx scripts/gpu/bundle.ts
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { projectRoot } from '../../core/project-root.js';

const root = projectRoot();
const outDir = path.join(root, 'scripts', 'gpu', 'out');
const bundleFile = path.join(outDir, 'capserve-gpu-check.tar.xz');
const VULKAN_LOADER = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';

/** What the check runs: itself, the benchmark with its servers and load generator, the model worker. */
const entries = [
  'scripts/gpu/gpu-check.ts',
  'scripts/bench/run-bench.ts',
  'scripts/bench/naive-server.ts',
  'scripts/bench/load.ts',
  'server/main.ts',
  'models/model-worker.ts',
];

/**
 * Reached only through backends the check never loads (USE-lite on TF.js, OCR): about 100 MiB.
 * models/loaders.ts imports each backend on first use, so leaving these out breaks nothing else.
 */
const notBundled = ['@tensorflow/*', '@energetic-ai/*', '@gutenye/*'];

/** Files, and top-level folders, that no package needs at run time. */
const DROP_DIR = /^(test|tests|__tests__|docs?|examples?|benchmarks?|\.github|coverage|man)$/;
const DROP_FILE = /\.([cm]?ts|map|md|markdown|tsbuildinfo)$/i;

/** Package-specific trims: keep only what loads on linux/x64. */
const keepOnly: Record<string, (file: string) => boolean> = {
  'onnxruntime-node': (file) => !file.startsWith('bin/') || file.startsWith('bin/napi-v6/linux/x64/'),
  '@huggingface/transformers': (file) => !file.startsWith('dist/') || file === 'dist/transformers.node.mjs',
  'better-sqlite3': (file) => !/^(deps|src)\//.test(file) && (!file.startsWith('build/') || file === 'build/Release/better_sqlite3.node'),
};

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function sizeOf(target: string): number {
  return Number(execFileSync('du', ['-sb', target], { encoding: 'utf8' }).split('\t')[0]);
}

/** Every source file and package folder the entries reach, following static and dynamic imports. */
async function trace(): Promise<{ sources: string[]; packages: string[] }> {
  const result = await build({
    entryPoints: entries.map((entry) => path.join(root, entry)),
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    outdir: 'trace',
    external: ['*.node', ...notBundled],
    logLevel: 'error',
  });
  const sources: string[] = [];
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const at = input.lastIndexOf('node_modules/');
    if (at === -1) {
      sources.push(input);
      continue;
    }
    const name = input.slice(at + 'node_modules/'.length).split('/');
    packages.add(input.slice(0, at + 'node_modules/'.length) + (name[0]?.startsWith('@') ? `${name[0]}/${name[1]}` : name[0]));
  }
  return { sources, packages: withNativeParts([...packages]) };
}

/**
 * Native packages load their platform binary through a computed require (sharp's
 * @img/sharp-linux-x64 and its libvips), which no trace sees: add the installed optional
 * dependencies for linux/x64, and theirs.
 */
function withNativeParts(packages: string[]): string[] {
  const all = new Set(packages);
  for (const dir of all) {
    const manifest = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
    for (const name of Object.keys(manifest.optionalDependencies ?? {})) {
      const candidate = `node_modules/${name}`;
      if (/linux-x64/.test(name) && !/musl/.test(name) && existsSync(path.join(root, candidate))) all.add(candidate);
    }
  }
  return [...all].sort();
}

function copyPackage(dir: string, stage: string): void {
  const name = dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const keep = keepOnly[name] ?? (() => true);
  const from = path.join(root, dir);
  cpSync(from, path.join(stage, 'app', dir), {
    recursive: true,
    filter: (source) => {
      const relative = path.relative(from, source).split(path.sep).join('/');
      if (relative === '') return true;
      // Nested packages are copied on their own when the trace reaches them.
      if (relative.split('/').includes('node_modules')) return false;
      if (statSync(source).isDirectory()) return relative.includes('/') || !DROP_DIR.test(relative);
      return !DROP_FILE.test(path.basename(source)) && keep(relative);
    },
  });
}

async function main(): Promise<void> {
  if (!existsSync(VULKAN_LOADER)) throw new Error(`${VULKAN_LOADER} is missing: apt-get install libvulkan1`);
  const stage = mkdtempSync(path.join(tmpdir(), 'capserve-gpu-bundle-'));
  try {
    const { sources, packages } = await trace();
    await build({
      entryPoints: sources.filter((file) => file.endsWith('.ts')).map((file) => path.join(root, file)),
      absWorkingDir: root,
      outbase: root,
      outdir: path.join(stage, 'app'),
      bundle: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
    });
    for (const dir of packages) copyPackage(dir, stage);
    execFileSync('find', [path.join(stage, 'app'), '-type', 'd', '-empty', '-delete']);
    // Read at run time through the project root: the capabilities the benchmark's configs start from.
    cpSync(path.join(root, 'capabilities', 'default.json'), path.join(stage, 'app', 'capabilities', 'default.json'));
    cpSync(path.join(root, 'capabilities', 'data'), path.join(stage, 'app', 'capabilities', 'data'), { recursive: true });
    writeFileSync(path.join(stage, 'app', 'package.json'), `${JSON.stringify({ name: 'capserve-gpu-check', private: true, type: 'module' }, null, 2)}\n`);
    cpSync(process.execPath, path.join(stage, 'node'));
    mkdirSync(path.join(stage, 'lib'));
    cpSync(realpathSync(VULKAN_LOADER), path.join(stage, 'lib', 'libvulkan.so.1'));
    cpSync(path.join(root, 'scripts', 'gpu', 'run.sh'), path.join(stage, 'run.sh'));

    const parts = {
      node: sizeOf(path.join(stage, 'node')),
      'app code': sizeOf(path.join(stage, 'app')) - sizeOf(path.join(stage, 'app', 'node_modules')),
      [`app/node_modules (${packages.length} packages)`]: sizeOf(path.join(stage, 'app', 'node_modules')),
      'lib/libvulkan.so.1': sizeOf(path.join(stage, 'lib')),
    };
    mkdirSync(outDir, { recursive: true });
    rmSync(bundleFile, { force: true });
    process.stderr.write(`compressing ${mib(sizeOf(stage))} with xz -9 (a few minutes)\n`);
    execFileSync('sh', ['-c', `tar -C "$1" -cf - . | xz -T0 -9 > "$2"`, 'sh', stage, bundleFile], { stdio: 'inherit' });
    for (const [part, bytes] of Object.entries(parts)) process.stdout.write(`  ${part}: ${mib(bytes)} unpacked\n`);
    process.stdout.write(`${path.relative(root, bundleFile)}: ${mib(statSync(bundleFile).size)} (${statSync(bundleFile).size} bytes)\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

await main();

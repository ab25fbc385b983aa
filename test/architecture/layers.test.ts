import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { projectRoot } from '../../core/project-root.js';

/**
 * The folders of the source, bottom layer first. A file may import from its own folder or from
 * a folder of a lower layer, never from one of the same layer or above; `core/` imports none.
 */
const layers: readonly (readonly string[])[] = [
  ['core'],
  ['models'],
  ['capabilities'],
  ['batcher'],
  ['engine'],
  ['store', 'jobs'],
  ['review'],
  ['training'],
  ['server'],
];
const rank = new Map(layers.flatMap((folders, level) => folders.map((folder) => [folder, level] as const)));
const root = projectRoot();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import of a file, as the top folder it lands in. */
function importedFolders(file: string): { specifier: string; folder: string }[] {
  const text = readFileSync(file, 'utf8');
  const found: { specifier: string; folder: string }[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const specifier = match[1] ?? '';
    const target = path.relative(root, path.resolve(path.dirname(file), specifier));
    found.push({ specifier, folder: target.split(path.sep)[0] ?? '' });
  }
  return found;
}

/** `from -> to` folder arrows among the layers, with the files behind each. */
function folderGraph(): Map<string, string[]> {
  const arrows = new Map<string, string[]>();
  for (const folder of rank.keys()) {
    for (const file of sourceFiles(path.join(root, folder))) {
      for (const { specifier, folder: target } of importedFolders(file)) {
        if (target === folder || !rank.has(target)) continue;
        const key = `${folder} -> ${target}`;
        arrows.set(key, [...(arrows.get(key) ?? []), `${path.relative(root, file)} imports ${specifier}`]);
      }
    }
  }
  return arrows;
}

t.test('every import points down the layers', async (t) => {
  const graph = folderGraph();
  const upward = [...graph].filter(([arrow]) => {
    const [from = '', to = ''] = arrow.split(' -> ');
    return (rank.get(to) ?? 0) >= (rank.get(from) ?? 0);
  });
  t.same(upward.map(([arrow, files]) => `${arrow}: ${files.join(', ')}`), [], 'no import from a lower layer to a higher one or across a layer');
  t.comment(`${graph.size} folder arrows, none upward`);
});

t.test('nothing outside server/ imports server/', async (t) => {
  const offenders = [...folderGraph()].filter(([arrow]) => arrow.endsWith(' -> server')).flatMap(([, files]) => files);
  t.same(offenders, []);
});

t.test('every layer is built and shipped', async (t) => {
  const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  const dockerfile = readFileSync(path.join(root, 'Dockerfile.cuda'), 'utf8');
  for (const folder of rank.keys()) {
    t.ok(build.include.includes(folder), `tsconfig.build.json includes ${folder}/`);
    t.match(dockerfile, new RegExp(`^COPY ${folder} \\./${folder}$`, 'm'), `Dockerfile.cuda copies ${folder}/`);
  }
});

t.test('the check sees imports: a file that imports upward is caught', async (t) => {
  // The graph must not be empty by accident (a broken pattern would pass every rule above).
  const graph = folderGraph();
  t.ok(graph.has('server -> engine'), 'server imports the engine');
  t.ok(graph.has('batcher -> core'), 'the batcher imports the core');
  const sample = importedFolders(path.join(root, 'server', 'main.ts'));
  t.ok(sample.some(({ folder }) => folder === 'server'), 'same-folder imports are seen too');
});

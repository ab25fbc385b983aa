import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { projectRoot } from '../../core/project-root.js';

/**
 * Docker is not at hand in CI, so the Dockerfiles are checked against the tree: every file they
 * copy exists, every npm script they run is declared, the entry point they start compiles from a
 * source, and the CPU image is built in stages and runs as a user with a health check.
 */

const root = projectRoot();
const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** The instructions of a Dockerfile, continuation lines joined and comments dropped. */
function instructions(file: string): Instruction[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const logical = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

for (const file of ['Dockerfile', 'Dockerfile.cuda']) {
  t.test(`${file} copies files that exist and runs what is declared`, async (t) => {
    const steps = instructions(file);
    const stages = steps.filter((s) => s.keyword === 'FROM').map((s) => /\bAS\s+(\S+)/i.exec(s.args)?.[1]).filter((name) => name !== undefined);
    for (const copy of steps.filter((s) => s.keyword === 'COPY')) {
      const words = copy.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const sources = paths.slice(0, -1);
      t.ok(sources.length > 0, `COPY ${copy.args} names a source`);
      if (from !== undefined) {
        t.ok(stages.includes(from), `COPY --from=${from}: a stage of that name exists`);
        continue;
      }
      for (const source of sources) t.ok(existsSync(path.join(root, source)), `COPY ${source}: exists`);
    }
    const commands = steps.filter((s) => s.keyword === 'RUN' || s.keyword === 'CMD' || s.keyword === 'ENTRYPOINT' || s.keyword === 'HEALTHCHECK');
    for (const { args } of commands) {
      for (const match of args.matchAll(/\bnpm run\s+([\w:-]+)/g)) t.ok(scripts[match[1] ?? ''] !== undefined, `npm run ${match[1]}: a script of package.json`);
      if (/\bnpm start\b/.test(args)) t.ok(scripts.start !== undefined, 'npm start: declared');
      for (const match of args.matchAll(/dist\/([\w/-]+)\.js/g)) {
        t.ok(existsSync(path.join(root, `${match[1]}.ts`)), `dist/${match[1]}.js compiles from ${match[1]}.ts`);
      }
    }
    t.ok(
      steps.some((s) => (s.keyword === 'CMD' || s.keyword === 'ENTRYPOINT') && /dist\/server\/main\.js/.test(s.args)),
      'it starts the compiled server with node, so SIGTERM reaches it without npm or a shell between',
    );
    t.ok(steps.some((s) => s.keyword === 'HEALTHCHECK'), 'a health check');
  });
}

t.test('the CPU Dockerfile builds in stages and runs production dependencies as a user', async (t) => {
  const steps = instructions('Dockerfile');
  const lastFrom = steps.map((s) => s.keyword).lastIndexOf('FROM');
  t.ok(steps.filter((s) => s.keyword === 'FROM').length >= 2, 'multi-stage');
  const final = steps.slice(lastFrom);
  t.ok(final.some((s) => s.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(s.args)), 'the final stage installs production dependencies only');
  t.notOk(final.some((s) => s.keyword === 'RUN' && /npm ci(?![^&]*--omit=dev)/.test(s.args)), 'and no dev dependencies');
  const user = final.find((s) => s.keyword === 'USER');
  t.ok(user !== undefined && user.args !== 'root' && user.args !== '0', `runs as ${user?.args}`);
  t.match(final.find((s) => s.keyword === 'HEALTHCHECK')?.args ?? '', /\/health\b/, 'the health check asks /health');
  const packages = final.filter((s) => s.keyword === 'RUN').map((s) => s.args).join(' ');
  for (const name of ['ffmpeg', 'pocketsphinx', 'pocketsphinx-en-us']) t.match(packages, new RegExp(`\\b${name}\\b`), `installs ${name}`);
  const build = steps.slice(0, lastFrom);
  for (const folder of JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')).include as string[]) {
    t.ok(build.some((s) => s.keyword === 'COPY' && new RegExp(`^${folder} \\./${folder}$`).test(s.args)), `the build stage copies ${folder}/`);
  }
  t.notOk(steps.some((s) => s.keyword === 'ENV' && /API_KEYS/.test(s.args)), 'no API keys baked in');
});

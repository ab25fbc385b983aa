import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import t from 'tap';
import { projectRoot } from '../../core/project-root.js';
import { startDocumentedServer } from '../helpers/documented-server.js';

const run = promisify(execFile);
const root = projectRoot();
const bin = (name: string): string => path.join(root, 'node_modules', '.bin', name);

/** Every native route, called through openapi-fetch with the generated types; it must compile. */
const typedCalls = `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1', headers: { authorization: 'Bearer key' } });

export async function everyRoute(): Promise<void> {
  const classified = await client.POST('/classify', { body: { texts: ['a'], capabilities: ['sentiment', 'embedding'], priority: 'high', timeoutMs: 1000 } });
  if (classified.data !== undefined) {
    const first = classified.data.results[0];
    const label: string | undefined = first?.sentiment?.label;
    const probability: number | undefined = first?.sentiment?.scores['POSITIVE'];
    const vector: number[] | undefined = first?.embedding;
    const top: string | undefined = first?.topics?.top;
    const words: number | undefined = first?.stats?.words;
    const batchId: number = classified.data.batch.id;
    void [label, probability, vector, top, words, batchId];
  }
  if (classified.error !== undefined) {
    const code: string = classified.error.error.code;
    const where: string | undefined = classified.error.error.issues?.[0]?.path;
    void [code, where];
  }
  const health = await client.GET('/health');
  const okStatus: 'ok' | undefined = health.data?.status;
  const ready = await client.GET('/health/ready');
  const readyFlag: boolean | undefined = ready.data?.ready;
  const capabilities = await client.GET('/capabilities');
  const kinds: string[] | undefined = capabilities.data?.capabilities.map((c) => c.kind);
  const stats = await client.GET('/stats');
  const requests: number | undefined = stats.data?.requests.total;
  const metrics = await client.GET('/metrics', { parseAs: 'text' });
  const models = await client.GET('/models');
  const names: string[] | undefined = models.data?.models.map((m) => m.name);
  const model = await client.GET('/models/{name}', { params: { path: { name: 'm' } } });
  const defaultVersion: number | undefined = model.data?.defaultVersion;
  await client.POST('/models/{name}/default', { params: { path: { name: 'm' } }, body: { version: 2 } });
  const diff = await client.GET('/models/{name}/diff', { params: { path: { name: 'm' }, query: { from: 1, to: 2 } } });
  const added: string[] | undefined = diff.data?.files.added;
  const verified = await client.POST('/models/{name}/versions/{version}/verify', { params: { path: { name: 'm', version: 1 } } });
  const files: number | undefined = verified.data?.verified;
  const trained = await client.POST('/train', { body: { model: 'm', dataset: 'd', features: { kind: 'tfidf' } } });
  const jobId: string | undefined = trained.data?.job.id;
  await client.POST('/evaluate', { body: { model: 'm', dataset: 'd' } });
  const jobs = await client.GET('/model-jobs', { params: { query: { status: 'running', limit: 10 } } });
  const job = await client.GET('/model-jobs/{id}', { params: { path: { id: 'j' } } });
  const progress: number | undefined = job.data?.progress;
  await client.DELETE('/model-jobs/{id}', { params: { path: { id: 'j' } } });
  const created = await client.POST('/datasets', { body: { name: 'd', examples: [{ text: 'a', label: 'x' }] } });
  const size: number | undefined = created.data?.size;
  const datasets = await client.GET('/datasets');
  const dataset = await client.GET('/datasets/{id}', { params: { path: { id: 'd' } } });
  const texts: string[] | undefined = dataset.data?.examples.map((e) => e.text);
  await client.POST('/reviewers', { body: { name: 'r', specialisations: ['*'] } });
  const reviewers = await client.GET('/reviewers');
  const reviews = await client.GET('/reviews', { params: { query: { status: 'pending' } } });
  const exported = await client.GET('/reviews/export', { params: { query: { format: 'json' } } });
  await client.POST('/reviews/export', { body: { capability: 'sentiment' } });
  const review = await client.GET('/reviews/{id}', { params: { path: { id: 'r' } } });
  const status: 'pending' | 'assigned' | 'resolved' | undefined = review.data?.status;
  await client.POST('/reviews/{id}', { params: { path: { id: 'r' } }, body: { reviewer: 'r', label: 'x' } });
  const audit = await client.GET('/audit', { params: { query: { afterSeq: 3 } } });
  const reloaded = await client.POST('/admin/reload');
  const processed = await client.POST('/process', { body: { text: 'a', capabilities: ['sentiment'] } });
  if (processed.data !== undefined && 'jobId' in processed.data) void processed.data.jobId;
  const queued = await client.GET('/jobs/{id}', { params: { path: { id: 'j' } } });
  const attempts: number | undefined = queued.data?.attempts;
  await client.DELETE('/jobs/{id}', { params: { path: { id: 'j' } } });
  void [okStatus, readyFlag, kinds, requests, metrics, names, defaultVersion, added, files, jobId, jobs, progress, size, datasets, texts, reviewers, reviews, exported, status, audit, reloaded, attempts];
}
`;

/** Calls the generated types must refuse, one per line, each marked with the line's expected error. */
const wrongCalls = `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1' });

export async function wrong(): Promise<void> {
  await client.POST('/classify', { body: { texts: 'one text', capabilities: ['sentiment'] } }); // WRONG: texts is an array
  await client.POST('/classify', { body: { texts: ['a'], capabilities: ['sentiment'], priority: 'urgent' } }); // WRONG: no such priority
  const { data } = await client.POST('/classify', { body: { texts: ['a'], capabilities: ['sentiment'] } });
  const label: number | undefined = data?.results[0]?.sentiment?.label; // WRONG: a label is a string
  await client.GET('/models/{name}', {}); // WRONG: the path parameter is required
  void label;
}
`;

t.test('the OpenAPI document of the whole server lints clean and types a working client', async (t) => {
  const server = await startDocumentedServer(t);
  const served = await server.request('GET', '/docs/json');
  t.equal(served.status, 200);
  const document = served.body as { paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; responses: Record<string, unknown> }>> };

  const operations = Object.entries(document.paths).flatMap(([route, methods]) => Object.entries(methods).map(([method, operation]) => ({ route, method, operation })));
  const ids = operations.map(({ operation }) => operation.operationId);
  t.notOk(ids.includes(undefined), 'every operation has an operationId');
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  t.same(document.paths['/health']?.get?.security, [], 'exempt routes need no key');
  t.same(document.paths['/metrics']?.get?.security, []);
  t.equal(document.paths['/classify']?.post?.security, undefined, 'the rest take the global bearer scheme');
  t.ok(document.paths['/datasets']?.post?.responses['201'] !== undefined, '201 for a created data set');
  t.ok(document.paths['/train']?.post?.responses['202'] !== undefined, '202 for a queued model job');
  t.ok(document.paths['/process']?.post?.responses['202'] !== undefined, '202 for a queued /process job');
  t.ok(document.paths['/ws']?.get?.responses['101'] !== undefined, 'the WebSocket upgrade');

  const dir = await mkdtemp(path.join(root, 'node_modules', '.cache-capserve-openapi-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'openapi.json');
  await writeFile(file, JSON.stringify(document, null, 2));

  // Redocly's recommended rules: errors fail the test; warnings are printed for the record.
  const lint = await run(bin('redocly'), ['lint', file, '--format=json'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const report = JSON.parse(lint.stdout.slice(lint.stdout.indexOf('{'))) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[] };
  const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`);
  t.equal(report.totals.errors, 0, 'no lint errors', { problems: problems.filter((p) => p.startsWith('error')) });
  t.comment(`redocly warnings: ${report.totals.warnings}\n${problems.filter((p) => p.startsWith('warn')).join('\n')}`);

  // A client generated from the document: typed calls compile, wrong ones do not (one tsc run over both files).
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'schema.d.ts'), astToString(await openapiTS(JSON.stringify(document))));
  await writeFile(path.join(dir, 'calls.ts'), typedCalls);
  await writeFile(path.join(dir, 'wrong.ts'), wrongCalls);
  const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', 'calls.ts', 'wrong.ts'];
  const compiled = await run(bin('tsc'), args, { cwd: dir }).then(() => '', (error: { stdout?: string }) => error.stdout ?? '');
  const errors = compiled.split('\n').filter((line) => /error TS\d+/.test(line));
  t.same(errors.filter((line) => line.startsWith('calls.ts')), [], 'every typed call compiles');
  const wrongLines = wrongCalls.split('\n').flatMap((line, i) => (line.includes('// WRONG') ? [i + 1] : []));
  const failedLines = new Set(errors.filter((line) => line.startsWith('wrong.ts')).map((line) => Number(/^wrong\.ts\((\d+),/.exec(line)?.[1])));
  for (const line of wrongLines) t.ok(failedLines.has(line), `wrong.ts line ${line} does not compile: ${wrongCalls.split('\n')[line - 1]?.trim()}`);
});

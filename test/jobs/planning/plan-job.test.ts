import t from 'tap';
import { type PlanningContext, planJob, scoreWorker, type WorkerNeed } from '../../../jobs/planning/plan-job.js';
import { type Complexity, type JobFacts, type MediaKind, type ResourceClass, type Route, type WorkerInfo } from '../../../jobs/types.js';

const MIB = 1024 * 1024;
const LIMIT = 512;
const allKinds = ['text', 'image', 'audio', 'video', 'document', 'other'];

const worker = (over: Partial<WorkerInfo> & Pick<WorkerInfo, 'id' | 'queue'>): WorkerInfo => ({
  device: 'cpu',
  capabilities: [...allKinds, 'topics', 'ocr', 'metadata'],
  freeMemoryMb: 8000,
  load: 0,
  ...over,
});
const batcher = worker({ id: 'batcher', queue: 'inline', device: 'cuda', capabilities: ['text', 'topics'] });
const cpuA = worker({ id: 'cpu-a', queue: 'cpu_standard' });
const fallbackA = worker({ id: 'fallback-a', queue: 'gpu_fallback', load: 0.5 });

const env = (over: Partial<PlanningContext> = {}): PlanningContext => ({
  gpuAvailable: true,
  workers: [batcher, cpuA, fallbackA],
  limits: { maxInlineTokens: LIMIT },
  ...over,
});

const facts = (kind: MediaKind, over: Partial<JobFacts> = {}): JobFacts => ({
  kind,
  mediaType: { text: 'text/plain', image: 'image/png', audio: 'audio/wav', video: 'video/mp4', document: 'application/pdf', other: 'application/zip' }[kind],
  bytes: 100_000,
  capabilities: [],
  options: {},
  ...over,
});
const text = (tokens: number, over: Partial<JobFacts> = {}) => facts('text', { tokens, bytes: tokens * 4, capabilities: ['topics'], ...over });
const image = (width: number, height: number, over: Partial<JobFacts> = {}) => facts('image', { width, height, ...over });
const ocrImage = (width: number, height: number) => image(width, height, { capabilities: ['ocr'] });
const audio = (durationSec: number, over: Partial<JobFacts> = {}) => facts('audio', { durationSec, capabilities: ['metadata'], ...over });
const video = (durationSec: number, width = 1920, height = 1080) => facts('video', { durationSec, width, height, capabilities: ['metadata'] });
const pdf = (pages: number, over: Partial<JobFacts> = {}) => facts('document', { pages, capabilities: ['document'], ...over });
const other = (bytes: number) => facts('other', { bytes });

t.test('complexity: exactly at each threshold and one past it', async (t) => {
  const cases: [name: string, facts: JobFacts, level: Complexity][] = [
    ['text at maxInlineTokens', text(512), 'low'],
    ['text one past maxInlineTokens', text(513), 'medium'],
    ['text at 4×', text(2048), 'medium'],
    ['text past 4×', text(2049), 'high'],
    ['text at 32×', text(16_384), 'high'],
    ['text past 32×', text(16_385), 'very_high'],
    ['text without tokens: bytes / 4', facts('text', { bytes: 2052 }), 'medium'],
    ['image at 4 MP', image(2000, 2000), 'low'],
    ['image past 4 MP', image(2000, 2001), 'medium'],
    ['image at 16 MP', image(4000, 4000), 'medium'],
    ['image past 16 MP', image(4000, 4001), 'high'],
    ['image at 64 MP', image(8000, 8000), 'high'],
    ['image past 64 MP', image(8000, 8001), 'very_high'],
    ['OCR image at 1 MP', ocrImage(1000, 1000), 'low'],
    ['OCR image past 1 MP', ocrImage(1000, 1001), 'medium'],
    ['OCR image at 4 MP', ocrImage(2000, 2000), 'medium'],
    ['OCR image past 4 MP', ocrImage(2000, 2001), 'high'],
    ['OCR image at 16 MP', ocrImage(4000, 4000), 'high'],
    ['OCR image past 16 MP', ocrImage(4000, 4001), 'very_high'],
    ['OCR asked as an option', image(2000, 2001, { options: { ocr: true } }), 'high'],
    ['image of unknown size: by bytes', facts('image', { bytes: 2 * MIB }), 'medium'],
    ['audio at 60 s', audio(60), 'low'],
    ['audio past 60 s', audio(61), 'medium'],
    ['audio at 600 s', audio(600), 'medium'],
    ['audio past 600 s', audio(601), 'high'],
    ['audio at 3600 s', audio(3600), 'high'],
    ['audio past 3600 s', audio(3601), 'very_high'],
    ['audio of unknown duration: by bytes', facts('audio', { bytes: 200 * MIB }), 'very_high'],
    ['1080p video at 30 s', video(30), 'low'],
    ['1080p video past 30 s', video(31), 'medium'],
    ['1080p video at 300 s', video(300), 'medium'],
    ['1080p video past 300 s', video(301), 'high'],
    ['1080p video at 1800 s', video(1800), 'high'],
    ['1080p video past 1800 s', video(1801), 'very_high'],
    ['video one row past 1080p is a level harder', video(30, 1920, 1081), 'medium'],
    ['4K video past 1800 s stays very_high', video(1801, 3840, 2160), 'very_high'],
    ['video of unknown resolution: by duration', facts('video', { durationSec: 31 }), 'medium'],
    ['video of unknown duration: by bytes', facts('video', { bytes: MIB }), 'low'],
    ['pdf at 10 pages', pdf(10), 'low'],
    ['pdf past 10 pages', pdf(11), 'medium'],
    ['pdf at 50 pages', pdf(50), 'medium'],
    ['pdf past 50 pages', pdf(51), 'high'],
    ['pdf at 300 pages', pdf(300), 'high'],
    ['pdf past 300 pages', pdf(301), 'very_high'],
    ['document without pages: by bytes', facts('document', { mediaType: 'application/rtf', bytes: 17 * MIB }), 'high'],
    ['other at 1 MiB', other(MIB), 'low'],
    ['other past 1 MiB', other(MIB + 1), 'medium'],
    ['other at 16 MiB', other(16 * MIB), 'medium'],
    ['other past 16 MiB', other(16 * MIB + 1), 'high'],
    ['other at 128 MiB', other(128 * MIB), 'high'],
    ['other past 128 MiB', other(128 * MIB + 1), 'very_high'],
  ];
  for (const [name, input, level] of cases) t.equal(planJob(input, env()).complexity.level, level, name);
});

t.test('estimatedMs follows the named cost constants', async (t) => {
  const cases: [name: string, facts: JobFacts, ms: number][] = [
    ['text: 5 + 0.2 × 1000 tokens', text(1000), 205],
    ['image: 20 + 15 × 4 MP', image(2000, 2000), 80],
    ['OCR image: 300 + 400 × 4 MP', ocrImage(2000, 2000), 1900],
    ['audio: 100 + 20 × 60 s', audio(60), 1300],
    ['transcription: 100 + (20 + 700) × 10 s', audio(10, { options: { transcribe: true } }), 7300],
    ['a text capability on audio transcribes too', audio(10, { capabilities: ['topics'] }), 7300],
    ['720p video: 100 + (20 + 100) × 10 s', video(10, 1280, 720), 1300],
    ['1440p video scales by pixels: 100 + (20 + 100 × 4) × 10 s', video(10, 2560, 1440), 4300],
    ['pdf: 50 + 30 × 10 pages', pdf(10), 350],
    ['pdf with OCR: 50 + 1500 × 10 pages', pdf(10, { options: { ocr: true } }), 15_050],
    ['other: 10 + 20 × 1 MiB', other(MIB), 30],
    ['audio of unknown duration: 100 + 10 + 20 × 1 MiB', facts('audio', { bytes: MIB }), 130],
  ];
  for (const [name, input, ms] of cases) t.equal(planJob(input, env()).complexity.estimatedMs, ms, name);
});

t.test('resource classes and memory', async (t) => {
  const cases: [name: string, facts: JobFacts, classes: ResourceClass[]][] = [
    ['small text', text(100), ['cpu_light', 'gpu_preferred']],
    ['long text is chunked', text(513), ['cpu_intensive', 'gpu_preferred']],
    ['small image, no model work', image(100, 100), ['cpu_light']],
    ['large image, no model work', image(3000, 3000), ['cpu_intensive']],
    ['OCR image', ocrImage(100, 100), ['cpu_intensive']],
    ['OCR image with topics', image(100, 100, { capabilities: ['ocr', 'topics'] }), ['cpu_intensive', 'gpu_preferred']],
    ['huge image', image(20_000, 10_000), ['cpu_intensive', 'memory_intensive']],
    ['short audio metadata', audio(30), ['cpu_light']],
    ['long audio metadata', audio(3000), ['cpu_intensive']],
    ['transcription runs on the CPU', audio(30, { options: { transcribe: true } }), ['cpu_intensive']],
    ['the transcribe capability', audio(30, { capabilities: ['transcribe'] }), ['cpu_intensive']],
    ['a text capability on speech implies transcription, and prefers a GPU for the text', audio(30, { capabilities: ['topics'] }), ['cpu_intensive', 'gpu_preferred']],
    ['three hours of speech', audio(3 * 3600, { capabilities: ['transcribe'] }), ['cpu_intensive']],
    ['video', video(10), ['cpu_intensive', 'disk_intensive']],
    ['pdf', pdf(3), ['cpu_intensive']],
    ['pdf with topics', pdf(3, { capabilities: ['document', 'topics'] }), ['cpu_intensive', 'gpu_preferred']],
    ['pdf of 2000 pages', pdf(2000), ['cpu_intensive', 'memory_intensive']],
    ['small other', other(1000), ['cpu_light']],
    ['large file', other(17 * MIB), ['cpu_intensive', 'disk_intensive']],
  ];
  for (const [name, input, classes] of cases) t.same(planJob(input, env()).resources.classes, classes, name);

  t.equal(planJob(text(100), env()).resources.estimatedMemoryMb, 65, 'text: 64 + 400 B × 2 + 0.1 MB');
  t.equal(planJob(ocrImage(2000, 2000), env()).resources.estimatedMemoryMb, 263, 'image: 64 + 0.2 + 4 MP × 4 B × 3 + 150');
  t.equal(planJob(audio(100, { options: { transcribe: true } }), env()).resources.estimatedMemoryMb, 195, 'audio: 64 + 0.2 + 128 + 60 s × 0.032');
  t.equal(planJob(audio(3 * 3600, { capabilities: ['transcribe'] }), env()).resources.estimatedMemoryMb, 195, 'three hours hold no more PCM than 60 s');
  t.equal(planJob(audio(3 * 3600), env()).resources.estimatedMemoryMb, 65, 'metadata reads no samples');
});

t.test('routes every kind', async (t) => {
  const cases: [name: string, facts: JobFacts, queue: Route, worker: string | null][] = [
    ['small text: inline batcher', text(LIMIT), 'inline', 'batcher'],
    ['long text', text(LIMIT + 1), 'cpu_standard', 'cpu-a'],
    ['image', ocrImage(800, 600), 'cpu_standard', 'cpu-a'],
    ['audio', audio(30), 'cpu_standard', 'cpu-a'],
    ['video', video(30), 'cpu_standard', 'cpu-a'],
    ['document', pdf(3), 'cpu_standard', 'cpu-a'],
    ['other', other(1000), 'cpu_standard', 'cpu-a'],
    ['a text file of few tokens is inline too', text(10, { mediaType: 'text/plain' }), 'inline', 'batcher'],
  ];
  for (const [name, input, queue, chosen] of cases) {
    const { routing } = planJob(input, env());
    t.equal(routing.route, queue, `${name}: queue`);
    t.equal(routing.worker, chosen, `${name}: worker`);
    t.equal(routing.fallback, undefined, `${name}: no fallback`);
  }
  const inline = planJob(text(100), env()).routing;
  t.equal(inline.reason, 'text of 100 tokens ≤ 512 (low): inline through the batcher; worker batcher (score 1)');
  t.equal(planJob(text(100), env({ gpuAvailable: false })).routing.route, 'inline', 'small text stays inline without a GPU: the batcher runs on the CPU');
});

t.test('GPU work falls back when the GPU is absent, unregistered or saturated', async (t) => {
  const busy = (load: number) => [{ ...batcher, load }, cpuA, fallbackA];
  const cases: [name: string, facts: JobFacts, environment: PlanningContext, queue: Route, fallback: string | undefined][] = [
    ['long text, GPU free', text(5000), env(), 'cpu_standard', undefined],
    ['long text, no GPU', text(5000), env({ gpuAvailable: false }), 'gpu_fallback', 'no GPU: gpu_preferred job sent to gpu_fallback'],
    ['long text, no GPU worker', text(5000), env({ workers: [cpuA, fallbackA] }), 'gpu_fallback', 'no GPU worker: gpu_preferred job sent to gpu_fallback'],
    ['long text, GPU just below saturation', text(5000), env({ workers: busy(0.99) }), 'cpu_standard', undefined],
    ['long text, GPU saturated', text(5000), env({ workers: busy(1) }), 'gpu_fallback', 'GPU saturated (load 1): gpu_preferred job sent to gpu_fallback'],
    ['long text, GPU backlogged', text(5000), env({ workers: busy(2.5) }), 'gpu_fallback', 'GPU saturated (load 2.5): gpu_preferred job sent to gpu_fallback'],
    ['image with topics, no GPU', image(800, 600, { capabilities: ['ocr', 'topics'] }), env({ gpuAvailable: false }), 'gpu_fallback', 'no GPU: gpu_preferred job sent to gpu_fallback'],
    ['OCR only is CPU work: no fallback', ocrImage(800, 600), env({ gpuAvailable: false }), 'cpu_standard', undefined],
    ['pdf with topics, GPU saturated', pdf(5, { capabilities: ['document', 'topics'] }), env({ workers: busy(1) }), 'gpu_fallback', 'GPU saturated (load 1): gpu_preferred job sent to gpu_fallback'],
    ['small text ignores saturation: the batcher queues it', text(10), env({ workers: busy(3) }), 'inline', undefined],
  ];
  for (const [name, input, environment, queue, fallback] of cases) {
    const { routing } = planJob(input, environment);
    t.equal(routing.route, queue, `${name}: queue`);
    t.equal(routing.fallback, fallback, `${name}: fallback`);
  }
  const noGpu = planJob(text(5000), env({ gpuAvailable: false })).routing;
  t.equal(noGpu.worker, 'fallback-a');
  t.match(noGpu.reason, /^text of 5000 tokens > 512 \(high\): gpu_fallback queue \(no GPU\); worker fallback-a/);
});

t.test('transcription is CPU work: it takes a worker that lists transcribe, and waits for one otherwise', async (t) => {
  const transcribe = audio(120, { options: { transcribe: true } });
  const cpuTranscriber = worker({ id: 'cpu-transcriber', queue: 'cpu_standard', capabilities: ['audio', 'metadata', 'transcribe'] });

  const waiting = planJob(transcribe, env({ gpuAvailable: false, workers: [cpuA] })).routing;
  t.equal(waiting.route, 'cpu_standard');
  t.equal(waiting.worker, null);
  t.match(waiting.reason, /cpu-a: lacks transcribe/);
  t.equal(waiting.fallback, undefined, 'no GPU is wanted, so none is missed');

  const served = planJob(transcribe, env({ gpuAvailable: false, workers: [cpuA, cpuTranscriber] })).routing;
  t.equal(served.route, 'cpu_standard');
  t.equal(served.worker, 'cpu-transcriber');
  t.equal(served.fallback, undefined);

  const long = planJob(audio(3 * 3600, { capabilities: ['transcribe'] }), env({ workers: [cpuTranscriber] }));
  t.equal(long.complexity.level, 'very_high', 'three hours of audio');
  t.equal(long.complexity.estimatedMs, 100 + 3 * 3600 * 720);
  t.equal(long.routing.worker, 'cpu-transcriber');
});

t.test('gpu_required is a gate: only a CUDA worker passes it', async (t) => {
  const need: WorkerNeed = { capabilities: ['audio'], memoryMb: 100, gpu: 'required' };
  t.match(scoreWorker(worker({ id: 'cpu', queue: 'gpu_fallback' }), need), { eligible: false, excluded: 'device' });
  t.match(scoreWorker(worker({ id: 'gpu', queue: 'gpu_fallback', device: 'cuda' }), need), { eligible: true });
});

t.test('no suitable worker: the job waits on its queue, or on cpu_standard when nobody anywhere can take it', async (t) => {
  const onlyFallbackReads = env({ workers: [batcher, worker({ id: 'cpu-text', queue: 'cpu_standard', capabilities: ['text'] }), fallbackA] });
  const waiting = planJob(pdf(3), onlyFallbackReads);
  const served = planJob(pdf(3), env());
  t.equal(waiting.routing.route, 'cpu_standard', 'keeps its queue');
  t.equal(waiting.routing.worker, null);
  t.equal(
    waiting.routing.reason,
    'document of 3 pages (low): cpu_standard queue; no worker on cpu_standard can take it (cpu-text: lacks document); the job waits for one',
  );
  t.same(waiting.routing.alternatives, [{ worker: 'fallback-a', queue: 'gpu_fallback', score: 0.833 }], 'the workers that could, elsewhere');
  t.ok(waiting.routing.confidence < served.routing.confidence, `lower confidence (${waiting.routing.confidence} < ${served.routing.confidence})`);
  t.equal(waiting.routing.fallback, undefined);

  const nobody = planJob(pdf(3), env({ workers: [] })).routing;
  t.same(
    { route: nobody.route, worker: nobody.worker, alternatives: nobody.alternatives, fallback: nobody.fallback },
    { route: 'cpu_standard', worker: null, alternatives: [], fallback: undefined },
  );
  t.equal(nobody.reason, 'document of 3 pages (low): cpu_standard queue; no worker on any queue can take it (no workers registered); it waits on cpu_standard');
  t.ok(nobody.confidence < waiting.routing.confidence, 'lowest confidence with no worker anywhere');

  const inlineNobody = planJob(text(10), env({ workers: [] })).routing;
  t.equal(inlineNobody.route, 'cpu_standard', 'even small text goes to cpu_standard when nobody can take it');
  t.equal(inlineNobody.fallback, 'no worker can take it anywhere: sent to cpu_standard instead of inline');
});

t.test('a worker without enough memory or a needed capability is excluded', async (t) => {
  const tight = worker({ id: 'cpu-tight', queue: 'cpu_standard', freeMemoryMb: 100 });
  const busyRoomy = worker({ id: 'cpu-busy', queue: 'cpu_standard', load: 3 });
  const bigImage = image(4000, 3000, { capabilities: ['ocr'] }); // 64 + 0.2 + 12 MP × 12 + 150 = 359 MB
  const routing = planJob(bigImage, env({ workers: [tight, busyRoomy] })).routing;
  t.equal(routing.worker, 'cpu-busy', 'the idle worker has too little memory');
  t.same(routing.alternatives, []);

  const noOcr = worker({ id: 'cpu-no-ocr', queue: 'cpu_standard', capabilities: ['image'] });
  const chosen = planJob(ocrImage(800, 600), env({ workers: [noOcr, busyRoomy] })).routing;
  t.equal(chosen.worker, 'cpu-busy', 'the idle worker lacks ocr');
  const viaOption = planJob(image(800, 600, { options: { ocr: true } }), env({ workers: [noOcr, busyRoomy] })).routing;
  t.equal(viaOption.worker, 'cpu-busy', 'an ocr option needs the ocr capability too');

  const need: WorkerNeed = { capabilities: ['image', 'ocr'], memoryMb: 359, gpu: 'none' };
  t.same(scoreWorker(tight, need), { eligible: false, excluded: 'memory', detail: '100 MB free, 359 MB needed' });
  t.same(scoreWorker(noOcr, need), { eligible: false, excluded: 'capability', detail: 'lacks ocr' });
  t.same(scoreWorker(worker({ id: 'exact', queue: 'cpu_standard', freeMemoryMb: 359 }), need), { eligible: true, score: 0.775 }, 'exactly enough memory is enough');
});

t.test('scoreWorker weighs load, spare memory and device', async (t) => {
  const cpuNeed: WorkerNeed = { capabilities: ['text'], memoryMb: 100, gpu: 'none' };
  const gpuNeed: WorkerNeed = { ...cpuNeed, gpu: 'preferred' };
  const cases: [name: string, worker: WorkerInfo, need: WorkerNeed, score: number][] = [
    ['idle, roomy', worker({ id: 'a', queue: 'cpu_standard' }), cpuNeed, 1],
    ['load 1 halves the load term', worker({ id: 'a', queue: 'cpu_standard', load: 1 }), cpuNeed, 0.75],
    ['load 3', worker({ id: 'a', queue: 'cpu_standard', load: 3 }), cpuNeed, 0.625],
    ['twice the memory needed', worker({ id: 'a', queue: 'cpu_standard', freeMemoryMb: 200 }), cpuNeed, 0.85],
    ['CPU worker for GPU-preferred work', worker({ id: 'a', queue: 'cpu_standard' }), gpuNeed, 0.8],
    ['CUDA worker for GPU-preferred work', worker({ id: 'a', queue: 'cpu_standard', device: 'cuda' }), gpuNeed, 1],
  ];
  for (const [name, input, need, score] of cases) t.same(scoreWorker(input, need), { eligible: true, score }, name);
  t.same(scoreWorker(worker({ id: 'a', queue: 'cpu_standard' }), { ...cpuNeed, gpu: 'required' }), {
    eligible: false,
    excluded: 'device',
    detail: 'needs a CUDA device',
  });
});

t.test('alternatives: every other eligible worker on any route, best first', async (t) => {
  const workers = [
    worker({ id: 'cpu-c', queue: 'cpu_standard', load: 1 }),
    worker({ id: 'fb-b', queue: 'gpu_fallback', load: 0 }),
    worker({ id: 'cpu-a', queue: 'cpu_standard', load: 0.25 }),
    worker({ id: 'cpu-b', queue: 'cpu_standard', load: 1 }),
    worker({ id: 'cpu-lacking', queue: 'cpu_standard', capabilities: ['text'] }),
    batcher,
  ];
  const routing = planJob(pdf(3), env({ workers })).routing;
  t.equal(routing.worker, 'cpu-a', 'the best on the route, although a worker elsewhere scores higher');
  t.same(routing.alternatives, [
    { worker: 'fb-b', queue: 'gpu_fallback', score: 1 },
    { worker: 'cpu-b', queue: 'cpu_standard', score: 0.75 },
    { worker: 'cpu-c', queue: 'cpu_standard', score: 0.75 },
  ]);
  const shuffled = planJob(pdf(3), env({ workers: [...workers].reverse() }));
  t.same(shuffled, planJob(pdf(3), env({ workers })), 'deterministic whatever the order of workers');
});

t.test('confidence: lower for unknown facts and for a close runner-up', async (t) => {
  const confidence = (input: JobFacts, environment = env()) => planJob(input, environment).routing.confidence;
  const cases: [name: string, known: JobFacts, unknown: JobFacts][] = [
    ['audio without duration', audio(30), facts('audio', { capabilities: ['metadata'] })],
    ['video without duration', video(30), facts('video', { capabilities: ['metadata'] })],
    ['video without resolution', video(30), facts('video', { durationSec: 30, capabilities: ['metadata'] })],
    ['image without size', image(100, 100), facts('image')],
    ['pdf without pages', pdf(3), facts('document', { capabilities: ['document'] })],
    ['text without tokens', text(5000), facts('text', { bytes: 20_000, capabilities: ['topics'] })],
  ];
  for (const [name, known, unknown] of cases) {
    t.equal(confidence(known), 1, `${name}: known facts, one clear worker`);
    t.ok(confidence(unknown) < confidence(known), `${name}: ${confidence(unknown)}`);
  }
  t.equal(confidence(facts('audio', { capabilities: ['metadata'] })), 0.6);

  const twins = env({ workers: [cpuA, worker({ id: 'cpu-z', queue: 'cpu_standard' })] });
  t.equal(confidence(pdf(3), twins), 0.6, 'two equal workers: the choice is a coin toss');
  const clear = env({ workers: [cpuA, worker({ id: 'cpu-z', queue: 'cpu_standard', load: 1 })] });
  t.equal(confidence(pdf(3), clear), 1, 'a lead of 0.25 is a clear choice');
  const close = env({ workers: [cpuA, worker({ id: 'cpu-z', queue: 'cpu_standard', load: 0.1 })] });
  t.equal(confidence(pdf(3), close), 0.69, 'a lead of 0.045 is not: 0.6 + 0.4 × 0.045 / 0.2');
});

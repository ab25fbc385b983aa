import { type Complexity, mediaCapabilities, type JobFacts, type ResourceClass, type Route, type JobPlan, type WorkerInfo } from '../types.js';

/**
 * Every routing rule lives in this module: size thresholds, cost and memory estimates,
 * resource classes, the route, worker scoring and confidence. Estimates are orders of
 * magnitude for scheduling and for the response, not promises.
 */

export interface PlanningContext {
  readonly gpuAvailable: boolean;
  readonly workers: readonly WorkerInfo[];
  readonly limits: { readonly maxInlineTokens: number };
}

const MIB = 1024 * 1024;
/** Upper bounds of low, medium and high; above the last is very_high. */
type Thresholds = readonly [low: number, medium: number, high: number];

/** Text, in multiples of maxInlineTokens: inline-sized, a few chunks, many chunks. */
export const TEXT_TOKEN_MULTIPLES: Thresholds = [1, 4, 32];
export const IMAGE_PIXELS: Thresholds = [4e6, 16e6, 64e6];
/** OCR cost grows with the pixels it has to read, so its levels come four times sooner. */
export const OCR_IMAGE_PIXELS: Thresholds = [1e6, 4e6, 16e6];
export const AUDIO_SECONDS: Thresholds = [60, 600, 3600];
export const VIDEO_SECONDS: Thresholds = [30, 300, 1800];
/** A video larger than 1080p is one level harder than its duration alone says. */
export const FULL_HD_PIXELS = 1920 * 1080;
export const PDF_PAGES: Thresholds = [10, 50, 300];
/** For anything whose size in its own unit is unknown. */
export const FILE_BYTES: Thresholds = [1 * MIB, 16 * MIB, 128 * MIB];

// Time: a fixed start-up cost plus a cost per unit of size.
export const TEXT_BASE_MS = 5;
export const TEXT_MS_PER_TOKEN = 0.2;
export const IMAGE_BASE_MS = 20;
export const IMAGE_MS_PER_MEGAPIXEL = 15;
export const OCR_BASE_MS = 300;
export const OCR_MS_PER_MEGAPIXEL = 400;
export const MEDIA_BASE_MS = 100;
export const AUDIO_MS_PER_SECOND = 20;
/**
 * PocketSphinx through the pipeline (ffmpeg, 30-second chunks, one decoder process per chunk):
 * 148 s of LibriVox speech took 104 s here, 1.4 audio seconds per wall second on a shared
 * 2-core machine, so about 700 ms per second (`transcribeAudio` over the five
 * pocketsphinx-testdata recordings joined six times).
 */
export const TRANSCRIBE_MS_PER_SECOND = 700;
/** Video decoding per second at 720p, scaled by pixels above it. */
export const VIDEO_MS_PER_SECOND_720P = 100;
export const HD_PIXELS = 1280 * 720;
export const PDF_BASE_MS = 50;
export const PDF_MS_PER_PAGE = 30;
export const PDF_OCR_MS_PER_PAGE = 1500;
export const BYTES_BASE_MS = 10;
export const MS_PER_MIB = 20;

// Memory: a job's base, its file held twice (the buffer and its base64 in the queue payload), and its working set.
export const JOB_BASE_MEMORY_MB = 64;
export const FILE_COPIES_IN_MEMORY = 2;
export const TEXT_MB_PER_1K_TOKENS = 1;
/** Decoded RGBA, and the resized and normalised copies an image model or OCR makes. */
export const IMAGE_WORKING_COPIES = 3;
export const OCR_MODEL_MB = 150;
/** 16 kHz mono s16le PCM, as ffmpeg hands it to the chunker. */
export const PCM_MB_PER_SECOND = 0.032;
/**
 * Transcription holds at most this much PCM whatever the file's length: the chunker's window and
 * the chunk the recognizer is reading (two 30-second chunks).
 */
export const TRANSCRIBE_BUFFERED_SECONDS = 60;
/**
 * The recognizer's own memory: a `pocketsphinx_continuous` process peaked at 108 MB resident
 * (`/usr/bin/time -v` on a chunk, the en-us model); the pipeline's own RSS stayed near 85 MB over
 * 148 s of audio. A whisper.cpp model costs its ggml file and more, which the planner cannot see.
 */
export const TRANSCRIBE_MODEL_MB = 128;
export const VIDEO_BUFFERED_FRAMES = 32;
export const PDF_MB_PER_PAGE = 1.5;
/** A page rendered for OCR at about 200 dpi. */
export const PDF_OCR_PAGE_MB = 16;

export const MEMORY_INTENSIVE_MB = 2048;
export const LARGE_FILE_BYTES = 16 * MIB;
/** A GPU worker at or above this load takes no more non-inline work. */
export const GPU_SATURATED_LOAD = 1;

// Worker score: weights sum to 1.
export const LOAD_WEIGHT = 0.5;
export const MEMORY_WEIGHT = 0.3;
export const DEVICE_WEIGHT = 0.2;
/** Free memory this many times the estimate scores full marks. */
export const MEMORY_COMFORT_FACTOR = 4;
/** A lead of this much over the runner-up on the route gives full confidence in the choice... */
export const CONFIDENT_MARGIN = 0.2;
/** ...and a tie gives this much of it. */
export const TIED_CONFIDENCE = 0.6;
export const NO_WORKER_ON_QUEUE_CONFIDENCE = 0.5;
export const NO_WORKER_ANYWHERE_CONFIDENCE = 0.3;

/** Capabilities that are steps of a media pipeline rather than model work on text. */
const pipelineSteps = new Set<string>(mediaCapabilities);
const levels: readonly Complexity[] = ['low', 'medium', 'high', 'very_high'];
const classOrder: readonly ResourceClass[] = ['cpu_light', 'cpu_intensive', 'gpu_preferred', 'gpu_required', 'memory_intensive', 'disk_intensive'];
const routeOrder: readonly Route[] = ['inline', 'cpu_standard', 'gpu_fallback'];

/** What a worker must offer to take a job. */
export interface WorkerNeed {
  /** The job's kind and every capability it asks for: the worker must list them all. */
  readonly capabilities: readonly string[];
  readonly memoryMb: number;
  /** `required`: only CUDA workers; `preferred`: CUDA workers score higher. */
  readonly gpu: 'none' | 'preferred' | 'required';
}

export type WorkerScore =
  | { readonly eligible: true; readonly score: number }
  | { readonly eligible: false; readonly excluded: 'capability' | 'memory' | 'device'; readonly detail: string };

/**
 * Scores a worker for a job, 0 to 1, higher is better. Capabilities, memory and (for
 * gpu_required work) a CUDA device are gates; among the workers that pass, an idle one beats a
 * busy one (weight 0.5, `1 / (1 + load)`), room to spare beats a tight fit (0.3, free memory
 * over four times the estimate is full marks) and a CUDA worker beats a CPU one for GPU work (0.2).
 */
export function scoreWorker(worker: WorkerInfo, need: WorkerNeed): WorkerScore {
  const missing = need.capabilities.filter((name) => !worker.capabilities.includes(name));
  if (missing.length > 0) return { eligible: false, excluded: 'capability', detail: `lacks ${missing.join(', ')}` };
  if (worker.freeMemoryMb < need.memoryMb) {
    return { eligible: false, excluded: 'memory', detail: `${worker.freeMemoryMb} MB free, ${need.memoryMb} MB needed` };
  }
  if (need.gpu === 'required' && worker.device !== 'cuda') return { eligible: false, excluded: 'device', detail: 'needs a CUDA device' };
  const load = 1 / (1 + Math.max(0, worker.load));
  const memory = Math.min(1, worker.freeMemoryMb / (Math.max(1, need.memoryMb) * MEMORY_COMFORT_FACTOR));
  const device = need.gpu === 'none' || worker.device === 'cuda' ? 1 : 0;
  return { eligible: true, score: round3(LOAD_WEIGHT * load + MEMORY_WEIGHT * memory + DEVICE_WEIGHT * device) };
}

/**
 * Plans a job: its complexity, resources, route and worker; pure and deterministic.
 *
 * Route: small text (kind text, tokens ≤ maxInlineTokens) runs inline through the batcher
 * (`gpu`). GPU work that is not inline goes to `gpu_fallback` when there is no GPU, no GPU
 * worker, or every GPU worker is saturated, with `fallback` saying why. Everything else goes to
 * `cpu_standard`. The worker is the best-scoring one on that route; with none, the job waits
 * on the route (worker null), unless no worker on any route could take it, when it waits on
 * `cpu_standard`.
 */
export function planJob(facts: JobFacts, env: PlanningContext): JobPlan {
  const size = sizeOf(facts, env.limits.maxInlineTokens);
  const memoryMb = estimateMemoryMb(facts, size);
  const classes = resourceClasses(facts, size, memoryMb);
  const gpu: WorkerNeed['gpu'] = classes.includes('gpu_required') ? 'required' : classes.includes('gpu_preferred') ? 'preferred' : 'none';
  const need: WorkerNeed = { capabilities: neededCapabilities(facts), memoryMb, gpu };

  const inline = facts.kind === 'text' && size.tokens <= env.limits.maxInlineTokens;
  const gpuProblem = gpuUnavailable(env);
  let queue: Route = inline ? 'inline' : gpu !== 'none' && gpuProblem !== undefined ? 'gpu_fallback' : 'cpu_standard';
  let fallback = queue === 'gpu_fallback' ? `${gpuProblem}: ${gpu === 'required' ? 'gpu_required' : 'gpu_preferred'} job sent to gpu_fallback` : undefined;
  const why = queue === 'inline' ? 'inline through the batcher' : queue === 'gpu_fallback' ? `gpu_fallback queue (${gpuProblem})` : 'cpu_standard queue';

  const scored = env.workers.map((worker) => ({ worker, result: scoreWorker(worker, need) }));
  const eligible = scored
    .flatMap(({ worker, result }) => (result.eligible ? [{ worker: worker.id, queue: worker.queue, score: result.score }] : []))
    .sort((a, b) => b.score - a.score || routeOrder.indexOf(a.queue) - routeOrder.indexOf(b.queue) || (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0));
  const onQueue = eligible.filter((candidate) => candidate.queue === queue);
  const best = onQueue[0];

  let workerPart: string;
  let workerFactor = 1;
  if (best !== undefined) {
    workerPart = `worker ${best.worker} (score ${best.score})`;
  } else if (eligible.length > 0) {
    workerFactor = NO_WORKER_ON_QUEUE_CONFIDENCE;
    workerPart = `no worker on ${queue} can take it (${exclusions(scored, queue)}); the job waits for one`;
  } else {
    workerFactor = NO_WORKER_ANYWHERE_CONFIDENCE;
    workerPart = `no worker on any queue can take it (${exclusions(scored)}); it waits on cpu_standard`;
    if (queue !== 'cpu_standard') {
      fallback = `${fallback === undefined ? '' : `${fallback}; `}no worker can take it anywhere: sent to cpu_standard instead of ${queue}`;
    }
    queue = 'cpu_standard';
  }
  const second = onQueue[1];
  const margin = best === undefined || second === undefined ? 1 : TIED_CONFIDENCE + (1 - TIED_CONFIDENCE) * Math.min(1, (best.score - second.score) / CONFIDENT_MARGIN);

  return {
    complexity: { level: size.level, estimatedMs: Math.round(estimateMs(facts, size)) },
    resources: { classes, estimatedMemoryMb: memoryMb },
    routing: {
      route: queue,
      worker: best?.worker ?? null,
      alternatives: eligible.filter((candidate) => candidate !== best),
      confidence: round3(margin * size.certainty * workerFactor),
      reason: `${size.description} (${size.level}): ${why}; ${workerPart}`,
      ...(fallback === undefined ? {} : { fallback }),
    },
  };
}

interface Size {
  readonly level: Complexity;
  /** Estimated tokens of text jobs (from bytes when not given); 0 for others. */
  readonly tokens: number;
  readonly megapixels?: number;
  /** 0 to 1: how much of the size is known rather than guessed from bytes. */
  readonly certainty: number;
  readonly description: string;
}

const ocrRequested = (facts: JobFacts): boolean => facts.options.ocr === true || facts.capabilities.includes('ocr');
const transcriptionRequested = (facts: JobFacts): boolean => facts.options.transcribe === true || facts.capabilities.includes('transcribe');
const modelWork = (facts: JobFacts): boolean => facts.capabilities.some((name) => !pipelineSteps.has(name));

function sizeOf(facts: JobFacts, maxInlineTokens: number): Size {
  const bySize = (certainty: number, what: string): Size => ({
    level: levelOf(facts.bytes, FILE_BYTES),
    tokens: 0,
    certainty,
    description: `${what} of ${facts.bytes} bytes`,
  });
  switch (facts.kind) {
    case 'text': {
      const tokens = facts.tokens ?? Math.ceil(facts.bytes / 4);
      const limit = maxInlineTokens;
      const [low, medium, high] = TEXT_TOKEN_MULTIPLES;
      const level = levelOf(tokens, [low * limit, medium * limit, high * limit]);
      const compared = tokens <= limit ? `≤ ${limit}` : `> ${limit}`;
      return { level, tokens, certainty: facts.tokens === undefined ? 0.8 : 1, description: `text of ${tokens} tokens ${compared}` };
    }
    case 'image': {
      if (facts.width === undefined || facts.height === undefined) return bySize(0.7, 'image of unknown size');
      const pixels = facts.width * facts.height;
      const ocr = ocrRequested(facts);
      return {
        level: levelOf(pixels, ocr ? OCR_IMAGE_PIXELS : IMAGE_PIXELS),
        tokens: 0,
        megapixels: pixels / 1e6,
        certainty: 1,
        description: `image ${facts.width}×${facts.height}${ocr ? ' with OCR' : ''}`,
      };
    }
    case 'audio':
      if (facts.durationSec === undefined) return bySize(0.6, 'audio of unknown duration');
      return { level: levelOf(facts.durationSec, AUDIO_SECONDS), tokens: 0, certainty: 1, description: `audio of ${facts.durationSec} s` };
    case 'video': {
      if (facts.durationSec === undefined) return bySize(0.6, 'video of unknown duration');
      const known = facts.width !== undefined && facts.height !== undefined;
      const pixels = (facts.width ?? 0) * (facts.height ?? 0);
      const base = levels.indexOf(levelOf(facts.durationSec, VIDEO_SECONDS));
      const level = levels[Math.min(levels.length - 1, base + (pixels > FULL_HD_PIXELS ? 1 : 0))] ?? 'very_high';
      const resolution = known ? ` at ${facts.width}×${facts.height}` : '';
      return { level, tokens: 0, certainty: known ? 1 : 0.85, description: `video of ${facts.durationSec} s${resolution}` };
    }
    case 'document':
      if (facts.pages === undefined) return bySize(0.7, `document ${facts.mediaType}`);
      return { level: levelOf(facts.pages, PDF_PAGES), tokens: 0, certainty: 1, description: `document of ${facts.pages} pages` };
    default:
      return bySize(0.6, facts.mediaType);
  }
}

function levelOf(value: number, [low, medium, high]: Thresholds): Complexity {
  return value <= low ? 'low' : value <= medium ? 'medium' : value <= high ? 'high' : 'very_high';
}

function estimateMs(facts: JobFacts, size: Size): number {
  const mib = facts.bytes / MIB;
  const bytesMs = BYTES_BASE_MS + MS_PER_MIB * mib;
  const seconds = facts.durationSec;
  switch (facts.kind) {
    case 'text':
      return TEXT_BASE_MS + TEXT_MS_PER_TOKEN * size.tokens;
    case 'image':
      if (size.megapixels === undefined) return bytesMs;
      return ocrRequested(facts) ? OCR_BASE_MS + OCR_MS_PER_MEGAPIXEL * size.megapixels : IMAGE_BASE_MS + IMAGE_MS_PER_MEGAPIXEL * size.megapixels;
    case 'audio':
    case 'video': {
      if (seconds === undefined) return MEDIA_BASE_MS + bytesMs;
      const scale = facts.kind === 'video' ? Math.max(1, ((facts.width ?? 0) * (facts.height ?? 0)) / HD_PIXELS) : 0;
      const transcribe = transcriptionRequested(facts) || modelWork(facts) ? TRANSCRIBE_MS_PER_SECOND : 0;
      return MEDIA_BASE_MS + seconds * (AUDIO_MS_PER_SECOND + transcribe + VIDEO_MS_PER_SECOND_720P * scale);
    }
    case 'document':
      if (facts.pages === undefined) return bytesMs;
      return PDF_BASE_MS + facts.pages * (ocrRequested(facts) ? PDF_OCR_MS_PER_PAGE : PDF_MS_PER_PAGE);
    default:
      return bytesMs;
  }
}

function estimateMemoryMb(facts: JobFacts, size: Size): number {
  let working = 0;
  const ocr = ocrRequested(facts);
  if (facts.kind === 'text') working = (size.tokens / 1000) * TEXT_MB_PER_1K_TOKENS;
  if (facts.kind === 'image' && size.megapixels !== undefined) working = size.megapixels * 4 * IMAGE_WORKING_COPIES + (ocr ? OCR_MODEL_MB : 0);
  if (facts.kind === 'audio' || facts.kind === 'video') {
    const seconds = facts.durationSec ?? 0;
    const frames = ((facts.width ?? 0) * (facts.height ?? 0) * 4 * VIDEO_BUFFERED_FRAMES) / MIB;
    // Metadata reads no samples; transcription holds a bounded window of them, not the file.
    const transcribe = transcriptionRequested(facts) || modelWork(facts) ? TRANSCRIBE_MODEL_MB + Math.min(seconds, TRANSCRIBE_BUFFERED_SECONDS) * PCM_MB_PER_SECOND : 0;
    working = (facts.kind === 'video' ? frames : 0) + transcribe;
  }
  if (facts.kind === 'document' && facts.pages !== undefined) working = facts.pages * PDF_MB_PER_PAGE + (ocr ? OCR_MODEL_MB + PDF_OCR_PAGE_MB : 0);
  return Math.ceil(JOB_BASE_MEMORY_MB + (facts.bytes / MIB) * FILE_COPIES_IN_MEMORY + working);
}

/**
 * Speech-to-text (asked for, or implied by a text capability on audio or video) is
 * cpu_intensive: PocketSphinx and whisper.cpp run on the CPU queues. Model work on text,
 * images, documents and transcripts is gpu_preferred: it runs on the CPU too, only slower. OCR,
 * PDF extraction, chunking long text and decoding big media are cpu_intensive.
 */
function resourceClasses(facts: JobFacts, size: Size, memoryMb: number): ResourceClass[] {
  const classes = new Set<ResourceClass>();
  const heavy = size.level !== 'low';
  switch (facts.kind) {
    case 'text':
      // Beyond maxInlineTokens (the end of "low") a text is chunked.
      classes.add(heavy ? 'cpu_intensive' : 'cpu_light');
      classes.add('gpu_preferred');
      break;
    case 'image':
      classes.add(ocrRequested(facts) || heavy ? 'cpu_intensive' : 'cpu_light');
      if (modelWork(facts)) classes.add('gpu_preferred');
      break;
    case 'audio':
    case 'video':
      classes.add(heavy || facts.kind === 'video' || transcriptionRequested(facts) || modelWork(facts) ? 'cpu_intensive' : 'cpu_light');
      if (modelWork(facts)) classes.add('gpu_preferred');
      if (facts.kind === 'video') classes.add('disk_intensive');
      break;
    case 'document':
      classes.add('cpu_intensive');
      if (modelWork(facts)) classes.add('gpu_preferred');
      break;
    default:
      classes.add(heavy ? 'cpu_intensive' : 'cpu_light');
  }
  if (memoryMb > MEMORY_INTENSIVE_MB) classes.add('memory_intensive');
  if (facts.bytes > LARGE_FILE_BYTES) classes.add('disk_intensive');
  return classOrder.filter((name) => classes.has(name));
}

/** The job's kind, its capabilities, and the options that need a capability of their own. */
function neededCapabilities(facts: JobFacts): string[] {
  const names = [facts.kind, ...facts.capabilities];
  if (facts.options.ocr === true) names.push('ocr');
  if (facts.options.transcribe === true) names.push('transcribe');
  return [...new Set(names)];
}

/** Why GPU work cannot go to the GPU now, or undefined when it can. */
function gpuUnavailable(env: PlanningContext): string | undefined {
  if (!env.gpuAvailable) return 'no GPU';
  const gpuWorkers = env.workers.filter((worker) => worker.queue === 'inline');
  if (gpuWorkers.length === 0) return 'no GPU worker';
  const load = Math.min(...gpuWorkers.map((worker) => worker.load));
  return load >= GPU_SATURATED_LOAD ? `GPU saturated (load ${round3(load)})` : undefined;
}

function exclusions(scored: readonly { worker: WorkerInfo; result: WorkerScore }[], queue?: Route): string {
  const relevant = scored.filter(({ worker }) => queue === undefined || worker.queue === queue);
  if (relevant.length === 0) return queue === undefined ? 'no workers registered' : `none registered on ${queue}`;
  return relevant.map(({ worker, result }) => `${worker.id}: ${result.eligible ? 'eligible' : result.detail}`).join('; ');
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

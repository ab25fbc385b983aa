/**
 * `npx tsx scripts/bench/summary-coverage.ts`: how many of a document's topics a 3-sentence
 * `summary` covers, for several values of `lambda` (1 is LexRank centrality alone, the behaviour
 * before maximal marginal relevance). The default embedding model (USE-Lite, from
 * capabilities/default.json) serves one `summary` capability per lambda in a server of its own;
 * every document goes to all of them in one /classify request, so all see the same vectors.
 *
 * Three sets of documents, each made of paragraphs whose topic is known, one topic dominant:
 * - `prose`: four of the six topics of scripts/fixtures/topic-prose.ts, six sentences of the
 *   dominant one and two of each other;
 * - `licenses`: paragraphs of four of the licences in /usr/share/common-licenses, three of the
 *   dominant one and one of each other (real text, and all on one subject: the hard case);
 * - `report`: pages of the water report of scripts/fixtures/prose-pdf.ts (the `bench:summary`
 *   PDF), whose sentences are a few theme sentences repeated with different opening words; a
 *   topic is a theme, and two chosen variants of one theme sentence are a near-repeat. Its
 *   "This was noted on page N" sentences belong to no topic.
 * A random choice of 3 sentences is the floor. Prints one JSON object; the figures go to
 * bench/RESULTS-capabilities.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { splitSentences } from '../../capabilities/builtin/sentences.js';
import { seededRandom, shuffleInPlace } from '../../capabilities/math/seeded-random.js';
import { projectRoot } from '../../core/project-root.js';
import { proseParagraphs, themes } from '../fixtures/prose-pdf.js';
import { topicProse } from '../fixtures/topic-prose.js';
import { startBenchServer } from './bench-server.js';

const lambdas = (process.env.COVERAGE_LAMBDAS ?? '1,0.9,0.8,0.7,0.6,0.5,0.3').split(',').map(Number);
const documentsPerSet = Number(process.env.COVERAGE_DOCUMENTS ?? 40);
const k = 3;

/** A document and, for each character range, the topic it is about (null: none). */
interface LabelledDocument {
  readonly text: string;
  /** The topic of the sentence starting at `start`, and its base sentence (for near-repeats). */
  label(start: number, sentence: string): { topic: string | null; base: string };
}

function fromParagraphs(paragraphs: readonly { topic: string; text: string }[]): LabelledDocument {
  const ranges: { start: number; end: number; topic: string }[] = [];
  let text = '';
  for (const paragraph of paragraphs) {
    if (text.length > 0) text += '\n\n';
    ranges.push({ start: text.length, end: text.length + paragraph.text.length, topic: paragraph.topic });
    text += paragraph.text;
  }
  return {
    text,
    label: (start, sentence) => ({ topic: ranges.find((r) => start >= r.start && start < r.end)?.topic ?? null, base: sentence }),
  };
}

function proseSet(random: () => number): LabelledDocument[] {
  const names = Object.keys(topicProse);
  return Array.from({ length: documentsPerSet }, () => {
    const chosen = shuffleInPlace([...names], random).slice(0, 4);
    const paragraphs = chosen.map((topic, i) => {
      const sentences = shuffleInPlace([...(topicProse[topic] ?? [])], random).slice(0, i === 0 ? 6 : 2);
      return { topic, text: sentences.join(' ') };
    });
    return fromParagraphs(shuffleInPlace(paragraphs, random));
  });
}

function licenseSet(random: () => number): LabelledDocument[] {
  const names = ['Apache-2.0', 'GPL-3', 'MPL-2.0', 'Artistic', 'GFDL-1.3', 'CC0-1.0', 'LGPL-3'];
  const paragraphs = new Map(
    names.map((name) => [
      name,
      readFileSync(path.join('/usr/share/common-licenses', name), 'utf8')
        .split(/\n\s*\n/)
        .map((p) => p.trim())
        .filter((p) => p.length >= 200 && p.length <= 900 && splitSentences(p).sentences.length >= 2),
    ]),
  );
  return Array.from({ length: documentsPerSet }, () => {
    const chosen = shuffleInPlace([...names], random).slice(0, 4);
    const picked = chosen.flatMap((topic, i) =>
      shuffleInPlace([...(paragraphs.get(topic) ?? [])], random)
        .slice(0, i === 0 ? 3 : 1)
        .map((text) => ({ topic, text })),
    );
    return fromParagraphs(shuffleInPlace(picked, random));
  });
}

function reportSet(): LabelledDocument[] {
  const bases = themes.flatMap((sentences, topic) => sentences.map((sentence) => ({ topic: `theme ${topic}`, sentence: sentence.slice(1) })));
  return proseParagraphs(documentsPerSet, { seed: 5 }).map((page) => ({
    text: page.join('\n\n'),
    label: (_start, sentence) => {
      const base = bases.find((b) => sentence.replace(/\s+/g, ' ').endsWith(b.sentence));
      return { topic: base?.topic ?? null, base: base?.sentence ?? sentence };
    },
  }));
}

interface Figures {
  /** Distinct topics among the chosen sentences, mean per summary. */
  meanTopics: number;
  /** Summaries whose every sentence is on a topic of its own. */
  allDistinct: string;
  /** Chosen sentences that repeat another chosen one in other opening words, per summary. */
  nearRepeats: number;
  /** Chosen sentences on no topic (the report's page notes), per summary. */
  noTopic: number;
  /** Mean LexRank centrality of the chosen sentences (1 is the most central). */
  meanScore: number | null;
}

function measure(documents: readonly LabelledDocument[], choices: readonly { start: number; text: string; score?: number }[][]): Figures {
  let topics = 0;
  let distinct = 0;
  let nearRepeats = 0;
  let noTopic = 0;
  let scores = 0;
  let scored = 0;
  choices.forEach((chosen, d) => {
    const labels = chosen.map((s) => (documents[d] as LabelledDocument).label(s.start, s.text));
    const covered = new Set(labels.flatMap((l) => (l.topic === null ? [] : [l.topic])));
    topics += covered.size;
    if (covered.size === Math.min(k, chosen.length)) distinct += 1;
    nearRepeats += labels.length - new Set(labels.map((l) => l.base)).size;
    noTopic += labels.filter((l) => l.topic === null).length;
    for (const s of chosen) {
      if (s.score !== undefined) {
        scores += s.score;
        scored += 1;
      }
    }
  });
  const n = choices.length;
  return {
    meanTopics: Math.round((topics / n) * 100) / 100,
    allDistinct: `${distinct}/${n}`,
    nearRepeats: Math.round((nearRepeats / n) * 100) / 100,
    noTopic: Math.round((noTopic / n) * 100) / 100,
    meanScore: scored === 0 ? null : Math.round((scores / scored) * 1000) / 1000,
  };
}

/** The floor: `k` sentences drawn at random, 50 draws per document. */
function randomChoices(documents: readonly LabelledDocument[], random: () => number): { start: number; text: string }[][] {
  return documents.flatMap((document) => {
    const sentences = splitSentences(document.text).sentences.map((s) => ({ start: s.start, text: document.text.slice(s.start, s.end) }));
    return Array.from({ length: 50 }, () => shuffleInPlace([...sentences], random).slice(0, k));
  });
}

const name = (lambda: number): string => `summary-${String(lambda).replace('.', '_')}`;
const defaults = JSON.parse(readFileSync(path.join(projectRoot(), 'capabilities/default.json'), 'utf8')) as { models: { name: string }[] };
const configFile = path.join(os.tmpdir(), `summary-coverage-${process.pid}.json`);
writeFileSync(
  configFile,
  JSON.stringify({
    models: defaults.models.filter((model) => model.name === 'use-lite'),
    capabilities: [
      { name: 'embedding', kind: 'embedding', model: 'use-lite' },
      ...lambdas.map((lambda) => ({ name: name(lambda), kind: 'summary', dependsOn: ['embedding'], params: { maxSentences: k, lambda } })),
    ],
  }),
);

const random = seededRandom(2024);
const sets: Record<string, LabelledDocument[]> = { prose: proseSet(random), licenses: licenseSet(random), report: reportSet() };
const server = await startBenchServer('server/main.ts', { CAPABILITIES_CONFIG: configFile });
try {
  const out: Record<string, unknown> = {};
  for (const [set, documents] of Object.entries(sets)) {
    const results: Record<string, { sentences: { start: number; text: string; score: number }[] }>[] = [];
    for (let at = 0; at < documents.length; at += 8) {
      const texts = documents.slice(at, at + 8).map((d) => d.text);
      const response = await fetch(`${server.url}/classify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts, capabilities: lambdas.map(name) }),
      });
      const body = (await response.json()) as { results: (typeof results)[number][] };
      if (response.status !== 200) throw new Error(`${response.status} ${JSON.stringify(body)}`);
      results.push(...body.results);
    }
    const figures: Record<string, Figures> = {};
    for (const lambda of lambdas) figures[`lambda ${lambda}`] = measure(documents, results.map((r) => r[name(lambda)]?.sentences ?? []));
    const randomDocs = documents.flatMap((d) => Array.from({ length: 50 }, () => d));
    figures.random = measure(randomDocs, randomChoices(documents, random));
    const sentences = documents.reduce((n, d) => n + splitSentences(d.text).sentences.length, 0);
    out[set] = { documents: documents.length, meanSentences: Math.round((sentences / documents.length) * 10) / 10, figures };
  }
  console.log(JSON.stringify({ k, ...out }, null, 2));
} finally {
  await server.stop();
}

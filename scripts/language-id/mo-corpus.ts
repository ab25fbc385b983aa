import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A held-out language-identification test set built at run time from the GNU gettext
 * catalogs installed under /usr/share/locale/<lang>/LC_MESSAGES/*.mo (coreutils, bash, apt,
 * tar, …, translated by the Translation Project and distribution teams). These are program
 * messages, not the Wikipedia/UDHR/web text the detectors were trained on. The extracted
 * strings are GPL-licensed translations, so nothing here is committed: the set is rebuilt
 * from the machine's catalogs on every run.
 */

/** Default root of the installed catalogs. */
export const localeRoot = '/usr/share/locale';

/**
 * Catalog directories and the ISO 639-3 code each stands for. Closely related pairs are
 * deliberate: Czech/Slovak, Russian/Ukrainian/Bulgarian, Spanish/Portuguese, Danish/Swedish.
 */
export const corpusLanguages: Readonly<Record<string, { readonly code: string; readonly dirs: readonly string[] }>> = {
  cs: { code: 'ces', dirs: ['cs'] },
  sk: { code: 'slk', dirs: ['sk'] },
  ru: { code: 'rus', dirs: ['ru'] },
  uk: { code: 'ukr', dirs: ['uk'] },
  bg: { code: 'bul', dirs: ['bg'] },
  es: { code: 'spa', dirs: ['es'] },
  pt: { code: 'por', dirs: ['pt', 'pt_BR'] },
  de: { code: 'deu', dirs: ['de'] },
  fr: { code: 'fra', dirs: ['fr'] },
  it: { code: 'ita', dirs: ['it'] },
  nl: { code: 'nld', dirs: ['nl'] },
  pl: { code: 'pol', dirs: ['pl'] },
  sv: { code: 'swe', dirs: ['sv'] },
  da: { code: 'dan', dirs: ['da'] },
  fi: { code: 'fin', dirs: ['fi'] },
  hu: { code: 'hun', dirs: ['hu'] },
  ro: { code: 'ron', dirs: ['ro'] },
  tr: { code: 'tur', dirs: ['tr'] },
};

/** One original/translation pair of a catalog; plural forms are split out. */
export interface MoEntry {
  readonly msgid: string;
  readonly msgstr: readonly string[];
}

/**
 * Parses a compiled gettext catalog: a magic number (which also gives the byte order), a
 * revision, the number of strings, and the offsets of two tables of (length, offset) pairs,
 * one for the originals and one for the translations. Catalogs whose header declares a
 * charset other than UTF-8 give no entries (decoding them would only add mojibake).
 */
export function parseMo(buffer: Buffer): MoEntry[] {
  if (buffer.length < 28) return [];
  const magic = buffer.readUInt32LE(0);
  const little = magic === 0x950412de;
  if (!little && magic !== 0xde120495) return [];
  const u32 = (at: number): number => (little ? buffer.readUInt32LE(at) : buffer.readUInt32BE(at));
  const count = u32(8);
  const originals = u32(12);
  const translations = u32(16);
  const text = (table: number, i: number): string | undefined => {
    const length = u32(table + i * 8);
    const offset = u32(table + i * 8 + 4);
    if (offset + length > buffer.length) return undefined;
    return buffer.toString('utf8', offset, offset + length);
  };
  if (originals + count * 8 > buffer.length || translations + count * 8 > buffer.length) return [];
  const entries: MoEntry[] = [];
  for (let i = 0; i < count; i++) {
    const id = text(originals, i);
    const str = text(translations, i);
    if (id === undefined || str === undefined) continue;
    if (id === '') {
      const charset = /charset=([\w-]+)/i.exec(str)?.[1]?.toLowerCase();
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return [];
      continue;
    }
    // A context is "ctxt\x04msgid"; plurals are "singular\0plural".
    const msgid = id.slice(id.indexOf('\u0004') + 1).split('\0')[0] ?? '';
    entries.push({ msgid, msgstr: str.split('\0').filter((s) => s !== '') });
  }
  return entries;
}

/**
 * Strips what is not prose: printf and positional format specifiers (%s, %d, %1$s, %<PRIu64>),
 * brace placeholders ({name}, {0}), markup, URLs, e-mail addresses, file paths, option names,
 * environment-style names and accelerator marks (_, &, ~). Whitespace is collapsed.
 */
export function cleanMessage(message: string): string {
  return message
    .replace(/<[^>]{0,200}>/g, ' ')
    .replace(/%(\d+\$)?[-+ #0']*(\*|\d+)?(\.(\*|\d+))?(hh|h|ll|l|L|q|j|z|t|I)?[diouxXeEfFgGaAcspnmS%]/g, ' ')
    .replace(/%<\w+>/g, ' ')
    .replace(/\$\([^)]{0,40}\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\{[^{}\s]{0,40}\}/g, ' ')
    .replace(/\b\w+:\/\/\S+/g, ' ')
    .replace(/\S+@\S+\.\S+/g, ' ')
    .replace(/(^|\s)[~.]?\/\S*/g, ' ')
    .replace(/(^|\s)--?[A-Za-z][\w-]*(=\S*)?/g, ' ')
    .replace(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g, ' ')
    .replace(/[_&~](?=\p{L})/gu, '')
    .replace(/\\[nt]/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/^[\s,.;:]+/, '')
    .trim();
}

/** Whether a cleaned message is prose worth testing: long enough and mostly letters. */
function isProse(text: string, minLength: number): boolean {
  if (text.length < minLength) return false;
  const letters = text.match(/\p{L}/gu)?.length ?? 0;
  return letters / text.length >= 0.7 && /\p{L}{3,}.*\s.*\p{L}{3,}/u.test(text);
}

/** FNV-1a: a stable order that does not depend on the file system or the catalog order. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** One text of the test set with its ISO 639-3 language. */
export interface CorpusText {
  readonly language: string;
  readonly text: string;
}

export interface CorpusOptions {
  /** Catalog root. @default "/usr/share/locale" */
  readonly root?: string;
  /** Most texts per language. @default 300 */
  readonly perLanguage?: number;
  /** Shortest cleaned text, in characters. @default 20 */
  readonly minLength?: number;
  /** Longest cleaned text kept, in characters (long help screens are cut out). @default 300 */
  readonly maxLength?: number;
}

/** Whether the catalogs are installed (tests skip when they are not). */
export async function hasCatalogs(root = localeRoot): Promise<boolean> {
  try {
    return (await readdir(path.join(root, 'cs', 'LC_MESSAGES'))).some((f) => f.endsWith('.mo'));
  } catch {
    return false;
  }
}

/**
 * Builds the test set: per language, the translated strings (not copies of the English
 * original) that are prose after cleaning, deduplicated, ordered by a hash of the text and cut
 * to `perLanguage`. The same catalogs always give the same set.
 */
export async function buildMoCorpus(options: CorpusOptions = {}): Promise<CorpusText[]> {
  const root = options.root ?? localeRoot;
  const perLanguage = options.perLanguage ?? 300;
  const minLength = options.minLength ?? 20;
  const maxLength = options.maxLength ?? 300;
  const corpus: CorpusText[] = [];
  for (const { code, dirs } of Object.values(corpusLanguages)) {
    const seen = new Set<string>();
    for (const dir of dirs) {
      const folder = path.join(root, dir, 'LC_MESSAGES');
      const files = await readdir(folder).catch(() => [] as string[]);
      for (const file of files.filter((f) => f.endsWith('.mo')).sort()) {
        for (const entry of parseMo(await readFile(path.join(folder, file)))) {
          const original = cleanMessage(entry.msgid);
          for (const translation of entry.msgstr) {
            const text = cleanMessage(translation);
            if (text === original || text.length > maxLength || !isProse(text, minLength)) continue;
            seen.add(text);
          }
        }
      }
    }
    const chosen = [...seen].sort((a, b) => fnv1a(a) - fnv1a(b) || (a < b ? -1 : 1)).slice(0, perLanguage);
    for (const text of chosen) corpus.push({ language: code, text });
  }
  return corpus;
}

import t from 'tap';
import { languageIdCapability } from '../../capabilities/builtin/language-id.js';
import { capabilitySpecSchema, type CapabilitySpec } from '../../capabilities/config-schema.js';
import { buildMoCorpus, cleanMessage, hasCatalogs, parseMo } from '../../scripts/language-id/mo-corpus.js';

/** A compiled catalog as msgfmt writes it (little-endian, no hash table). */
function moFile(pairs: readonly [string, string][], magic = 0x950412de): Buffer {
  const ids = pairs.map(([id]) => Buffer.from(id));
  const strs = pairs.map(([, str]) => Buffer.from(str));
  const header = 28;
  const tables = header + pairs.length * 16;
  const parts: Buffer[] = [];
  const head = Buffer.alloc(tables);
  head.writeUInt32LE(magic, 0);
  head.writeUInt32LE(pairs.length, 8);
  head.writeUInt32LE(header, 12);
  head.writeUInt32LE(header + pairs.length * 8, 16);
  let offset = tables;
  [...ids, ...strs].forEach((bytes, i) => {
    head.writeUInt32LE(bytes.length, header + i * 8);
    head.writeUInt32LE(offset, header + i * 8 + 4);
    parts.push(bytes, Buffer.from([0]));
    offset += bytes.length + 1;
  });
  return Buffer.concat([head, ...parts]);
}

t.test('parseMo reads entries, contexts and plural forms, and refuses what it cannot read', async (t) => {
  const file = moFile([
    ['', 'Content-Type: text/plain; charset=UTF-8\n'],
    ['menu\u0004Open', 'Otevřít'],
    ['%d file\0%d files', '%d soubor\0%d soubory\0%d souborů'],
  ]);
  t.same(parseMo(file), [
    { msgid: 'Open', msgstr: ['Otevřít'] },
    { msgid: '%d file', msgstr: ['%d soubor', '%d soubory', '%d souborů'] },
  ]);
  t.same(parseMo(moFile([['', 'Content-Type: text/plain; charset=ISO-8859-2\n'], ['a', 'b']])), [], 'not UTF-8');
  t.same(parseMo(Buffer.from('not a catalog at all, just text')), [], 'bad magic');
  t.same(parseMo(file.subarray(0, 40)), [], 'truncated');
});

t.test('cleanMessage strips what is not prose', async (t) => {
  t.equal(cleanMessage("%s: nelze otevřít soubor %1$s '%-10.3lu' {name}"), "nelze otevřít soubor ' '");
  t.equal(cleanMessage('_Soubor'), 'Soubor');
  t.equal(cleanMessage('Použijte --help nebo -v pro /usr/share/doc a https://example.org'), 'Použijte nebo pro a');
  t.equal(cleanMessage('<b>Tučně</b>\\n  &Uložit ~Zavřít'), 'Tučně Uložit Zavřít');
});

const skip = (await hasCatalogs()) ? false : 'no gettext catalogs under /usr/share/locale';

t.test('held-out gettext set: eld stays at about 95 % on 20+ character texts', { skip }, async (t) => {
  const corpus = await buildMoCorpus({ perLanguage: 300 });
  const languages = new Set(corpus.map((c) => c.language));
  t.ok(languages.size >= 12, `${languages.size} languages`);
  for (const code of ['ces', 'slk', 'rus', 'ukr', 'bul', 'spa', 'por']) t.ok(languages.has(code), code);
  t.ok(corpus.every((c) => c.text.length >= 20));
  const spec = capabilitySpecSchema.parse({ name: 'language', kind: 'language-id' }) as Extract<CapabilitySpec, { kind: 'language-id' }>;
  const results = await languageIdCapability(spec).run(
    corpus.map((c) => c.text),
    { dependencies: new Map(), signal: new AbortController().signal },
  );
  const right = results.filter((r, i) => r.language === corpus[i]?.language).length;
  // bench/RESULTS-language.md reports the figure (95.2 % here); the floor leaves room for a
  // machine whose catalogs differ a little.
  t.ok(right / corpus.length >= 0.94, `accuracy ${((100 * right) / corpus.length).toFixed(1)} % on ${corpus.length} texts`);
});

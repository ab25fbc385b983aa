/**
 * ISO 639-1 → ISO 639-3 for the languages the detectors name. Macrolanguages keep their
 * macrolanguage code (Arabic `ara`, Chinese `zho`, Persian `fas`, Malay `msa`, Norwegian
 * `nor`), which ISO 639-3 defines too, since a detector cannot tell their members apart.
 */
const iso639: Readonly<Record<string, string>> = {
  af: 'afr', am: 'amh', ar: 'ara', az: 'aze', be: 'bel', bg: 'bul', bn: 'ben', bs: 'bos', ca: 'cat',
  cs: 'ces', cy: 'cym', da: 'dan', de: 'deu', el: 'ell', en: 'eng', eo: 'epo', es: 'spa', et: 'est',
  eu: 'eus', fa: 'fas', fi: 'fin', fr: 'fra', ga: 'gle', gl: 'glg', gu: 'guj', he: 'heb', hi: 'hin',
  hr: 'hrv', hu: 'hun', hy: 'hye', id: 'ind', is: 'isl', it: 'ita', ja: 'jpn', ka: 'kat', kk: 'kaz',
  km: 'khm', kn: 'kan', ko: 'kor', ku: 'kur', ky: 'kir', la: 'lat', lo: 'lao', lt: 'lit', lv: 'lav',
  mk: 'mkd', ml: 'mal', mn: 'mon', mr: 'mar', ms: 'msa', mt: 'mlt', my: 'mya', nb: 'nob', ne: 'nep',
  nl: 'nld', nn: 'nno', no: 'nor', or: 'ori', pa: 'pan', pl: 'pol', ps: 'pus', pt: 'por', ro: 'ron',
  ru: 'rus', si: 'sin', sk: 'slk', sl: 'slv', so: 'som', sq: 'sqi', sr: 'srp', sv: 'swe', sw: 'swa',
  ta: 'tam', te: 'tel', th: 'tha', tl: 'tgl', tr: 'tur', uk: 'ukr', ur: 'urd', uz: 'uzb', vi: 'vie',
  yi: 'yid', yo: 'yor', zh: 'zho', zu: 'zul',
};

/** The ISO 639-3 code of a detector's ISO 639-1 code, or `und` for one not in the table. */
export function toIso639_3(code: string): string {
  return iso639[code.split('-')[0]?.toLowerCase() ?? ''] ?? 'und';
}

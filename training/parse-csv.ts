/**
 * RFC 4180 CSV: comma-separated fields, double-quoted fields may hold commas, newlines and
 * doubled quotes; CRLF or LF line ends; a UTF-8 byte-order mark is ignored. Returns the rows
 * as arrays of strings, blank lines dropped. Throws with the line number of a malformed row.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const endRow = (): void => {
    row.push(field);
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
    field = '';
    afterQuote = false;
  };
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i] as string;
    if (quoted) {
      if (char === '"' && source[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') {
        quoted = false;
        afterQuote = true;
      } else {
        if (char === '\n') line += 1;
        field += char;
      }
      continue;
    }
    if (char === ',') {
      row.push(field);
      field = '';
      afterQuote = false;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && source[i + 1] === '\n') i += 1;
      endRow();
      line += 1;
    } else if (char === '"' && field === '' && !afterQuote) {
      quoted = true;
    } else if (afterQuote) {
      throw new Error(`CSV line ${line}: text after a closing quote`);
    } else {
      field += char;
    }
  }
  if (quoted) throw new Error(`CSV line ${line}: a quoted field is not closed`);
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

/**
 * Labelled examples from CSV with a header row naming a `text` column and, optionally, a
 * `label` column (case-insensitive; other columns are ignored).
 */
export function examplesFromCsv(text: string): { text: string; label?: string }[] {
  const [header, ...rows] = parseCsv(text);
  if (header === undefined) throw new Error('the CSV is empty');
  const names = header.map((name) => name.trim().toLowerCase());
  const textColumn = names.indexOf('text');
  const labelColumn = names.indexOf('label');
  if (textColumn < 0) throw new Error(`the CSV header needs a "text" column (found: ${header.join(', ')})`);
  return rows.map((row, index) => {
    if (row.length !== header.length) throw new Error(`CSV row ${index + 2} has ${row.length} fields, the header has ${header.length}`);
    const label = labelColumn < 0 ? undefined : row[labelColumn]?.trim();
    return { text: row[textColumn] ?? '', ...(label === undefined || label === '' ? {} : { label }) };
  });
}

/** CSV text with a header row; fields with commas, quotes or line breaks are quoted. */
export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const field = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
}

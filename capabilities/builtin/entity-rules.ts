/**
 * The patterns behind the `entities` capability. Every pattern starts behind a lookbehind that
 * only lets a match begin at the start of a run of its characters, and every repetition is
 * bounded, so a scan is linear in the text's length: a 1 MB text of one character repeated
 * costs a few milliseconds, never a backtracking storm.
 */

/** The types of span the `entities` capability finds; all of them rule-based. */
export const entityTypes = ['email', 'url', 'phone', 'datetime', 'date', 'time', 'money', 'percent', 'hashtag', 'mention'] as const;
export type EntityType = (typeof entityTypes)[number];

/** A money amount with its ISO 4217 currency code. */
export interface MoneyValue {
  readonly amount: number;
  readonly currency: string;
}

/** A normalised value: ISO date, time or date-time string, money, a percentage, or a phone number's digits. */
export type EntityValue = string | number | MoneyValue;

/** One pattern: what it finds, and how a match becomes a span (null drops the match). */
export interface EntityRule {
  readonly type: EntityType;
  readonly pattern: RegExp;
  readonly read: (match: RegExpExecArray) => { readonly end?: number; readonly value?: EntityValue } | null;
}

const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const month = '(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)';
const ordinal = '(?:st|nd|rd|th)?';
const symbols: Record<string, string> = { $: 'USD', '€': 'EUR', '£': 'GBP', '¥': 'JPY', '₹': 'INR', '₩': 'KRW', '₽': 'RUB' };
const codes = 'USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY|INR|SEK|NOK|DKK|PLN|CZK|RUB|BRL|MXN|ZAR|KRW';
const amount = '(\\d{1,3}(?:,\\d{3}){1,5}(?:\\.\\d{1,4})?|\\d{1,12}(?:[.,]\\d{1,4})?)';

const pad = (n: number): string => String(n).padStart(2, '0');

/** An ISO calendar date, or undefined when the parts are not a real day. */
export function isoDate(year: number, monthIndex: number, day: number): string | undefined {
  if (monthIndex < 1 || monthIndex > 12 || day < 1) return undefined;
  const last = new Date(Date.UTC(year, monthIndex, 0)).getUTCDate();
  return day > last ? undefined : `${year}-${pad(monthIndex)}-${pad(day)}`;
}

const monthIndex = (name: string): number => months.indexOf(name.slice(0, 3).toLowerCase()) + 1;

/**
 * A date written with a month name: ISO when the year is given and the day exists; no value
 * without a year. A final "." ("1st of May.") is taken as the sentence's, not an abbreviation's.
 */
function namedDate(match: RegExpExecArray, dayText: string, monthText: string, yearText: string | undefined): { end?: number; value?: EntityValue } | null {
  const day = Number(dayText);
  if (day < 1 || day > 31) return null;
  const end = match[0].endsWith('.') ? { end: match.index + match[0].length - 1 } : {};
  if (yearText === undefined) return end;
  const value = isoDate(Number(yearText), monthIndex(monthText), day);
  return value === undefined ? null : { ...end, value };
}

/** "1,234.50" and "3,50" (a decimal comma: one comma followed by one or two digits). */
function parseAmount(text: string): number {
  const decimalComma = /^\d+,\d{1,2}$/.test(text);
  return Number(decimalComma ? text.replace(',', '.') : text.replaceAll(',', ''));
}

function hour24(hour: number, meridiem: string | undefined): number | undefined {
  if (meridiem === undefined) return hour;
  if (hour < 1 || hour > 12) return undefined;
  return (hour % 12) + (meridiem.toLowerCase() === 'p' ? 12 : 0);
}

/** Trailing punctuation ends a sentence, not the URL; a ")" stays only when the URL opened one. */
function urlEnd(match: RegExpExecArray): number {
  let text = match[0];
  for (;;) {
    const last = text.at(-1);
    if (last !== undefined && '.,;:!?\'"'.includes(last)) text = text.slice(0, -1);
    else if (last === ')' && text.split('(').length <= text.split(')').length - 1) text = text.slice(0, -1);
    else if (last === ']' && !text.includes('[')) text = text.slice(0, -1);
    else break;
  }
  return match.index + text.length;
}

/**
 * In order of precedence: where two candidates overlap, the earlier rule here wins (an email is
 * not also a mention, a URL's "#fragment" is not a hashtag, an ISO date is not a phone number).
 */
export const entityRules: readonly EntityRule[] = [
  {
    type: 'email',
    pattern: /(?<![\w.%+-])[\w.%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])/g,
    read: () => ({}),
  },
  {
    type: 'url',
    pattern: /(?<![\w.@/])(?:https?:\/\/|www\.)[^\s<>"'`{}|\\^]{2,2048}/gi,
    read: (match) => {
      const end = urlEnd(match);
      return end - match.index < 5 ? null : { end };
    },
  },
  {
    type: 'datetime',
    pattern: /(?<![\w-])(\d{4})-(\d{2})-(\d{2})[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?(?![\w:])/g,
    read: (m) => {
      if (isoDate(Number(m[1]), Number(m[2]), Number(m[3])) === undefined) return null;
      return { value: m[0].replace(' ', 'T') };
    },
  },
  {
    type: 'date',
    pattern: /(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-])/g,
    read: (m) => {
      const value = isoDate(Number(m[1]), Number(m[2]), Number(m[3]));
      return value === undefined ? null : { value };
    },
  },
  {
    // 12 March 2024, 1st of May, 3 Sept. 2023
    type: 'date',
    pattern: new RegExp(`(?<![\\w.,])(\\d{1,2})${ordinal} (?:of )?${month}\\.?(?:,? (\\d{4}))?(?![\\w])`, 'g'),
    read: (m) => namedDate(m, m[1] as string, m[2] as string, m[3]),
  },
  {
    // March 12, 2024 / May 5th
    type: 'date',
    pattern: new RegExp(`(?<![\\w])${month}\\.? (\\d{1,2})${ordinal}(?:,? (\\d{4}))?(?![\\w,]\\d|\\w)`, 'g'),
    read: (m) => namedDate(m, m[2] as string, m[1] as string, m[3]),
  },
  {
    // 12/03/2024: which part is the day is only known when one of the two is above 12.
    type: 'date',
    pattern: /(?<![\w/.-])(\d{1,2})([/.])(\d{1,2})\2(\d{4})(?![\w/]|\.\d)/g,
    read: (m) => {
      const [first, second, year] = [Number(m[1]), Number(m[3]), Number(m[4])];
      if (first < 1 || second < 1 || first > 31 || second > 31 || (first > 12 && second > 12)) return null;
      const value = first > 12 ? isoDate(year, second, first) : second > 12 ? isoDate(year, first, second) : undefined;
      return value === undefined ? {} : { value };
    },
  },
  {
    // 14:30, 14:30:05, 2:30 pm
    type: 'time',
    pattern: /(?<![\w:.])([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(?:\s?([ap])\.?m\b\.?)?(?![\w:])/gi,
    read: (m) => {
      const hour = hour24(Number(m[1]), m[4]);
      if (hour === undefined) return null;
      return { value: `${pad(hour)}:${m[2]}${m[3] === undefined ? '' : `:${m[3]}`}` };
    },
  },
  {
    // 2pm, 11 a.m.
    type: 'time',
    pattern: /(?<![\w:.])(1[0-2]|0?[1-9])\s?([ap])\.?m\b\.?/gi,
    read: (m) => ({ value: `${pad(hour24(Number(m[1]), m[2]) ?? 0)}:00` }),
  },
  {
    type: 'money',
    pattern: new RegExp(`(?<![\\w$€£¥₹₩₽])([$€£¥₹₩₽])\\s?${amount}(?![\\d])`, 'g'),
    read: (m) => ({ value: { amount: parseAmount(m[2] as string), currency: symbols[m[1] as string] as string } }),
  },
  {
    type: 'money',
    pattern: new RegExp(`(?<![\\w.,])${amount}\\s?(?:([€£¥₹₩₽])|(${codes})(?![A-Za-z]))`, 'g'),
    read: (m) => ({ value: { amount: parseAmount(m[1] as string), currency: m[3] ?? (symbols[m[2] as string] as string) } }),
  },
  {
    type: 'money',
    pattern: new RegExp(`(?<![\\w])(${codes}) ?${amount}(?!\\d)`, 'g'),
    read: (m) => ({ value: { amount: parseAmount(m[2] as string), currency: m[1] as string } }),
  },
  {
    type: 'percent',
    pattern: /(?<![\w.,])(\d{1,9}(?:\.\d{1,6})?)(?:\s?%|\s(?:percent|per cent)(?!\w))/gi,
    read: (m) => ({ value: Number(m[1]) }),
  },
  {
    // +44 20 7946 0958, +1 (555) 123-4567: at least seven digits, at most fifteen (E.164).
    type: 'phone',
    pattern: /(?<![\w+])\+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,4})){2,6}(?![\w])/g,
    read: (m) => phoneValue(m[0], true),
  },
  {
    // (555) 123-4567, 555-123-4567, 020 7946 0958: national forms need a separator.
    type: 'phone',
    pattern: /(?<![\w+(.,-])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w]|[.,-]\d)|(?<![\w+(.,-])0\d{1,4}[ -]\d{3,4}[ -]?\d{3,4}(?![\w]|[.,-]\d)/g,
    read: (m) => phoneValue(m[0], false),
  },
  {
    type: 'hashtag',
    pattern: /(?<![\p{L}\p{N}_&/#])#[\p{L}_][\p{L}\p{N}_]{0,138}/gu,
    read: () => ({}),
  },
  {
    type: 'mention',
    pattern: /(?<![\p{L}\p{N}_@./])@[A-Za-z0-9_]{1,30}(?![\w@])/gu,
    read: () => ({}),
  },
];

function phoneValue(text: string, international: boolean): { value: string } | null {
  const digits = text.replace(/\D/g, '');
  if (digits.length < 7 || digits.length > 15) return null;
  return { value: international ? `+${digits}` : digits };
}

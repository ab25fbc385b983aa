import sharp from 'sharp';
import t from 'tap';
import { sniffMediaType } from '../../../jobs/media/sniff-media-type.js';
import { type MediaKind } from '../../../jobs/types.js';
import { makeBmp, makePdf, makeWav, makeZip, type MediaFixture, mediaFixture, skipWithoutFfmpeg } from './fixtures/make-media.js';

const blank = () => sharp({ create: { width: 8, height: 6, channels: 3, background: '#3366cc' } });
const bytes = (...values: number[]) => Buffer.from(values);
const latin1 = (text: string) => Buffer.from(text, 'latin1');
/** An ISO-BMFF file's first box: size, "ftyp", the major brand, a minor version. */
const ftyp = (brand: string) => Buffer.concat([bytes(0, 0, 0, 0x18), latin1(`ftyp${brand}`), Buffer.alloc(12)]);
/** An EBML header whose DocType element (0x42 0x82) names the format. */
const ebml = (docType: string) => Buffer.concat([bytes(0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x80 | docType.length), latin1(docType)]);

/** Random but repeatable bytes (a linear congruential generator). */
function garbage(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i += 1) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    out[i] = (state >> 16) & 0xff;
  }
  out[0] = 0x00; // binary for sure: no format starts with NUL here
  return out;
}

t.test('sniffs each format from its bytes', async (t) => {
  const cases: [name: string, input: Buffer | Promise<Buffer>, mediaType: string, kind: MediaKind][] = [
    ['png', blank().png().toBuffer(), 'image/png', 'image'],
    ['jpeg', blank().jpeg().toBuffer(), 'image/jpeg', 'image'],
    ['gif', blank().gif().toBuffer(), 'image/gif', 'image'],
    ['webp', blank().webp().toBuffer(), 'image/webp', 'image'],
    ['tiff', blank().tiff().toBuffer(), 'image/tiff', 'image'],
    ['avif', blank().avif().toBuffer(), 'image/avif', 'image'],
    ['big-endian tiff', Buffer.concat([bytes(0x4d, 0x4d, 0x00, 0x2a), Buffer.alloc(8)]), 'image/tiff', 'image'],
    ['bmp', makeBmp(4, 3), 'image/bmp', 'image'],
    ['pdf', makePdf(['one page']), 'application/pdf', 'document'],
    ['rtf', latin1('{\\rtf1\\ansi Hello}'), 'application/rtf', 'document'],
    ['wav', makeWav({ seconds: 0.1 }), 'audio/wav', 'audio'],
    ['avi header', Buffer.concat([latin1('RIFF'), Buffer.alloc(4), latin1('AVI LIST')]), 'video/x-msvideo', 'video'],
    ['mp3 with ID3', Buffer.concat([latin1('ID3'), bytes(4, 0, 0, 0, 0, 0, 0)]), 'audio/mpeg', 'audio'],
    ['mp3 frame (MPEG-1 layer III, 128 kbit/s, 44.1 kHz)', bytes(0xff, 0xfb, 0x90, 0x64, 0, 0), 'audio/mpeg', 'audio'],
    ['aac adts', bytes(0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc), 'audio/aac', 'audio'],
    ['flac', latin1('fLaC\0\0\0"'), 'audio/flac', 'audio'],
    ['ogg vorbis', Buffer.concat([latin1('OggS'), Buffer.alloc(24), latin1('\x01vorbis')]), 'audio/ogg', 'audio'],
    ['ogg theora', Buffer.concat([latin1('OggS'), Buffer.alloc(24), latin1('\x80theora')]), 'video/ogg', 'video'],
    ['m4a brand', ftyp('M4A '), 'audio/mp4', 'audio'],
    ['isom brand', ftyp('isom'), 'video/mp4', 'video'],
    ['unknown brand is mp4 until probed', ftyp('zzzz'), 'video/mp4', 'video'],
    ['quicktime brand', ftyp('qt  '), 'video/quicktime', 'video'],
    ['3gp brand', ftyp('3gp4'), 'video/3gpp', 'video'],
    ['heic brand', ftyp('heic'), 'image/heic', 'image'],
    ['webm', ebml('webm'), 'video/webm', 'video'],
    ['matroska', ebml('matroska'), 'video/x-matroska', 'video'],
    [
      'docx',
      makeZip([{ name: '[Content_Types].xml', content: '<Types/>' }, { name: 'word/document.xml', content: '<w:document/>' }]),
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'document',
    ],
    ['xlsx', makeZip([{ name: 'xl/workbook.xml', content: '<workbook/>' }]), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'document'],
    ['pptx', makeZip([{ name: 'ppt/presentation.xml', content: '<p/>' }]), 'application/vnd.openxmlformats-officedocument.presentationml.presentation', 'document'],
    [
      'odt',
      makeZip([{ name: 'mimetype', content: 'application/vnd.oasis.opendocument.text' }, { name: 'content.xml', content: '<office/>' }]),
      'application/vnd.oasis.opendocument.text',
      'document',
    ],
    ['epub', makeZip([{ name: 'mimetype', content: 'application/epub+zip' }]), 'application/epub+zip', 'document'],
    ['plain zip', makeZip([{ name: 'notes.txt', content: 'hi' }]), 'application/zip', 'other'],
    ['empty zip', makeZip([]), 'application/zip', 'other'],
    [
      'docx cut before its central directory',
      makeZip([{ name: 'word/document.xml', content: '<w:document/>' }]).subarray(0, 60),
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'document',
    ],
    ['ascii text', Buffer.from('The app crashes every time I log in.\n'), 'text/plain', 'text'],
    ['utf-8 text with BOM, tabs and CRLF', Buffer.from('\ufeffnaïve\tcafé\r\n'), 'text/plain', 'text'],
    ['CJK text', Buffer.from('日本語のテキストです'), 'text/plain', 'text'],
    ['text starting with BM', Buffer.from('BMW makes cars, and this text is long enough.'), 'text/plain', 'text'],
    ['text starting with RIFF', Buffer.from('RIFF'), 'text/plain', 'text'],
    ['ANSI-coloured log', Buffer.from('\x1b[31merror\x1b[0m\n'), 'text/plain', 'text'],
    ['text whose 64 KiB sample cuts a character', Buffer.from('a'.repeat(64 * 1024 - 1) + 'é' + 'z'), 'text/plain', 'text'],
  ];
  for (const [name, input, mediaType, kind] of cases) {
    t.same(sniffMediaType(await input), { mediaType, kind }, name);
  }
});

t.test('gives undefined for unknown, truncated or garbage bytes', async (t) => {
  const png = await blank().png().toBuffer();
  const cases: [name: string, input: Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['PNG signature cut short', png.subarray(0, 4)],
    ['RIFF of an unknown form', Buffer.concat([latin1('RIFF'), Buffer.alloc(4), latin1('XXXX')])],
    ['RIFF header cut before its form', Buffer.concat([latin1('RIFF'), bytes(0, 0)])],
    ['ftyp box cut before its brand', bytes(0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69)],
    ['BM without a DIB header', Buffer.concat([latin1('BM'), Buffer.alloc(30)])],
    ['a lone 0xFF (no valid frame header)', bytes(0xff, 0xff, 0xff, 0xff)],
    ['mp3 sync with a reserved bitrate', bytes(0xff, 0xfb, 0xf0, 0x64)],
    ['invalid UTF-8', bytes(0x68, 0x69, 0xc3, 0x28)],
    ['UTF-8 cut in a character at the end', Buffer.from('caf\xc3', 'latin1')],
    ['text with a NUL', Buffer.from('hello\0world')],
    ['text with a control character', Buffer.from('hello\x02world')],
    ['UTF-16 text', Buffer.from('\ufeffhello', 'utf16le')],
    ['gzip', bytes(0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0)],
    ['garbage 1', garbage(256, 1)],
    ['garbage 2', garbage(4096, 42)],
  ];
  for (const [name, input] of cases) t.equal(sniffMediaType(input), undefined, name);
});

t.test('sniffs files that ffmpeg made', { skip: await skipWithoutFfmpeg() }, async (t) => {
  const cases: [MediaFixture, string, MediaKind][] = [
    ['video.mp4', 'video/mp4', 'video'],
    ['audio-only.mp4', 'video/mp4', 'video'], // the brand says isom: ffprobe corrects it in readJobFacts
    ['audio.m4a', 'audio/mp4', 'audio'],
    ['audio.mp3', 'audio/mpeg', 'audio'],
    ['no-id3.mp3', 'audio/mpeg', 'audio'],
    ['audio.flac', 'audio/flac', 'audio'],
    ['audio.ogg', 'audio/ogg', 'audio'],
    ['audio.opus', 'audio/ogg', 'audio'],
    ['audio.aac', 'audio/aac', 'audio'],
    ['video.webm', 'video/webm', 'video'],
    ['video.mkv', 'video/x-matroska', 'video'],
    ['video.avi', 'video/x-msvideo', 'video'],
    ['video.mov', 'video/quicktime', 'video'],
  ];
  for (const [name, mediaType, kind] of cases) t.same(sniffMediaType(await mediaFixture(name)), { mediaType, kind }, name);
});

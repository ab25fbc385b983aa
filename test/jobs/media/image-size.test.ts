import sharp from 'sharp';
import t from 'tap';
import { imageSize, readHeaderSize } from '../../../jobs/media/image-size.js';
import { makeBmp } from './fixtures/make-media.js';

const blank = (width: number, height: number, channels: 3 | 4 = 3) =>
  sharp({ create: { width, height, channels, background: { r: 200, g: 100, b: 50, alpha: 0.5 } } });

t.test('reads the size from the header of each format', async (t) => {
  const cases: [name: string, input: Promise<Buffer> | Buffer, width: number, height: number, fromHeader: boolean][] = [
    ['png', blank(321, 123).png().toBuffer(), 321, 123, true],
    ['jpeg baseline', blank(640, 480).jpeg().toBuffer(), 640, 480, true],
    ['jpeg progressive with EXIF before the frame', blank(99, 77).jpeg({ progressive: true }).withMetadata().toBuffer(), 99, 77, true],
    ['gif', blank(50, 40).gif().toBuffer(), 50, 40, true],
    ['webp lossy (VP8)', blank(300, 200).webp({ quality: 50 }).toBuffer(), 300, 200, true],
    ['webp lossless (VP8L)', blank(301, 201).webp({ lossless: true }).toBuffer(), 301, 201, true],
    ['webp extended (VP8X, with alpha)', blank(302, 202, 4).webp({ quality: 50 }).toBuffer(), 302, 202, true],
    ['bmp', makeBmp(17, 9), 17, 9, true],
    ['bmp top-down', makeBmp(17, 9, true), 17, 9, true],
    ['tiff (through sharp)', blank(33, 44).tiff().toBuffer(), 33, 44, false],
    ['avif (through sharp)', blank(64, 48).avif().toBuffer(), 64, 48, false],
  ];
  for (const [name, input, width, height, fromHeader] of cases) {
    const bytes = await input;
    t.same(await imageSize(bytes), { width, height }, name);
    t.same(readHeaderSize(bytes), fromHeader ? { width, height } : undefined, `${name}: ${fromHeader ? 'parsed here' : 'left to sharp'}`);
  }
});

t.test('an image neither the parsers nor sharp can read is UNSUPPORTED_MEDIA_TYPE', async (t) => {
  const png = await blank(10, 10).png().toBuffer();
  const cases: [name: string, input: Buffer][] = [
    ['png signature only', png.subarray(0, 8)],
    ['png with IHDR torn off', png.subarray(0, 18)],
    ['jpeg markers only', Buffer.from([0xff, 0xd8, 0xff, 0xd9])],
    ['garbage', Buffer.from('definitely not an image')],
  ];
  for (const [name, input] of cases) {
    t.equal(readHeaderSize(input), undefined, `${name}: no header size`);
    await t.rejects(imageSize(input), { code: 'UNSUPPORTED_MEDIA_TYPE', message: /image/ }, name);
  }
});

t.test('a zero size in a header is not a size', async (t) => {
  const png = Buffer.from(await blank(10, 10).png().toBuffer());
  png.writeUInt32BE(0, 16);
  t.equal(readHeaderSize(png), undefined);
});

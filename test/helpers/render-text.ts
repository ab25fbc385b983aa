import sharp from 'sharp';

/** A line of text to draw. */
export interface Drawn {
  readonly text: string;
  readonly x: number;
  readonly y: number;
  readonly size?: number;
  /** Degrees about the text's start point. */
  readonly rotate?: number;
}

/**
 * Renders black text on white with sharp's librsvg. Text needs a system font through fontconfig
 * (Debian: fonts-dejavu-core); without one librsvg draws nothing, which the tests report.
 */
export async function renderText(width: number, height: number, lines: readonly Drawn[]): Promise<Buffer> {
  const texts = lines
    .map((l) => {
      const transform = l.rotate === undefined ? '' : ` transform="rotate(${l.rotate} ${l.x} ${l.y})"`;
      const font = `font-family="DejaVu Sans, sans-serif" font-size="${l.size ?? 48}"`;
      return `<text x="${l.x}" y="${l.y}" ${font} fill="black"${transform}>${l.text}</text>`;
    })
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="white"/>${texts}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

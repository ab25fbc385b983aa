/**
 * Splits a long text into chunks of at most `maxChars` characters, at paragraph, then
 * sentence, then word boundaries, so no chunk cuts a word unless a single word is longer than a chunk.
 */
export function chunkText(text: string, maxChars: number): string[] {
  const chunks: string[] = [];
  let current = '';
  const push = (): void => {
    if (current.trim().length > 0) chunks.push(current.trim());
    current = '';
  };
  for (const piece of pieces(text)) {
    if (current.length + piece.length <= maxChars) {
      current += piece;
      continue;
    }
    push();
    if (piece.length <= maxChars) {
      current = piece;
      continue;
    }
    for (const word of piece.split(/(?<=\s)/)) {
      if (current.length + word.length > maxChars) push();
      for (let at = 0; at < word.length; at += maxChars) {
        const part = word.slice(at, at + maxChars);
        if (part.length === maxChars) chunks.push(part.trim());
        else current += part;
      }
    }
  }
  push();
  return chunks.filter((chunk) => chunk.length > 0);
}

/** Sentences (with their trailing space), keeping paragraph breaks as boundaries. */
function pieces(text: string): string[] {
  return text.split(/(?<=[.!?。！？]\s+|\n\s*\n)/u);
}

/**
 * Where each chunk of {@link chunkText} starts in the text. A chunk is a trimmed, contiguous
 * slice of the text and the chunks follow each other with only whitespace between them, so
 * searching from the previous chunk's end finds each one at its own place, in linear time overall.
 */
export function chunkOffsets(text: string, chunks: readonly string[]): number[] {
  let from = 0;
  return chunks.map((chunk) => {
    const at = text.indexOf(chunk, from);
    if (at === -1) throw new Error('a chunk is not a slice of its text');
    from = at + chunk.length;
    return at;
  });
}

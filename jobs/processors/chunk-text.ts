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

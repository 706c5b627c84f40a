// Character tokenizer over Unicode code points: an emoji or a CJK character is
// one token, not two UTF-16 halves. The vocabulary is the sorted set of code
// points in the corpus and travels with the model (checkpoint metadata).

export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

export class Tokenizer {
  readonly chars: string[];
  private readonly index: Map<string, number>;

  constructor(chars: string[]) {
    this.chars = chars;
    this.index = new Map(chars.map((c, i) => [c, i]));
    if (this.index.size !== chars.length) throw new TokenizerError('vocabulary has duplicate characters');
  }

  /** Vocabulary of a text: its distinct code points, sorted by code point. */
  static fromText(text: string): Tokenizer {
    const set = new Set<string>();
    for (const ch of text) set.add(ch);
    const chars = [...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new Tokenizer(chars);
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  has(ch: string): boolean {
    return this.index.has(ch);
  }

  encode(text: string): Int32Array {
    const out: number[] = [];
    for (const ch of text) {
      const id = this.index.get(ch);
      if (id === undefined) {
        throw new TokenizerError(`character ${describeChar(ch)} is not in the model's vocabulary of ${this.chars.length} characters`);
      }
      out.push(id);
    }
    return Int32Array.from(out);
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.chars[ids[i]] ?? '';
    return s;
  }

  /** Characters of `text` that this vocabulary lacks (for a fine-tune error that lists them). */
  missing(text: string): string[] {
    const out = new Set<string>();
    for (const ch of text) if (!this.index.has(ch)) out.add(ch);
    return [...out];
  }

  toJSON(): string[] {
    return this.chars;
  }
  static fromJSON(chars: string[]): Tokenizer {
    return new Tokenizer(chars);
  }
}

/** 'x' (U+0078), or for invisible characters just the code point. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const hex = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  return cp < 32 || cp === 127 ? hex : `'${ch}' (${hex})`;
}

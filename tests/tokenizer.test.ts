// Tokenizer over code points, and the bytes-to-text step in front of it.

import { describe, it, expect } from 'vitest';
import { Tokenizer, TokenizerError } from '../src/core/tokenizer.ts';
import { DataError, decodeText } from '../src/core/data.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('Tokenizer', () => {
  const text = 'héllo wörld 🙂🚀 日本語の文章\nline two\tend 👍🏽';

  it('round-trips text with emoji and CJK, one token per code point', () => {
    const tok = Tokenizer.fromText(text);
    const ids = tok.encode(text);
    expect(ids.length).toBe([...text].length);
    expect(ids.length).toBeLessThan(text.length); // emoji are two UTF-16 units, one token
    expect(tok.decode(ids)).toBe(text);
    expect(tok.chars).toContain('🙂');
    expect(tok.chars).toContain('語');
    expect(tok.chars.every((c) => [...c].length === 1)).toBe(true);
  });

  it('sorts the vocabulary by code point and survives toJSON/fromJSON', () => {
    const tok = Tokenizer.fromText('cab🙂a\n');
    expect(tok.chars).toEqual(['\n', 'a', 'b', 'c', '🙂']);
    const back = Tokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(back.chars).toEqual(tok.chars);
    expect(Array.from(back.encode('abc🙂'))).toEqual(Array.from(tok.encode('abc🙂')));
  });

  it('names an unknown character in its error', () => {
    const tok = Tokenizer.fromText('abc');
    expect(() => tok.encode('abz')).toThrow(TokenizerError);
    expect(() => tok.encode('abz')).toThrow(/'z' \(U\+007A\)/);
    expect(() => tok.encode('a🙂')).toThrow(/'🙂' \(U\+1F642\)/);
    expect(() => tok.encode('a\u0007')).toThrow(/U\+0007/);
    expect(tok.missing('abzzy')).toEqual(['z', 'y']);
  });

  it('refuses a vocabulary with duplicates', () => {
    expect(() => new Tokenizer(['a', 'b', 'a'])).toThrow(/duplicate/);
  });
});

describe('decodeText', () => {
  it('drops a BOM and turns CRLF and lone CR into LF', () => {
    const raw = '\ufeffline one\r\nline two\rline three\n\r\nend 🙂 日本';
    const text = decodeText(utf8(raw));
    expect(text).toBe('line one\nline two\nline three\n\nend 🙂 日本');
    const tok = Tokenizer.fromText(text);
    expect(tok.chars).not.toContain('\r');
    expect(tok.chars).not.toContain('\ufeff');
    expect(tok.decode(tok.encode(text))).toBe(text);
  });

  it('keeps a BOM-less, LF-only text unchanged', () => {
    const s = 'plain\ntext 🙂\n';
    expect(decodeText(utf8(s))).toBe(s);
  });

  it('refuses binary data (NUL bytes)', () => {
    const bytes = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x14, 0x00]);
    expect(() => decodeText(bytes, 'archive.zip')).toThrow(DataError);
    expect(() => decodeText(bytes, 'archive.zip')).toThrow(/archive\.zip looks binary/);
  });

  it('refuses invalid UTF-8', () => {
    const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]); // "café\n" in Latin-1
    expect(() => decodeText(latin1, 'old.txt')).toThrow(/old\.txt is not valid UTF-8/);
    expect(() => decodeText(new Uint8Array([0xf0, 0x9f, 0x99]))).toThrow(DataError); // truncated emoji
  });
});

// Reading a text file as a stream (core/text-reader.ts): the size limit before
// the first byte, again while reading, UTF-8 split across chunks, binary files,
// and progress.

import { describe, expect, it } from 'vitest';
import { readTextStream } from '../src/core/text-reader.ts';
import { DataError } from '../src/core/data.ts';

/** A stream of the given chunks that records how many were pulled and whether it was cancelled. */
function chunks(parts: Uint8Array[]) {
  const log = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (log.pulled < parts.length) c.enqueue(parts[log.pulled++]);
        else c.close();
      },
      cancel() {
        log.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  ); // pulled only when read, so `pulled` counts the reader's reads
  return { stream, log };
}
const enc = (s: string) => new TextEncoder().encode(s);
const opts = (size: number, maxBytes = 1000) => ({ name: 'f.txt', size, maxBytes });

describe('readTextStream', () => {
  it('refuses a file over the limit before reading a byte, with the limit and the way to raise it', async () => {
    const { stream, log } = chunks([enc('never read')]);
    const err = await readTextStream(stream, { name: 'huge.txt', size: 2 ** 30, maxBytes: 100e6, raiseHint: 'set ?maxTextMB=' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toBe('huge.txt is 1.07 GB, over the 100 MB limit for text files: use a smaller file or set ?maxTextMB=');
    expect(log.pulled).toBe(0);
  });

  it('stops a file that turns out larger than it claimed as soon as it passes the limit, and cancels the rest', async () => {
    const { stream, log } = chunks([enc('a'.repeat(600)), enc('b'.repeat(600)), enc('c'.repeat(600))]);
    await expect(readTextStream(stream, opts(10))).rejects.toThrow(/f\.txt is 1\.20 kB, over the 1\.00 kB limit/);
    expect(log.pulled).toBe(2);
    expect(log.cancelled).toBe(true);
  });

  it('decodes UTF-8 split inside a character across chunks, normalises line ends, and reports progress', async () => {
    const bytes = enc('\uFEFFhé 😀\r\nline two\r');
    const parts = [bytes.subarray(0, 5), bytes.subarray(5, 8), bytes.subarray(8)]; // cuts inside 'é' and '😀'
    const seen: number[] = [];
    const text = await readTextStream(chunks(parts).stream, { ...opts(bytes.length), onProgress: (b) => seen.push(b) });
    expect(text).toBe('hé 😀\nline two\n');
    expect(seen).toEqual([5, 8, bytes.length]);
  });

  it('refuses binary and non-UTF-8 files, and an empty one, with one line each', async () => {
    await expect(readTextStream(chunks([new Uint8Array([104, 0, 105])]).stream, opts(3))).rejects.toThrow(/f\.txt looks binary/);
    await expect(readTextStream(chunks([enc('ok'), new Uint8Array([0xff, 0xfe, 0x41])]).stream, opts(5))).rejects.toThrow(
      /f\.txt is not valid UTF-8 text \(at about byte 2\)/,
    );
    await expect(readTextStream(chunks([enc('ok'), new Uint8Array([0xe2, 0x82])]).stream, opts(4))).rejects.toThrow(/ends inside a character/);
    await expect(readTextStream(chunks([]).stream, opts(0))).rejects.toThrow(/f\.txt is empty/);
  });
});

// Reading a text file as a stream, with a size limit checked before the first
// byte is read and again while reading (a file may grow, or lie about its
// size), and progress as it goes: a 1 GB file costs nothing, a large one
// never sits whole in memory twice (bytes, then text), and a binary or
// non-UTF-8 file is refused at its first bad chunk. The page runs this in a
// worker (worker/text.worker.ts); pure TypeScript over the web's ReadableStream.

import { DataError, normaliseText } from './data';

export interface ReadTextOptions {
  /** Shown in errors: the file's name. */
  name: string;
  /** The size the file claims (File.size), checked before reading. */
  size: number;
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** How to raise the limit, appended to the too-large error ("set ?maxTextMB= ..."). */
  raiseHint?: string;
  /** Called after each chunk with the bytes read so far. */
  onProgress?: (bytes: number) => void;
}

/** "1.07 GB", "950 kB": decimal units, as file managers show sizes. */
export function formatFileSize(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = bytes;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${bytes} bytes` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

export function tooLarge(name: string, size: number, maxBytes: number, raiseHint?: string): DataError {
  return new DataError(
    `${name} is ${formatFileSize(size)}, over the ${formatFileSize(maxBytes)} limit for text files: use a smaller file${raiseHint ? ` or ${raiseHint}` : ''}`,
  );
}

/** The stream's bytes as normalised text (BOM dropped, CRLF -> LF), or a one-line DataError. */
export async function readTextStream(stream: ReadableStream<Uint8Array>, opts: ReadTextOptions): Promise<string> {
  const { name, maxBytes } = opts;
  if (opts.size > maxBytes) throw tooLarge(name, opts.size, maxBytes, opts.raiseHint);
  if (opts.size === 0) throw new DataError(`${name} is empty: give a text file with at least a few hundred characters`);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const reader = stream.getReader();
  const parts: string[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Only the first 64 KiB are probed for NUL, as core/data.ts' decodeText does.
      if (bytes < 65536 && value.subarray(0, 65536 - bytes).includes(0))
        throw new DataError(`${name} looks binary (it contains NUL bytes): give a UTF-8 text file`);
      bytes += value.length;
      if (bytes > maxBytes) throw tooLarge(name, bytes, maxBytes, opts.raiseHint);
      try {
        parts.push(decoder.decode(value, { stream: true }));
      } catch {
        throw new DataError(`${name} is not valid UTF-8 text (at about byte ${bytes - value.length}): convert it to UTF-8 or give a text file`);
      }
      opts.onProgress?.(bytes);
    }
    try {
      parts.push(decoder.decode());
    } catch {
      throw new DataError(`${name} is not valid UTF-8 text (it ends inside a character): convert it to UTF-8 or give a text file`);
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined); // stop reading the rest of the file
    throw e;
  }
  return normaliseText(parts.join(''));
}

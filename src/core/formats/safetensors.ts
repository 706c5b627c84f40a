// The byte layout of a tabgpt checkpoint (safetensors: 8-byte little-endian
// header length, JSON header, raw little-endian float32 data), without tfjs:
// checkpoint.ts builds its files through encodeSafetensors, and the PyTorch
// bridge (nanogpt.ts), which the page runs without tfjs, does too.
// Tensors here are in the file's layout (PyTorch's: Linear weights [out, in]).

import type { CheckpointMeta, HeaderEntry } from '../checkpoint-validate';
import { sha256Hex } from '../data';

export const CHECKPOINT_VERSION = '1';

export interface FileTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Safetensors bytes for tensors in file layout plus tabgpt's metadata. */
export async function encodeSafetensors(meta: CheckpointMeta, entries: FileTensor[]): Promise<Uint8Array> {
  const dataBytes = entries.reduce((a, e) => a + e.data.byteLength, 0);
  const body = new Uint8Array(dataBytes);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const e of entries) {
    body.set(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), offset);
    header[e.name] = { dtype: 'F32', shape: e.shape, data_offsets: [offset, offset + e.data.byteLength] } satisfies HeaderEntry;
    offset += e.data.byteLength;
  }
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('big-endian hosts are not supported');
  const metadata: Record<string, string> = {
    format: 'pt',
    'tabgpt.version': CHECKPOINT_VERSION,
    config: JSON.stringify(meta.config),
    vocab: JSON.stringify(meta.vocab),
    step: String(meta.step),
    seed: String(meta.seed),
    rng_state: String(meta.rngState),
    data_sha256: await sha256Hex(body),
    ...(meta.adamT !== undefined ? { optimizer: JSON.stringify({ type: 'AdamW', t: meta.adamT }) } : {}),
    ...(meta.extra ?? {}),
  };
  header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // align the data section to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(body, 8 + headerBytes.length);
  return out;
}

/**
 * The tensors of safetensors bytes in file layout, by name (copies). For a file
 * decodeCheckpoint has already validated: nothing is checked here.
 */
export function fileTensors(bytes: Uint8Array): Map<string, FileTensor> {
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, HeaderEntry>;
  const body = bytes.subarray(8 + headerLen);
  const out = new Map<string, FileTensor>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const data = new Float32Array(e.shape.reduce((a, b) => a * b, 1));
    new Uint8Array(data.buffer).set(body.subarray(e.data_offsets[0], e.data_offsets[1]));
    out.set(name, { name, shape: e.shape, data });
  }
  return out;
}

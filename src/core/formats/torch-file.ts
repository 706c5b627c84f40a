// PyTorch's own file format, as torch.save writes it and torch.load reads it:
// a zip archive (entries stored, not compressed) holding
//   <archive>/data.pkl       the object, pickled (protocol 2); each tensor is a
//                            call torch._utils._rebuild_tensor_v2(storage,
//                            offset, size, stride, requires_grad, hooks) whose
//                            storage is a persistent id
//                            ('storage', torch.FloatStorage, key, location, numel)
//   <archive>/data/<key>     each storage's raw little-endian bytes
//   <archive>/version        the format version ("3")
//   <archive>/byteorder      "little" (PyTorch 2.x writes it; 1.x ignores it)
// torch.save names <archive> after the file ("ckpt/" for ckpt.pt); readers take
// whatever the first entry's folder is. Zip from fflate, pickle from pickle.ts.
//
// Reading builds only dicts, lists, tuples, numbers, strings and float32
// tensors: the globals allowed are exactly the ones above plus
// collections.OrderedDict and torch._utils._rebuild_parameter; any other name
// (os.system, builtins.eval, ...) is refused by name.

import { unzipSync, zipSync, type Zippable } from 'fflate';
import { pickle, PickleError, PyGlobal, PyPersistent, PyReduce, PyTuple, RefusedGlobal, unpickle, type Allowed, type PyValue } from './pickle';

export class TorchFileError extends Error {
  override name = 'TorchFileError';
}

/** A tensor read from a torch file: float32 data in row-major order (a copy, contiguous). */
export class TorchTensor {
  constructor(
    readonly shape: number[],
    readonly data: Float32Array,
    readonly storageKey: string,
  ) {}
}

/** A tensor to write: row-major float32 data; tensors given the same `storage` share one record (tied weights). */
export interface TensorToSave {
  shape: number[];
  data: Float32Array;
  /** Tensors with the same object here are written once and share it (lm_head.weight is transformer.wte.weight). */
  storage?: object;
}
export const isTensorToSave = (v: unknown): v is TensorToSave =>
  typeof v === 'object' && v !== null && (v as TensorToSave).data instanceof Float32Array && Array.isArray((v as TensorToSave).shape);

/** A value to write: PyValue trees with TensorToSave leaves (in dicts, lists, tuples). */
export type SaveValue = PyValue | TensorToSave | SaveValue[] | Map<PyValue, SaveValue> | PyTuple;

const STORAGE_DTYPES: Record<string, { bytes: number; read: (v: DataView, at: number) => number }> = {
  FloatStorage: { bytes: 4, read: (v, at) => v.getFloat32(at, true) },
  DoubleStorage: { bytes: 8, read: (v, at) => v.getFloat64(at, true) },
  HalfStorage: { bytes: 2, read: (v, at) => half(v.getUint16(at, true)) },
  BFloat16Storage: { bytes: 2, read: (v, at) => bfloat16(v.getUint16(at, true)) },
};

/** Row-major strides of a shape. */
const contiguous = (shape: number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

/** torch.save's bytes for `obj`. Tensors are stored as float32 on 'cpu' (torch.load's map_location moves them). */
export function saveTorch(obj: SaveValue): Uint8Array {
  const records: Zippable = {};
  const keys = new Map<object, { key: string; numel: number }>();
  const rebuild = new PyGlobal('torch._utils', '_rebuild_tensor_v2');
  const floatStorage = new PyGlobal('torch', 'FloatStorage');
  const orderedDict = new PyGlobal('collections', 'OrderedDict');
  const convert = (v: SaveValue): PyValue => {
    if (isTensorToSave(v)) {
      const numel = v.shape.reduce((a, b) => a * b, 1);
      if (v.data.length !== numel) throw new TorchFileError(`tensor data has ${v.data.length} values for shape [${v.shape}]`);
      const owner = v.storage ?? v;
      let rec = keys.get(owner);
      if (!rec) {
        rec = { key: String(keys.size), numel };
        keys.set(owner, rec);
        records[`archive/data/${rec.key}`] = [new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength).slice(), { level: 0 }];
      } else if (rec.numel !== numel) throw new TorchFileError('tensors sharing a storage must have the same size');
      const storage = new PyPersistent(new PyTuple(['storage', floatStorage, rec.key, 'cpu', numel]));
      const args = new PyTuple([storage, 0, new PyTuple(v.shape), new PyTuple(contiguous(v.shape)), false, new PyReduce(orderedDict, new PyTuple([]))]);
      return new PyReduce(rebuild, args);
    }
    if (v instanceof PyTuple) return new PyTuple(v.items.map((x) => convert(x as SaveValue)));
    if (Array.isArray(v)) return v.map(convert);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, convert(x)]));
    return v as PyValue;
  };
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new TorchFileError('big-endian hosts are not supported');
  const pkl = pickle(convert(obj));
  // data.pkl first: torch.load takes the archive's name from the first entry
  const ordered: Zippable = { 'archive/data.pkl': [pkl, { level: 0 }], 'archive/byteorder': [new TextEncoder().encode('little'), { level: 0 }] };
  Object.assign(ordered, records, { 'archive/version': [new TextEncoder().encode('3\n'), { level: 0 }] });
  return zipSync(ordered, { mtime: new Date('2000-01-01T00:00:00Z') });
}

/** Entries of a zip, refusing what torch.save never writes (compressed or oversized entries). */
function readZip(bytes: Uint8Array): Record<string, Uint8Array> {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    if (bytes[0] === 0x80 && bytes[1] <= 5)
      throw new TorchFileError('is a legacy (pre-1.6) torch.save file: load and save it again with a recent PyTorch (torch.save(torch.load(f), f))');
    throw new TorchFileError('is not a PyTorch file (no zip archive: a torch.save file starts with "PK")');
  }
  try {
    return unzipSync(bytes, {
      filter: (f) => {
        if (f.compression !== 0) throw new TorchFileError(`entry ${f.name} is compressed; torch.save stores entries uncompressed`);
        if (f.originalSize > bytes.length) throw new TorchFileError(`entry ${f.name} claims ${f.originalSize} bytes, more than the file holds (corrupted)`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof TorchFileError) throw e;
    throw new TorchFileError(`is not a complete zip archive (${(e as Error).message}; truncated or corrupted?)`);
  }
}

/**
 * Read torch.save bytes into plain values: dicts as Maps, lists and tuples as
 * arrays, tensors as TorchTensor (float32), everything else refused.
 */
export function loadTorch(bytes: Uint8Array): unknown {
  const entries = readZip(bytes);
  const names = Object.keys(entries);
  const pklName = names.find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pklName) throw new TorchFileError(`has no data.pkl (a zip, but not one torch.save wrote: ${names.slice(0, 3).join(', ') || 'empty'})`);
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const order = entries[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little')
    throw new TorchFileError('was saved on a big-endian machine: load and save it again on a little-endian one');
  const storages = new Map<string, { data: Float32Array }>();
  const storageType = (name: string) => ({ storageType: name });
  const allowed: Allowed = {
    'collections.OrderedDict': () => new Map(),
    'torch._utils._rebuild_parameter': (data: unknown) => data,
    'torch._utils._rebuild_tensor_v2': (storage: unknown, offset: unknown, size: unknown, stride: unknown) => rebuildTensor(storage, offset, size, stride),
  };
  for (const t of Object.keys(STORAGE_DTYPES)) allowed[`torch.${t}`] = storageType(t);
  const persistent = (pid: unknown) => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) throw new TorchFileError('has a persistent id that is not a storage');
    const [, type, key, , numel] = pid as [string, { storageType?: string }, unknown, unknown, unknown];
    const dtype = STORAGE_DTYPES[type?.storageType ?? ''];
    if (!dtype) throw new TorchFileError('has a storage of an unknown type');
    if (typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0) throw new TorchFileError('has a malformed storage reference');
    const cached = storages.get(key);
    if (cached) return cached;
    const raw = entries[`${prefix}data/${key}`];
    if (!raw) throw new TorchFileError(`is missing storage record data/${key} (truncated or corrupted)`);
    if (raw.length < (numel as number) * dtype.bytes)
      throw new TorchFileError(`storage data/${key} has ${raw.length} bytes, ${(numel as number) * dtype.bytes} expected (truncated)`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const data = new Float32Array(numel as number);
    for (let i = 0; i < data.length; i++) data[i] = dtype.read(view, i * dtype.bytes);
    const s = { data, key };
    storages.set(key, s);
    return s;
  };
  try {
    return unpickle(entries[pklName], allowed, persistent);
  } catch (e) {
    if (e instanceof RefusedGlobal)
      throw new TorchFileError(`refers to ${e.qualified}, which is not part of a PyTorch checkpoint: refused (tabgpt never executes a pickle)`);
    if (e instanceof PickleError) throw new TorchFileError(`data.pkl ${e.message}`);
    throw e;
  }
}

const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);

/** _rebuild_tensor_v2: a strided view of a storage, copied out row-major. */
function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown): TorchTensor {
  const s = storage as { data?: Float32Array; key?: string };
  if (!(s?.data instanceof Float32Array)) throw new TorchFileError('has a tensor without a storage');
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || !isIntArray(size) || !isIntArray(stride) || size.length !== stride.length) {
    throw new TorchFileError('has a tensor with a malformed size or stride');
  }
  const numel = size.reduce((a, b) => a * b, 1);
  // a view larger than its storage (stride-0 broadcasts) is not something a checkpoint holds, and would size an allocation
  if (numel > s.data.length) throw new TorchFileError(`has a tensor of shape [${size}] larger than its storage (${s.data.length} values)`);
  const off = offset as number;
  const last = numel === 0 ? off : off + size.reduce((a, d, i) => a + (d - 1) * stride[i], 0);
  if (last >= s.data.length && numel > 0) throw new TorchFileError(`has a tensor of shape [${size}] reaching past its storage (${s.data.length} values)`);
  const out = new Float32Array(numel);
  const rowMajor = stride.every((st, i) => st === contiguous(size)[i] || size[i] === 1);
  if (rowMajor) out.set(s.data.subarray(off, off + numel));
  else {
    const idx = new Array(size.length).fill(0);
    for (let n = 0; n < numel; n++) {
      out[n] = s.data[off + idx.reduce((a, k, i) => a + k * stride[i], 0)];
      for (let d = size.length - 1; d >= 0; d--) {
        if (++idx[d] < size[d]) break;
        idx[d] = 0;
      }
    }
  }
  return new TorchTensor([...size], out, s.key ?? '');
}

/** IEEE half -> number. */
function half(h: number): number {
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

/** bfloat16 -> number: the top half of a float32. */
function bfloat16(b: number): number {
  return new Float32Array(new Uint32Array([b << 16]).buffer)[0];
}

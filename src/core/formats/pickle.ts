// Python's pickle, both ways, for the two files nanoGPT writes with it
// (torch.save's data.pkl inside ckpt.pt, and meta.pkl).
//
// Reading: the pickleparser library's opcode machine, restricted. A pickle
// is a program whose GLOBAL opcodes name any Python callable (os.system
// included); here every name is looked up in the caller's allow-list and
// anything else is refused by name before it is used. Nothing is ever
// executed: an allowed name maps to a JS function that only builds data.
// Dicts come back as Maps (no prototype tricks through keys), tuples and
// lists as arrays. The byte reader refuses negative lengths, which would
// otherwise move it backwards (a loop a hostile file could make endless).
//
// Writing: protocol 2, as torch.save writes data.pkl, from a small tree of
// values (PyFloat keeps 0.0 a float, PyTuple a tuple, PyReduce a call such as
// collections.OrderedDict() or torch._utils._rebuild_tensor_v2(...)).

import { BufferReader, Parser } from 'pickleparser';

export class PickleError extends Error {
  override name = 'PickleError';
}

/** A Python float that JS would print as an integer (dropout 0.0). */
export class PyFloat {
  constructor(readonly value: number) {}
}
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
/** module.name, e.g. collections.OrderedDict. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}
/** callable(*args), then optional dict items set on the result (OrderedDict's contents). */
export class PyReduce {
  constructor(
    readonly callable: PyGlobal,
    readonly args: PyTuple,
    readonly items?: Map<PyValue, PyValue>,
  ) {}
}
/** A persistent id (torch.save's reference to a storage record). */
export class PyPersistent {
  constructor(readonly id: PyTuple) {}
}
export type PyValue = null | boolean | number | bigint | string | PyFloat | PyTuple | PyGlobal | PyReduce | PyPersistent | PyValue[] | Map<PyValue, PyValue>;

/** An allowed global: a JS function that builds plain data from its arguments, or a marker object. */
export type Allowed = Record<string, ((...args: never[]) => unknown) | object>;

/** A BufferReader that never moves backwards (negative lengths from a corrupt or hostile file). */
class SafeReader extends BufferReader {
  override skip(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new PickleError(`a length of ${offset} bytes (corrupted)`);
    super.skip(offset);
  }
}

/** Refused globals carry their name so the one-line error can say what was refused. */
export class RefusedGlobal extends PickleError {
  constructor(readonly qualified: string) {
    super(`refers to ${qualified}`);
  }
}

/**
 * Unpickle `bytes`, allowing only the globals in `allowed` (keys 'module.name');
 * `persistent` resolves persistent ids (torch.save's storages) or is absent (refused).
 */
export function unpickle(bytes: Uint8Array, allowed: Allowed, persistent?: (id: unknown) => unknown): unknown {
  // Python 3 and torch.save write protocol 2 or later, which opens with PROTO (0x80)
  if (bytes[0] !== 0x80)
    throw new PickleError(`is not a valid pickle (it starts with ${bytes.length ? `byte 0x${bytes[0].toString(16)}` : 'nothing'}, not a protocol-2+ header)`);
  const parser = new Parser({
    nameResolver: {
      resolve: (module: string, name: string) => {
        const key = `${module}.${name}`;
        if (!Object.prototype.hasOwnProperty.call(allowed, key)) throw new RefusedGlobal(key);
        return allowed[key] as never;
      },
    },
    persistentResolver: {
      resolve: (pid: unknown) => {
        if (!persistent) throw new PickleError('holds a persistent reference, which this file should not have');
        return persistent(pid);
      },
    },
    extensionResolver: {
      resolve: (code: number) => {
        throw new PickleError(`uses the extension registry (code ${code}), which a checkpoint does not`);
      },
    },
    unpicklingTypeOfDictionary: 'Map',
    unpicklingTypeOfSet: 'array',
  });
  try {
    return parser.read(new SafeReader(bytes));
  } catch (e) {
    if (e instanceof PickleError) throw e;
    // pickleparser's own errors (end of file, unknown opcode) and TypeErrors from a malformed stack
    throw new PickleError(`is not a valid pickle (${(e as Error).message.split('\n')[0].replace(/\.$/, '')})`);
  }
}

// Protocol-2 opcodes (Python's Lib/pickle.py).
const OP = {
  PROTO: 0x80,
  STOP: 0x2e,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  BINFLOAT: 0x47,
  BINUNICODE: 0x58,
  EMPTY_TUPLE: 0x29,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  MARK: 0x28,
  TUPLE: 0x74,
  EMPTY_LIST: 0x5d,
  APPENDS: 0x65,
  EMPTY_DICT: 0x7d,
  SETITEMS: 0x75,
  GLOBAL: 0x63,
  REDUCE: 0x52,
  BINPERSID: 0x51,
} as const;

class ByteWriter {
  private buf = new Uint8Array(1024);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  view(n: number, f: (v: DataView) => void): void {
    this.ensure(n);
    f(new DataView(this.buf.buffer, this.length, n));
    this.length += n;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const utf8 = new TextEncoder();

/** Serialise a value tree as a protocol-2 pickle (what torch.save writes into data.pkl). */
export function pickle(value: PyValue): Uint8Array {
  const w = new ByteWriter();
  w.byte(OP.PROTO);
  w.byte(2);
  const int = (n: number | bigint) => {
    if (typeof n === 'number' && n >= 0 && n < 256) return (w.byte(OP.BININT1), w.byte(n));
    if (typeof n === 'number' && n >= 0 && n < 65536) return (w.byte(OP.BININT2), w.view(2, (v) => v.setUint16(0, n, true)));
    if (typeof n === 'number' && n >= -(2 ** 31) && n < 2 ** 31) return (w.byte(OP.BININT), w.view(4, (v) => v.setInt32(0, n, true)));
    // LONG1: little-endian two's complement, as short as it goes
    let x = BigInt(n);
    const out: number[] = [];
    for (;;) {
      const b = Number(x & 0xffn);
      out.push(b);
      x >>= 8n;
      if ((x === 0n && (b & 0x80) === 0) || (x === -1n && (b & 0x80) !== 0)) break;
    }
    w.byte(OP.LONG1);
    w.byte(out.length);
    w.bytes(Uint8Array.from(out));
  };
  const str = (s: string) => {
    const b = utf8.encode(s);
    w.byte(OP.BINUNICODE);
    w.view(4, (v) => v.setUint32(0, b.length, true));
    w.bytes(b);
  };
  const items = (m: Map<PyValue, PyValue>) => {
    if (m.size === 0) return;
    w.byte(OP.MARK);
    for (const [k, v] of m) {
      save(k);
      save(v);
    }
    w.byte(OP.SETITEMS);
  };
  const save = (v: PyValue): void => {
    if (v === null) return w.byte(OP.NONE);
    if (v === true) return w.byte(OP.NEWTRUE);
    if (v === false) return w.byte(OP.NEWFALSE);
    if (typeof v === 'bigint') return int(v);
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) return int(v);
      return save(new PyFloat(v));
    }
    if (typeof v === 'string') return str(v);
    if (v instanceof PyFloat) return (w.byte(OP.BINFLOAT), w.view(8, (d) => d.setFloat64(0, v.value, false))); // big-endian, as pickle wants
    if (v instanceof PyTuple) {
      const n = v.items.length;
      if (n === 0) return w.byte(OP.EMPTY_TUPLE);
      if (n > 3) w.byte(OP.MARK);
      v.items.forEach(save);
      return w.byte(n === 1 ? OP.TUPLE1 : n === 2 ? OP.TUPLE2 : n === 3 ? OP.TUPLE3 : OP.TUPLE);
    }
    if (v instanceof PyGlobal) return (w.byte(OP.GLOBAL), w.bytes(utf8.encode(`${v.module}\n${v.name}\n`)));
    if (v instanceof PyReduce) {
      save(v.callable);
      save(v.args);
      w.byte(OP.REDUCE);
      if (v.items) items(v.items);
      return;
    }
    if (v instanceof PyPersistent) return (save(v.id), w.byte(OP.BINPERSID));
    if (Array.isArray(v)) {
      w.byte(OP.EMPTY_LIST);
      if (v.length === 0) return;
      w.byte(OP.MARK);
      v.forEach(save);
      return w.byte(OP.APPENDS);
    }
    if (v instanceof Map) return (w.byte(OP.EMPTY_DICT), items(v));
    throw new PickleError(`cannot pickle ${String(v)}`);
  };
  save(value);
  w.byte(OP.STOP);
  return w.result();
}

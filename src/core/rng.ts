// The one seedable PRNG. Every random choice (init, batch windows, dropout
// seeds, sampling) comes from an Rng, so a seed reproduces a run bit for bit.
// mulberry32: 32-bit state, fast, good enough for ML sampling (not crypto).

export class Rng {
  private state: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller; the second value is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const s = this.spareNormal;
      this.spareNormal = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Independent child stream, so adding a draw in one place does not shift another. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }

  /** Serialisable state (for checkpoints that resume the same batch sequence). */
  getState(): number {
    return this.state;
  }
  setState(state: number): void {
    this.state = state >>> 0;
    this.spareNormal = null;
  }
}

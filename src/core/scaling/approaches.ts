// Chinchilla's three ways to the compute-optimal size, side by side on one
// multi-budget sweep (Hoffmann et al. 2022; shared/SCALING-NOTES.md):
//   1. the lower envelope of the loss-vs-FLOPs curves: per compute C, the size whose
//      curve is lowest there;
//   2. IsoFLOP parabolas: per compute C, a parabola of loss in ln N, its minimum;
//   3. the parametric L(N, D) = E + A/N^α + B/D^β: a = β/(α+β).
// Each gives N_opt ∝ C^a. Intervals are 95% bootstraps that resample whole runs
// (Besiroglu et al. 2024: runs, not checkpoints). Approaches 1 and 2 measure C as
// exact FLOPs (LM head and attention included); approach 3's a is analytic under
// C = 6ND. Pure TypeScript.

import { Rng } from '../rng';
import type { ParamKind } from './analysis';
import { quantile } from './bootstrap';
import type { Interval } from './fit';
import { fitJoint } from './fit-joint';
import { isoFlops, logSlope, lossAt, parabolaMinimum, sizeCurves } from './isoflops';
import type { RunResult } from './sweep-plan';

export interface ApproachResult {
  approach: 1 | 2 | 3;
  name: string;
  /** N_opt ∝ C^a; null when this sweep cannot give it (see note). */
  a: number | null;
  interval: Interval | null;
  /** Bootstrap resamples that gave an exponent (of those drawn). */
  bootstrapSamples: number;
  /** (C, N_opt) pairs the exponent was fitted to (approaches 1 and 2). */
  points: { C: number; Nopt: number }[];
  note: string;
}

/**
 * Approach 1: at compute levels spaced geometrically over the range where 3 or more
 * sizes have a loss, the size with the lowest loss. Levels where the best size is the
 * smallest or the largest available are dropped: there the optimum may lie outside the
 * ladder. Returns the (C, N_opt) pairs and their slope.
 */
export function envelopeOptima(
  runs: RunResult[],
  paramKind: ParamKind = 'nonEmbedding',
  levels = 8,
): { points: { C: number; Nopt: number }[]; a: number | null } {
  const sizes = sizeCurves(runs, paramKind);
  if (sizes.length < 3) return { points: [], a: null };
  const lo = Math.min(...sizes.map((s) => s.lnC[0])),
    hi = Math.max(...sizes.map((s) => s.lnC[s.lnC.length - 1]));
  const points: { C: number; Nopt: number }[] = [];
  for (let k = 0; k < levels; k++) {
    const lnC = lo + ((hi - lo) * (k + 0.5)) / levels;
    const avail = sizes.map((s) => ({ N: s.N, loss: lossAt(s, lnC) })).filter((p): p is { N: number; loss: number } => p.loss !== null);
    if (avail.length < 3) continue;
    let best = 0;
    avail.forEach((p, i) => {
      if (p.loss < avail[best].loss) best = i;
    });
    if (best === 0 || best === avail.length - 1) continue;
    points.push({ C: Math.exp(lnC), Nopt: avail[best].N });
  }
  return { points, a: logSlope(points) };
}

function approach2(runs: RunResult[], paramKind: ParamKind): { points: { C: number; Nopt: number }[]; a: number | null } {
  const iso = isoFlops(runs, paramKind);
  const points = iso.curves.filter((c) => c.Nopt !== null).map((c) => ({ C: c.flops, Nopt: c.Nopt as number }));
  return { points, a: iso.a };
}

/**
 * A sweep with an IsoFLOP design (spec.isoFlops): the runs trained at each of its compute
 * levels, as Chinchilla measured them, rather than losses interpolated between budgets. C is
 * the level's 6ND (the design's own count; the runs of one level differ in exact FLOPs by the
 * attention and LM-head terms, which would scatter them over several interpolated levels).
 */
export function designProfiles(runs: RunResult[], paramKind: ParamKind, firstLevel: number): { C: number; points: { N: number; loss: number }[] }[] {
  const byLevel = new Map<number, RunResult[]>();
  for (const r of runs) if (r.budgetIndex >= firstLevel) byLevel.set(r.budgetIndex, [...(byLevel.get(r.budgetIndex) ?? []), r]);
  return [...byLevel.values()]
    .map((g) => {
      const bySize = new Map<number, number[]>();
      for (const r of g) {
        const N = paramKind === 'total' ? r.params : r.nonEmbeddingParams;
        bySize.set(N, [...(bySize.get(N) ?? []), r.valLoss]);
      }
      const C6 = g.map((r) => r.flops6ND).sort((a, b) => a - b)[Math.floor(g.length / 2)];
      const points = [...bySize.entries()].map(([N, ls]) => ({ N, loss: ls.reduce((a, b) => a + b, 0) / ls.length })).sort((a, b) => a.N - b.N);
      return { C: C6, points };
    })
    .sort((a, b) => a.C - b.C);
}

/** Approach 1 on a design: per level with 3+ sizes, the best size if it is not an end of that level's sizes. */
function designEnvelope(runs: RunResult[], paramKind: ParamKind, firstLevel: number): { points: { C: number; Nopt: number }[]; a: number | null } {
  const points: { C: number; Nopt: number }[] = [];
  for (const lv of designProfiles(runs, paramKind, firstLevel)) {
    if (lv.points.length < 3) continue;
    let best = 0;
    lv.points.forEach((p, i) => {
      if (p.loss < lv.points[best].loss) best = i;
    });
    if (best === 0 || best === lv.points.length - 1) continue;
    points.push({ C: lv.C, Nopt: lv.points[best].N });
  }
  return { points, a: logSlope(points) };
}

/** Approach 2 on a design: per level, the parabola's minimum in ln N when it lies inside that level's sizes. */
function designParabolas(runs: RunResult[], paramKind: ParamKind, firstLevel: number): { points: { C: number; Nopt: number }[]; a: number | null } {
  const points = designProfiles(runs, paramKind, firstLevel)
    .map((lv) => ({ C: lv.C, Nopt: parabolaMinimum(lv.points) }))
    .filter((p): p is { C: number; Nopt: number } => p.Nopt !== null);
  return { points, a: logSlope(points) };
}

function percentile95(values: number[]): Interval | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length < 10) return null;
  return { lo: quantile(v, 0.025), hi: quantile(v, 0.975) };
}

/** Resample runs with replacement; a run drawn twice counts as two seeds of its (size, budget). */
function bootstrapExponent(
  runs: RunResult[],
  samples: number,
  seed: number,
  estimate: (rs: RunResult[]) => number | null,
): { interval: Interval | null; count: number } {
  const rng = new Rng(seed); // seeded: reproducible resamples
  const values: number[] = [];
  for (let s = 0; s < samples; s++) {
    const drawn = Array.from({ length: runs.length }, () => runs[rng.int(runs.length)]);
    const a = estimate(drawn);
    if (a !== null && Number.isFinite(a)) values.push(a);
  }
  return { interval: percentile95(values), count: values.length };
}

export function chinchillaApproaches(
  runs: RunResult[],
  paramKind: ParamKind = 'nonEmbedding',
  opts: { bootstrap?: number; seed?: number; /** The sweep's IsoFLOP design: runs with budgetIndex >= this are its levels. */ isoLevelsFrom?: number } = {},
): ApproachResult[] {
  const B = opts.bootstrap ?? 200,
    seed = opts.seed ?? 20220329;
  if (opts.isoLevelsFrom !== undefined) return designApproaches(runs, paramKind, opts.isoLevelsFrom, B, seed);
  // Approaches 1 and 2 need loss-vs-compute curves: 3 or more sizes with 2 or more budgets.
  const multi = sizeCurves(runs, paramKind).length >= 3;
  const nOf = (r: RunResult) => (paramKind === 'total' ? r.params : r.nonEmbeddingParams);
  const out: ApproachResult[] = [];

  const a1 = envelopeOptima(runs, paramKind);
  const b1 = multi ? bootstrapExponent(runs, B, seed, (rs) => envelopeOptima(rs, paramKind).a) : { interval: null, count: 0 };
  out.push({
    approach: 1,
    name: 'lower envelope of loss vs FLOPs',
    a: a1.a,
    interval: b1.interval,
    bootstrapSamples: b1.count,
    points: a1.points,
    note:
      a1.a === null
        ? 'needs 3+ sizes with 2+ token budgets each and 2+ compute levels whose best size is inside the ladder'
        : `${a1.points.length} compute levels; N_opt is one of the ladder's sizes`,
  });

  const a2 = approach2(runs, paramKind);
  const b2 = multi ? bootstrapExponent(runs, B, seed + 1, (rs) => approach2(rs, paramKind).a) : { interval: null, count: 0 };
  out.push({
    approach: 2,
    name: 'IsoFLOP parabolas',
    a: a2.a,
    interval: b2.interval,
    bootstrapSamples: b2.count,
    points: a2.points,
    note:
      a2.a === null
        ? 'needs 2+ IsoFLOP curves whose parabola has its minimum inside the sizes'
        : `${a2.points.length} IsoFLOP curves with a minimum inside the ladder`,
  });

  out.push(approach3(runs, nOf, B));
  return out;
}

function approach3(runs: RunResult[], nOf: (r: RunResult) => number, B: number): ApproachResult {
  let a3: ApproachResult = { approach: 3, name: 'parametric L(N, D)', a: null, interval: null, bootstrapSamples: 0, points: [], note: '' };
  try {
    const j = fitJoint(
      runs.map((r) => ({ N: nOf(r), D: r.tokens, loss: r.valLoss })),
      { bootstrap: B },
    );
    const ok = Number.isFinite(j.a);
    a3 = {
      ...a3,
      a: ok ? j.a : null,
      interval: Number.isFinite(j.intervals.a.lo) ? j.intervals.a : null,
      bootstrapSamples: j.bootstrapSamples,
      note: ok ? `a = β/(α+β) with α = ${j.alpha.toFixed(3)}, β = ${j.beta.toFixed(3)} (C = 6ND)` : 'the fit has α or β <= 0: no interior optimum',
    };
  } catch (e) {
    a3.note = (e as Error).message;
  }
  return a3;
}

function designApproaches(runs: RunResult[], paramKind: ParamKind, firstLevel: number, B: number, seed: number): ApproachResult[] {
  const nOf = (r: RunResult) => (paramKind === 'total' ? r.params : r.nonEmbeddingParams);
  const levels = designProfiles(runs, paramKind, firstLevel).length;
  const a1 = designEnvelope(runs, paramKind, firstLevel);
  const b1 = bootstrapExponent(runs, B, seed, (rs) => designEnvelope(rs, paramKind, firstLevel).a);
  const a2 = designParabolas(runs, paramKind, firstLevel);
  const b2 = bootstrapExponent(runs, B, seed + 1, (rs) => designParabolas(rs, paramKind, firstLevel).a);
  const at = "at the sweep's IsoFLOP levels (C = 6ND)";
  return [
    {
      approach: 1,
      name: 'lower envelope of loss vs FLOPs',
      a: a1.a,
      interval: b1.interval,
      bootstrapSamples: b1.count,
      points: a1.points,
      note:
        a1.a === null
          ? `${a1.points.length} of ${levels} IsoFLOP levels have their best size inside the level's sizes; an exponent needs 2`
          : `${a1.points.length} of ${levels} levels ${at} with the best size inside; N_opt is one of the ladder's sizes`,
    },
    {
      approach: 2,
      name: 'IsoFLOP parabolas',
      a: a2.a,
      interval: b2.interval,
      bootstrapSamples: b2.count,
      points: a2.points,
      note:
        a2.a === null
          ? `${a2.points.length} of ${levels} IsoFLOP levels have a parabola minimum inside their sizes; an exponent needs 2`
          : `${a2.points.length} of ${levels} levels ${at} with a parabola minimum inside their sizes`,
    },
    approach3(runs, nOf, B),
  ];
}

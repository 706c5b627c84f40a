// Principal components of a small matrix in plain TypeScript: the page's
// embedding map (V rows of width C, both small). The C x C covariance, then
// its two leading eigenvectors by power iteration with deflation.

/**
 * Project the rows of `x` ([rows, cols], row-major) onto their first two
 * principal components. Returns the coordinates and each component's share
 * of the total variance. Signs are fixed so the largest |loading| is positive
 * (the map does not flip between evaluations without reason).
 */
export function pca2(x: ArrayLike<number>, rows: number, cols: number): { coords: [number, number][]; explained: [number, number] } {
  if (x.length !== rows * cols) throw new Error(`pca2: ${x.length} values for a ${rows} x ${cols} matrix`);
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] += x[r * cols + c] / rows;
  const centred = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) centred[r * cols + c] = x[r * cols + c] - mean[c];
  // Covariance [cols, cols] (the 1/rows factor cancels in the shares).
  const cov = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let i = 0; i < cols; i++) {
      const xi = centred[o + i];
      if (xi === 0) continue;
      for (let j = 0; j < cols; j++) cov[i * cols + j] += xi * centred[o + j];
    }
  }
  let trace = 0;
  for (let i = 0; i < cols; i++) trace += cov[i * cols + i];
  const comps: Float64Array[] = [];
  const values: number[] = [];
  for (let k = 0; k < 2; k++) {
    // Deterministic start, not orthogonal to any component of a generic matrix.
    let v = new Float64Array(cols).map((_, i) => 1 + ((i * 7919) % 13) / 13);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(cols);
      for (let i = 0; i < cols; i++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += cov[i * cols + j] * v[j];
        w[i] = s;
      }
      for (const u of comps) {
        let d = 0;
        for (let i = 0; i < cols; i++) d += w[i] * u[i];
        for (let i = 0; i < cols; i++) w[i] -= d * u[i];
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      for (let i = 0; i < cols; i++) w[i] /= norm;
      let diff = 0;
      for (let i = 0; i < cols; i++) diff = Math.max(diff, Math.abs(w[i] - v[i]));
      v = w;
      lambda = norm;
      if (diff < 1e-10) break;
    }
    let big = 0;
    for (let i = 0; i < cols; i++) if (Math.abs(v[i]) > Math.abs(v[big])) big = i;
    if (v[big] < 0) v = v.map((a) => -a);
    comps.push(v);
    values.push(lambda);
  }
  const coords: [number, number][] = [];
  for (let r = 0; r < rows; r++) {
    const p = [0, 0];
    for (let k = 0; k < 2; k++) for (let c = 0; c < cols; c++) p[k] += centred[r * cols + c] * comps[k][c];
    coords.push([p[0], p[1]]);
  }
  const share = (l: number) => (trace > 0 ? l / trace : 0);
  return { coords, explained: [share(values[0]), share(values[1])] };
}

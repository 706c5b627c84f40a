// Number formatting shared by the pages and the CLI: durations, sizes, losses, counts.

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '–';
  const whole = Math.round(sec); // round first: 299.6 s is 5m00s, not 4m60s
  if (whole < 60) return `${whole}s`;
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m}m${String(whole - 60 * m).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 2 ** 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 2 ** 30) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 2 ** 30).toFixed(2)} GiB`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Parameters as "1.2M" / "85.3k". */
export function formatParams(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export type LossUnits = 'nats' | 'bpc';

/** A loss in nats shown in the chosen units. */
export function formatLoss(nats: number | null | undefined, units: LossUnits): string {
  if (nats === null || nats === undefined || !Number.isFinite(nats)) return '–';
  return units === 'bpc' ? `${(nats / Math.LN2).toFixed(3)} bpc` : `${nats.toFixed(3)} nats`;
}

export function formatDate(ms: number): string {
  const d = new Date(ms);
  const pad = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

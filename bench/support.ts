/** Small helpers shared by the benchmarks: medians, RSS sampling, a result table. */

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

let peak = 0;

export function startRssSampler(intervalMs = 100): { stop: () => void } {
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

export function peakRss(): number {
  return peak;
}

/** rows: [name, value, baseline, baseline name] — prints value, baseline and value/baseline. */
export function printTable(title: string, rows: Array<[string, number, number, string]>): void {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(`| measurement | median | baseline | ratio | baseline is |\n|---|---:|---:|---:|---|\n`);
  for (const [name, value, base, baseName] of rows) {
    process.stdout.write(`| ${name} | ${fmt(value)} | ${fmt(base)} | ${(value / base).toFixed(2)} | ${baseName} |\n`);
  }
}

/** Human-readable sizes and durations, shared by the CLI, job summaries and status posts. */
export function formatBytes(bytes: unknown): string {
  let v = Number(bytes ?? 0);
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(ms: unknown): string {
  const n = Number(ms ?? 0);
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 120_000) return `${(n / 1000).toFixed(1)} s`;
  return `${Math.floor(n / 60_000)} min ${Math.round((n % 60_000) / 1000)} s`;
}

/** A count with its noun in the right number: "1 file", "0 files", "2 entries" (plural given when not noun + s). */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

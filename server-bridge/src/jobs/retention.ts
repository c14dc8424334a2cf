/**
 * Which snapshots to keep: keep-last, then the newest snapshot of each of the last N days, ISO
 * weeks and months (in the host's time zone), plus the newest snapshot that passed verification.
 * Pure: no I/O, so the policy is tested on its own.
 */
export interface RetentionPolicy {
  keepLast: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
}

export interface SnapshotRef {
  id: string;
  time: Date;
  verified: boolean;
}

export interface PrunePlan {
  keep: Array<{ id: string; reasons: string[] }>;
  remove: string[];
}

export function planRetention(snapshots: SnapshotRef[], policy: RetentionPolicy): PrunePlan {
  const newestFirst = [...snapshots].sort((a, b) => b.time.getTime() - a.time.getTime() || b.id.localeCompare(a.id));
  const reasons = new Map<string, string[]>();
  const keep = (id: string, why: string) => reasons.set(id, [...(reasons.get(id) ?? []), why]);
  newestFirst.slice(0, Math.max(1, policy.keepLast)).forEach((s) => keep(s.id, 'last'));
  const buckets = (n: number, key: (d: Date) => string, label: string) => {
    const seen = new Set<string>();
    for (const s of newestFirst) {
      if (seen.size >= n) break;
      const k = key(s.time);
      if (seen.has(k)) continue;
      seen.add(k);
      keep(s.id, `${label} ${k}`);
    }
  };
  buckets(policy.keepDaily, (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`, 'daily');
  buckets(policy.keepWeekly, isoWeek, 'weekly');
  buckets(policy.keepMonthly, (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}`, 'monthly');
  const verified = newestFirst.find((s) => s.verified);
  if (verified) keep(verified.id, 'newest verified');
  return {
    keep: newestFirst
      .filter((s) => reasons.has(s.id))
      .map((s) => ({ id: s.id, reasons: reasons.get(s.id) as string[] })),
    remove: newestFirst.filter((s) => !reasons.has(s.id)).map((s) => s.id),
  };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function isoWeek(d: Date): string {
  const t = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  const day = (t.getDay() + 6) % 7; // Monday = 0
  t.setDate(t.getDate() - day + 3); // Thursday of this week decides the year
  const firstThursday = new Date(t.getFullYear(), 0, 4);
  const week =
    1 + Math.round(((t.getTime() - firstThursday.getTime()) / 86400000 - 3 + ((firstThursday.getDay() + 6) % 7)) / 7);
  return `${t.getFullYear()}-W${pad(week)}`;
}

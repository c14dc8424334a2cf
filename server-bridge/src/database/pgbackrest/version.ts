/**
 * Which pgBackRest release reads which PostgreSQL major (from pgBackRest's release notes:
 * 15 in 2.39, 16 in 2.46, 17 in 2.53.1, 18 in 2.55.0), and the oldest release we build on.
 */
import { PreconditionError, ProcessError } from '../../core/errors';

export type Version = readonly [number, number, number];

/** The oldest pgBackRest physical mode is written and tested against (Debian 12's package). */
export const MIN_PGBACKREST: Version = [2, 45, 0];
/** Mattermost itself needs PostgreSQL 11 or newer; below that there is nothing to support. */
const MIN_POSTGRES_MAJOR = 11;
const NEEDS: Record<number, Version> = { 16: [2, 46, 0], 17: [2, 53, 1], 18: [2, 55, 0] };
const NEWEST_KNOWN_MAJOR = 18;

/** Parses `pgBackRest 2.45` (the output of `pgbackrest version`); throws on anything else. */
export function parsePgBackRestVersion(output: string): Version {
  const m = /^pgBackRest (\d+)\.(\d+)(?:\.(\d+))?(?:dev)?\s*$/.exec(output.trim());
  if (!m) {
    throw new ProcessError(`pgbackrest version printed something unexpected: ${JSON.stringify(output.slice(0, 80))}`);
  }
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function formatVersion(v: Version): string {
  return v[2] ? v.join('.') : `${v[0]}.${v[1]}`;
}

function atLeast(v: Version, min: Version): boolean {
  for (let i = 0; i < 3; i++) if ((v[i] as number) !== (min[i] as number)) return (v[i] as number) > (min[i] as number);
  return true;
}

/** Refuses a pgBackRest older than ours or than the cluster's PostgreSQL major needs, saying which to install. */
export function checkSupported(pgbackrest: Version, postgresMajor: number): void {
  const have = formatVersion(pgbackrest);
  if (postgresMajor < MIN_POSTGRES_MAJOR) {
    throw new PreconditionError(
      'VERSION_MISMATCH',
      `PostgreSQL ${postgresMajor} is older than Mattermost supports (${MIN_POSTGRES_MAJOR} or newer); physical mode is not offered for it`,
      { hint: 'upgrade PostgreSQL first (logical dumps keep working meanwhile)' },
    );
  }
  if (postgresMajor > NEWEST_KNOWN_MAJOR) {
    throw new PreconditionError(
      'VERSION_MISMATCH',
      `PostgreSQL ${postgresMajor} is newer than this mm-backup knows pgBackRest support for (up to ${NEWEST_KNOWN_MAJOR})`,
      { hint: 'upgrade mm-backup (and pgBackRest); logical dumps keep working meanwhile' },
    );
  }
  const need = [MIN_PGBACKREST, NEEDS[postgresMajor] ?? MIN_PGBACKREST].reduce((a, b) => (atLeast(a, b) ? a : b));
  if (!atLeast(pgbackrest, need)) {
    throw new PreconditionError(
      'VERSION_MISMATCH',
      `pgBackRest ${have} is too old for PostgreSQL ${postgresMajor}: ${formatVersion(need)} or newer is needed`,
      {
        hint: `install pgBackRest ${formatVersion(need)} or newer (apt.postgresql.org has current releases), then run pitr enable again`,
      },
    );
  }
}

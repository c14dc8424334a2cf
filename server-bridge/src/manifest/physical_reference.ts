/**
 * The database part of a snapshot taken in physical mode: instead of a dump, a reference to a
 * pgBackRest backup and the WAL position the snapshot's database is consistent at (docs/pitr.md,
 * "Snapshots in physical mode"). A manifest is input: every field is checked strictly here, and
 * the ones that reach pgbackrest's argv (label, LSN, timeline) only ever in these shapes.
 */
import { z } from 'zod';

/** pgBackRest's backup labels: a full `YYYYMMDD-HHMMSSF`, a diff or incr `<full>_YYYYMMDD-HHMMSS{D,I}`. */
export const PGBACKREST_LABEL = /^\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?$/;
/** A PostgreSQL LSN as pg_lsn prints it. */
export const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;
/** A WAL segment file name: timeline, then the segment number. */
export const WAL_SEGMENT = /^[0-9A-F]{24}$/;
const STANZA = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const physicalReferenceSchema = z
  .strictObject({
    tool: z.literal('pgbackrest'),
    stanza: z.string().regex(STANZA),
    /** The backup a restore starts from (`--set`): the newest on this timeline when the snapshot was taken. */
    label: z.string().regex(PGBACKREST_LABEL),
    backupType: z.enum(['full', 'diff', 'incr']),
    /** When that backup is consistent (its stop): the reference is never older than this. */
    backupStoppedAt: z.iso.datetime(),
    /** The snapshot's point: recovery stops just before the first WAL record at or after it. */
    lsn: z.string().regex(LSN),
    /** The timeline the point is on (recovery follows it, not the newest in the archive). */
    timeline: z.number().int().min(1).max(0xffffffff),
    /** The segment switched to after the point; archived before the manifest was written. */
    segment: z.string().regex(WAL_SEGMENT),
    /** The time the database part is consistent at (when the point was read). */
    at: z.iso.datetime({ offset: true }),
    /** Server and database, never credentials (as a dump's record says it). */
    target: z.string(),
    serverVersion: z.string(),
  })
  .superRefine((r, ctx) => {
    if (parseInt(r.segment.slice(0, 8), 16) !== r.timeline) {
      ctx.addIssue({ code: 'custom', message: `segment ${r.segment} is not on timeline ${r.timeline}` });
    }
    if (Date.parse(r.backupStoppedAt) > Date.parse(r.at)) {
      ctx.addIssue({ code: 'custom', message: 'the backup stops after the point it is said to reach' });
    }
  });
export type PhysicalReference = z.infer<typeof physicalReferenceSchema>;

/** The timeline of a WAL segment name. */
export function segmentTimeline(segment: string): number {
  return parseInt(segment.slice(0, 8), 16);
}

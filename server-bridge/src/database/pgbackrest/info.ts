/**
 * `pgbackrest info --output=json`, checked with zod: it is a child process's output, so only the
 * fields we read are required and everything else is ignored.
 */
import { z } from 'zod';
import { ProcessError } from '../../core/errors';
import { PGBACKREST_LABEL } from '../../manifest/physical_reference';

/**
 * A time pgBackRest prints (Unix seconds): from 1970 to the end of 9999. The repository is
 * written by others (a bucket, postgres): a time a Date cannot hold would fail far from here,
 * in whatever formats it (a RangeError with no word of where the value came from).
 */
export const unixSeconds = z.number().min(0).max(253_402_300_799);

const statusSchema = z.object({ code: z.number().int(), message: z.string() });

const stanzaInfoSchema = z.object({
  name: z.string(),
  status: statusSchema,
  cipher: z.string().optional(),
  db: z.array(z.object({ id: z.number().int(), version: z.string(), 'system-id': z.number().optional() })).default([]),
  archive: z
    .array(
      z.object({
        id: z.string(),
        min: z.string().nullable().optional(),
        max: z.string().nullable().optional(),
      }),
    )
    .default([]),
  backup: z
    .array(
      z.object({
        /** As pgBackRest names backups: a label from backup.info reaches argv, terminals and posts. */
        label: z.string().regex(PGBACKREST_LABEL),
        type: z.string(),
        timestamp: z.object({ start: unixSeconds, stop: unixSeconds }),
        /** The first and last WAL segment the backup needs to reach consistency. */
        archive: z.object({ start: z.string().nullable(), stop: z.string().nullable() }).optional(),
        /** The backup's start and stop WAL positions (2.45 prints them with --output=json). */
        lsn: z.object({ start: z.string(), stop: z.string() }).optional(),
        /** The backup a diff or incr is based on (null for a full). */
        prior: z.string().regex(PGBACKREST_LABEL).nullable().optional(),
        /**
         * Only with `info --set=<label>` (2.45 reads that backup's manifest): its tablespaces, null
         * when it has none; absent without --set.
         */
        tablespace: z
          .array(z.object({ name: z.string(), destination: z.string(), oid: z.number().int() }))
          .nullable()
          .optional(),
        /** size: the database's bytes once restored (what a restore needs on disk). */
        info: z.object({ size: z.number() }).optional(),
      }),
    )
    .default([]),
});

export type StanzaInfo = z.output<typeof stanzaInfoSchema>;
export type BackupInfo = StanzaInfo['backup'][number];

/** Parses the JSON text; throws ProcessError naming the first mismatch (never echoing the whole output). */
export function parseInfo(text: string): StanzaInfo[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProcessError('pgbackrest info did not print JSON', { cause: err });
  }
  const parsed = z.array(stanzaInfoSchema).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProcessError(
      `pgbackrest info printed JSON of an unexpected shape (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown'})`,
    );
  }
  return parsed.data;
}

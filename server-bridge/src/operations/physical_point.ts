/**
 * What a restore of a snapshot in physical mode checks of its reference before anything stops:
 * the reference comes from a manifest (input, though signed), and the backup it names must still
 * be in pgBackRest's repository, be this stanza's, and be consistent before the point.
 */
import { BridgeError, PreconditionError } from '../core/errors';
import type { StanzaInfo } from '../database/pgbackrest/info';
import type { Manifest } from '../manifest/manifest';
import { segmentTimeline, type PhysicalReference } from '../manifest/physical_reference';

/** The physical reference of `m`'s main database, or undefined when it holds a dump or no database. */
export function physicalPointOf(m: Manifest): PhysicalReference | undefined {
  return m.components.find((c) => c.id === 'database' && c.status === 'included')?.physical;
}

/**
 * Refuses, with what to do, a reference that cannot be restored here: another stanza, a backup
 * pgBackRest no longer has (expired with pitr.window), or one that stops after the point.
 * `window` is the recovery window as people read it.
 */
export function checkPointUsable(
  m: Manifest,
  point: PhysicalReference,
  stanza: StanzaInfo | undefined,
  configuredStanza: string,
  window: string,
): void {
  const alternatives = `restore a snapshot that holds a logical dump (mm-backup list: database "dump"), or restore --at a time inside the recovery window ${window}`;
  if (point.stanza !== configuredStanza) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `snapshot ${m.id} refers to pgBackRest stanza ${point.stanza}, but this install's is ${configuredStanza} (pitr.stanza); nothing was changed`,
      { hint: alternatives },
    );
  }
  const set = stanza?.backup.find((b) => b.label === point.label);
  if (!set) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the pgBackRest backup ${point.label} that snapshot ${m.id}'s database refers to is no longer in the repository (expired: pitr.window keeps backups and WAL only that far back); nothing was changed`,
      { hint: alternatives, details: { label: point.label, consistent_at: point.at } },
    );
  }
  // The backup's last WAL segment is on the point's timeline and not after the point's segment
  // (names of one timeline sort in WAL order): a reference made here always is; one that is not
  // would recover to somewhere else than it says (or fail half-way through the restore).
  const stop = set.archive?.stop;
  if (stop && (segmentTimeline(stop) !== point.timeline || stop > point.segment)) {
    throw new BridgeError(
      'VERIFICATION_FAILED',
      `snapshot ${m.id} refers to WAL segment ${point.segment} (timeline ${point.timeline}), but pgBackRest backup ${point.label} ends at ${stop}: the reference does not fit the repository; nothing was changed`,
      { hint: alternatives },
    );
  }
  if (set.timestamp.stop * 1000 > Date.parse(point.at)) {
    throw new BridgeError(
      'VERIFICATION_FAILED',
      `snapshot ${m.id} refers to pgBackRest backup ${point.label}, which stops after the snapshot's point (${point.at}): the reference does not fit the repository; nothing was changed`,
      { hint: alternatives },
    );
  }
}

/** Manifests with their file indexes in memory, for tests that read or edit entries directly. */
import { FORMAT_VERSION, type Entry, type Manifest } from '../../src/manifest/manifest';
import { manifestText } from '../../src/manifest/manifest_io';
import {
  wholeManifest,
  type WholeComponent as PlainComponent,
  type WholeManifest as PlainManifest,
} from '../../src/manifest/whole_manifest';

export type { PlainComponent, PlainManifest };

/** A copy of `m` whose entry streams are read into arrays. */
export function materialize(m: Manifest): Promise<PlainManifest> {
  return wholeManifest(m);
}

/** The exact text the repository writes for `m`. */
export async function manifestString(m: Manifest): Promise<string> {
  let out = '';
  for await (const s of manifestText(m)) out += s;
  return out;
}

/** A manifest whose components (comp_a, comp_b, …) hold the given entry lists as they are. */
export function manifestOf(lists: Entry[][]): PlainManifest {
  return {
    format: 'mm-backup-snapshot',
    formatVersion: 1,
    id: '20260101T030000Z-a1b2c3',
    startedAt: '2026-01-01T03:00:00.000Z',
    finishedAt: '2026-01-01T03:01:00.000Z',
    mode: 'offline',
    trigger: 'cli',
    host: 'h',
    installDir: '/opt/mattermost',
    mattermost: { configSource: 'file', fileDriver: 'local' },
    components: lists.map((entries, c) => ({
      id: `comp_${'abcdefgh'[c]}`,
      title: `C${c}`,
      status: 'included',
      exclude: [],
      entries,
      files: entries.length,
      bytes: 0,
      newBytes: 0,
      filesRead: 0,
      durationMs: 0,
    })),
    stats: { files: 0, bytes: 0, newBytes: 0, filesRead: 0, durationMs: 0, downtimeMs: 0 },
  };
}

/**
 * A manifest of one `data` component naming the given objects as files f0, f1, … (in that
 * order), its counts and byte totals the sums of theirs: what a repository test commits after
 * ingesting those objects itself.
 */
export function dataManifest(
  id: string,
  objects: Array<{ sha256: string; size: number }>,
  trigger: Manifest['trigger'] = 'cli',
): Manifest {
  const entries = objects.map((o, i) => ({
    path: `f${i}`,
    type: 'file' as const,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: '1',
    size: o.size,
    sha256: o.sha256,
  }));
  const files = objects.length;
  const bytes = objects.reduce((n, o) => n + o.size, 0);
  return {
    format: 'mm-backup-snapshot',
    formatVersion: FORMAT_VERSION,
    id,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    mode: 'online',
    trigger,
    host: 'h',
    installDir: '/opt/mattermost',
    mattermost: { configSource: 'file', fileDriver: 'local' },
    components: [
      {
        id: 'data',
        title: 'Data',
        status: 'included',
        exclude: [],
        entries,
        files,
        bytes,
        newBytes: bytes,
        filesRead: files,
        durationMs: 1,
      },
    ],
    stats: { files, bytes, newBytes: bytes, filesRead: files, durationMs: 1, downtimeMs: 0 },
  };
}

/**
 * Just enough of a manifest for the restore's presence check (operations/object_presence.ts): one
 * included `data` component rooted at /srv/data holding `entries` as they are.
 */
export function presenceManifest(entries: Entry[]): Manifest {
  const [c] = manifestOf([entries]).components;
  return { components: [{ ...c, id: 'data', title: 'File store', root: '/srv/data' }] } as unknown as Manifest;
}

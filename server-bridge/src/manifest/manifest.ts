/**
 * The snapshot manifest: the only description of a snapshot, written last and atomically to
 * snapshots/<id>.json. A snapshot whose manifest is missing or does not parse does not exist.
 * Raise the version on any incompatible change; readers refuse versions they do not know.
 * Version 1: every database part is a dump. Version 2 adds the physical reference of a snapshot
 * taken in physical mode (physical_reference.ts); it is written only by such snapshots, so every
 * other snapshot stays readable by versions that know only 1.
 */
import { z } from 'zod';
import type { EntryList, EntryStream } from './entry_list';
import { physicalReferenceSchema } from './physical_reference';
import { entryPathProblem, rootInInstallProblem } from './restore_safety';

/** The version of a manifest whose database parts are dumps. */
export const FORMAT_VERSION = 1;
/** The version of a manifest that holds a physical reference. */
export const PHYSICAL_FORMAT_VERSION = 2;
export const SNAPSHOT_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** Paths come from whoever wrote the manifest: refused here so that no reader ever acts on one. */
function problem(ctx: z.RefinementCtx, value: string, bad: string | undefined): void {
  if (bad) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} ${bad}` });
}

export const entrySchema = z.strictObject({
  /** Relative to the component root, '/'-separated; '' is the root itself. */
  path: z.string().superRefine((p, ctx) => problem(ctx, p, entryPathProblem(p))),
  type: z.enum(['file', 'dir', 'symlink']),
  mode: z.number().int().min(0).max(0o7777),
  uid: z.number().int().min(0),
  gid: z.number().int().min(0),
  /** Nanoseconds since the epoch, as a decimal string (full precision). */
  mtime: z.string().regex(/^\d+$/),
  size: z.number().int().min(0).optional(),
  sha256: z.string().regex(SHA256).optional(),
  target: z.string().optional(),
  ino: z.number().int().min(0).optional(),
});
export type Entry = z.infer<typeof entrySchema>;

const ENTRY_KEYS = new Set(['path', 'type', 'mode', 'uid', 'gid', 'mtime', 'size', 'sha256', 'target', 'ino']);
const ENTRY_TYPES = new Set(['file', 'dir', 'symlink']);
const DIGITS = /^\d+$/;
const isCount = (v: unknown, max = Number.MAX_SAFE_INTEGER): boolean =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;

/**
 * entrySchema's common case without zod: true only for a plain object that entrySchema accepts
 * as it is. Anything else is left to entrySchema, which decides and names the problem, so this
 * may refuse more than the schema but never accepts what it refuses (a test holds the two
 * together). Why: zod's call and its garbage were 2-2.5 s of loading a million-entry manifest,
 * which every restore and every backup with a parent does.
 */
export function isPlainEntry(e: unknown): e is Entry {
  if (typeof e !== 'object' || e === null || Object.getPrototypeOf(e) !== Object.prototype) return false;
  const o = e as Record<string, unknown>;
  for (const k in o) if (!Object.hasOwn(o, k) || !ENTRY_KEYS.has(k)) return false;
  return (
    typeof o.path === 'string' &&
    entryPathProblem(o.path) === undefined &&
    typeof o.type === 'string' &&
    ENTRY_TYPES.has(o.type) &&
    isCount(o.mode, 0o7777) &&
    isCount(o.uid) &&
    isCount(o.gid) &&
    typeof o.mtime === 'string' &&
    DIGITS.test(o.mtime) &&
    (o.size === undefined || isCount(o.size)) &&
    (o.sha256 === undefined || (typeof o.sha256 === 'string' && SHA256.test(o.sha256))) &&
    (o.target === undefined || typeof o.target === 'string') &&
    (o.ino === undefined || isCount(o.ino))
  );
}

/** entrySchema.safeParse, by way of isPlainEntry: an entry that passes that is returned as it is. */
export function checkEntry(e: unknown): ReturnType<typeof entrySchema.safeParse> {
  return isPlainEntry(e) ? { success: true, data: e } : entrySchema.safeParse(e);
}

/** Orders entries by path in UTF-16 code units (not by locale): the order a manifest lists them in. */
export function byPath(a: { path: string }, b: { path: string }): number {
  if (a.path === b.path) return 0;
  return a.path < b.path ? -1 : 1;
}

export const databaseInfoSchema = z.strictObject({
  driver: z.enum(['postgres', 'mysql']),
  /** Server and database, never credentials. */
  target: z.string(),
  serverVersion: z.string(),
  tool: z.string(),
  format: z.enum(['pg_custom', 'mysql_sql']),
  compression: z.enum(['zstd', 'none']),
  /** Only these tables were dumped (the config store); absent means the whole database. */
  tables: z.array(z.string()).optional(),
  rowCounts: z.record(z.string(), z.number().int().min(0)),
  object: z.string().regex(SHA256),
  size: z.number().int().min(0),
});
export type DatabaseInfo = z.infer<typeof databaseInfoSchema>;

export const componentSchema = z.strictObject({
  id: z.string().regex(/^[a-z_]+$/),
  title: z.string(),
  status: z.enum(['included', 'skipped']),
  reason: z.string().optional(),
  /** Absolute root at backup time, and relative to the install dir when inside it. */
  root: z.string().optional(),
  rootInInstall: z
    .string()
    .superRefine((p, ctx) => problem(ctx, p, rootInInstallProblem(p)))
    .optional(),
  /** Paths under root that belong to other components or were excluded; restore leaves them alone. */
  exclude: z.array(z.string()).default([]),
  entries: z.array(entrySchema).default([]),
  database: databaseInfoSchema.optional(),
  /** Physical mode: the database as a pgBackRest backup and a WAL position, instead of a dump (version 2). */
  physical: physicalReferenceSchema.optional(),
  files: z.number().int().min(0).default(0),
  bytes: z.number().int().min(0).default(0),
  newBytes: z.number().int().min(0).default(0),
  /** Files whose content was read; the rest were unchanged since the parent snapshot. */
  filesRead: z.number().int().min(0).default(0),
  durationMs: z.number().min(0).default(0),
});
/** A component as a manifest records it; its file index is a list or a stream (entry_list.ts). */
export type ComponentRecord = Omit<z.infer<typeof componentSchema>, 'entries'> & { entries: EntryList };

export const manifestSchema = z
  .strictObject({
    format: z.literal('mm-backup-snapshot'),
    formatVersion: z.union([z.literal(FORMAT_VERSION), z.literal(PHYSICAL_FORMAT_VERSION)]),
    id: z.string().regex(SNAPSHOT_ID),
    parent: z.string().regex(SNAPSHOT_ID).optional(),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime(),
    mode: z.enum(['offline', 'online']),
    trigger: z.enum(['cli', 'schedule', 'console', 'slash', 'safety', 'api']),
    host: z.string(),
    installDir: z.string(),
    mattermost: z.strictObject({
      version: z.string().optional(),
      schemaVersion: z.number().int().optional(),
      configSource: z.enum(['file', 'database']),
      fileDriver: z.string(),
    }),
    components: z.array(componentSchema),
    stats: z.strictObject({
      files: z.number().int().min(0),
      bytes: z.number().int().min(0),
      newBytes: z.number().int().min(0),
      filesRead: z.number().int().min(0),
      durationMs: z.number().min(0),
      downtimeMs: z.number().min(0),
    }),
  })
  .superRefine((m, ctx) => {
    m.components.forEach((c, i) => {
      if (!c.physical) return;
      let bad: string | undefined;
      if (m.formatVersion < PHYSICAL_FORMAT_VERSION) {
        bad = `a physical reference needs format version ${PHYSICAL_FORMAT_VERSION}`;
      } else if (c.id === 'database') {
        if (c.database) bad = 'a record is a dump or a physical reference, not both';
      } else {
        bad = 'only the main database can be a physical reference';
      }
      if (bad) ctx.addIssue({ code: 'custom', path: ['components', i, 'physical'], message: bad });
    });
  });
export type Manifest = Omit<z.infer<typeof manifestSchema>, 'components'> & { components: ComponentRecord[] };

/** Every object a manifest references (dedup keys), streamed; an object may be named more than once. */
export async function* referencedObjects(m: Manifest): AsyncGenerator<string> {
  for (const c of m.components) {
    if (c.database) yield c.database.object;
    for await (const e of c.entries) if (e.sha256) yield e.sha256;
  }
}

function isStream(list: unknown): list is EntryStream {
  return !!list && typeof list === 'object' && Symbol.asyncIterator in list;
}

type Issue = { path: PropertyKey[]; message: string; code?: string; keys?: string[] };

/**
 * Validates a manifest without copying its file index: the head is checked (and defaulted) by
 * manifestSchema, each listed entry by entrySchema, and the entries kept are the input's own
 * objects. An entry stream is kept as it is: whoever made it checked its entries (entry_spool.ts).
 */
export function parseManifest(raw: unknown): { success: true; data: Manifest } | { success: false; issues: Issue[] } {
  const comps = (raw as { components?: unknown } | null)?.components;
  if (!raw || typeof raw !== 'object' || !Array.isArray(comps)) {
    const res = manifestSchema.safeParse(raw);
    return res.success ? { success: true, data: res.data } : { success: false, issues: res.error.issues };
  }
  const items: unknown[] = comps;
  const lists = items.map((c) => {
    const list = c && typeof c === 'object' ? (c as { entries?: unknown }).entries : undefined;
    return Array.isArray(list) || isStream(list) ? (list as unknown[] | EntryStream) : undefined;
  });
  const head = {
    ...raw,
    components: items.map((c, i) => (lists[i] ? { ...(c as object), entries: [] } : c)),
  };
  const res = manifestSchema.safeParse(head);
  if (!res.success) return { success: false, issues: res.error.issues };
  const issues: Issue[] = [];
  const components: ComponentRecord[] = res.data.components;
  lists.forEach((list, ci) => {
    if (Array.isArray(list)) {
      list.forEach((e, ei) => {
        if (issues.length >= 10) return;
        const r = checkEntry(e);
        if (!r.success) {
          issues.push(
            ...(r.error.issues as Issue[]).map((x) => ({ ...x, path: ['components', ci, 'entries', ei, ...x.path] })),
          );
        }
      });
    }
    const comp = components[ci];
    if (list && comp) comp.entries = list as EntryList;
  });
  return issues.length ? { success: false, issues } : { success: true, data: { ...res.data, components } };
}

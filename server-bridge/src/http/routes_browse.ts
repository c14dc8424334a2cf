/**
 * The snapshot browser's routes (admin-only like every route not marked public, route_guard.ts):
 * a directory page of a snapshot's file tree, and a download of one file or directory, streamed.
 */
import { ROUTES } from '@mm-backup/api';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { pipeline } from 'node:stream/promises';
import { SnapshotBrowser, type Download } from '../operations/snapshot_browse';
import type { Repository } from '../repository/repository';
import type { SidecarApi } from './sidecar_api';
import { route } from './typed_route';

// One browser per repository (a settings change opens a new one), so its kept manifests go with it.
const browsers = new WeakMap<Repository, SnapshotBrowser>();

function browserOf(s: SidecarApi): SnapshotBrowser {
  const { repo, trust } = s.ec();
  let b = browsers.get(repo);
  if (!b) {
    b = new SnapshotBrowser(repo, trust);
    browsers.set(repo, b);
  }
  return b;
}

export function browseRoutes(app: FastifyInstance, s: SidecarApi): void {
  route(app, ROUTES.snapshotTree, s.log, async ({ params, query }) => {
    const t = await browserOf(s).tree({ snapshotId: params.id, ...query });
    return {
      snapshot_id: t.snapshotId,
      component: t.component,
      path: t.path,
      secrets: t.secrets,
      downloadable: t.downloadable,
      trust: t.trust,
      // A component that holds secrets shows names only: not even sizes or times.
      entries: t.children.map((c) =>
        t.secrets
          ? { name: c.name, type: c.type }
          : {
              name: c.name,
              type: c.type,
              size: c.type === 'file' ? (c.entry?.size ?? 0) : undefined,
              mtime: c.entry ? nsToIso(c.entry.mtime) : undefined,
              files: c.type === 'dir' ? c.files : undefined,
              bytes: c.type === 'dir' ? c.bytes : undefined,
            },
      ),
      next_cursor: t.next ?? null,
    };
  });

  route(app, ROUTES.snapshotDownload, s.log, async ({ params, query, reply }) => {
    const abort = new AbortController();
    // Every refusal is thrown by download() before anything is sent, and answers in the error shape.
    const d = await browserOf(s).download({ snapshotId: params.id, ...query }, abort.signal);
    send(reply, d, abort, s);
  });
}

/** Streams the download; an error midway (an object that differs from its checksum) cuts the answer off. */
function send(reply: FastifyReply, d: Download, abort: AbortController, s: SidecarApi): void {
  const headers: Record<string, string> = {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': d.kind === 'tar' ? 'application/x-tar' : 'application/octet-stream',
    'content-disposition': contentDisposition(d.filename),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
  if (d.size !== undefined) headers['content-length'] = String(d.size);
  reply.hijack();
  const raw = reply.raw;
  raw.on('close', () => abort.abort());
  raw.writeHead(200, headers);
  // Sent now, not with the first bytes: an object read in one piece (a packed one, a small file)
  // that fails its check sends none, and the answer must still be a 200 cut off, as for any other.
  raw.flushHeaders();
  pipeline(d.stream, raw).catch((err: unknown) => {
    if (abort.signal.aborted && !raw.writableFinished) return; // the browser went away
    s.log.error({ route: 'GET /v1/snapshots/:id/download', problem: (err as Error).message }, 'download cut off');
    raw.destroy();
  });
}

/** attachment; an ASCII fallback name and the exact one (RFC 6266, RFC 8187). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_') || 'download';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function nsToIso(ns: string): string | undefined {
  const ms = Number(BigInt(ns) / 1_000_000n);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/**
 * The versioned, admin-only API: status, snapshots, jobs (with SSE), restore, settings,
 * connect. Each handler is registered against its @mm-backup/api schema (typed_route.ts),
 * which validates the request and the answer.
 */
import { manifestJsonChunks } from '../manifest/manifest_json';
import { ROUTES } from '@mm-backup/api';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { COMPONENT_IDS, type ComponentId } from '../config/schema';
import { NotFoundError } from '../core/errors';
import { readVerifications } from '../repository/verifications';
import { offsiteStates } from '../offsite/offsite_state';
import type { JobRecord } from '../jobs/job_record';
import { pitrPlanDto, snapshotDto } from './dto';
import { HttpError } from './errors';
import { callerOf } from './route_guard';
import { describeComponents } from '../components/registry';
import type { SidecarApi } from './sidecar_api';
import { route, streamedRoute } from './typed_route';

/** Component ids this sidecar knows; the API schema checks only their spelling. */
function knownComponents(ids: string[] | undefined, where: string): ComponentId[] | undefined {
  if (!ids) return undefined;
  const errors = ids.flatMap((id, i) =>
    (COMPONENT_IDS as readonly string[]).includes(id)
      ? []
      : [{ path: `${where}.${i}`, message: `unknown component "${id}" (known: ${COMPONENT_IDS.join(', ')})` }],
  );
  if (errors.length) {
    throw new HttpError(
      400,
      'api.context.invalid_param.app_error',
      errors.map((e) => `body.${e.path}: ${e.message}`).join('; '),
      errors,
    );
  }
  return ids as ComponentId[];
}

/** Every route here needs a system-admin session: none is marked public (see route_guard.ts). */
export function apiRoutes(app: FastifyInstance, s: SidecarApi): void {
  route(app, ROUTES.status, s.log, async () => s.status());

  // The component kinds a snapshot can hold, so the webapp names them from here, not from a copy.
  route(app, ROUTES.components, s.log, async () => ({ components: describeComponents() }));

  route(app, ROUTES.snapshots, s.log, async () => {
    const { manifests, broken } = await s.ec().repo.listSnapshotSummaries();
    const v = await readVerifications(s.ec().storage, s.ec().trust);
    const off = await offsiteStates(
      s.ec(),
      manifests.map((m) => m.id),
    );
    const newestFirst = [...manifests].reverse();
    const checked = await Promise.all(
      newestFirst.map(async (m) => ({ m, trust: await s.ec().trust.checkManifest(s.ec().repo, m) })),
    );
    const snapshots = checked.map(({ m, trust }) => ({
      ...snapshotDto(m, v.get(m.id), trust.state),
      offsite: off?.states.get(m.id) ?? null,
    }));
    return { snapshots, broken, offsite_warning: off?.warning ?? null };
  });

  route(app, ROUTES.snapshot, s.log, async ({ params }) => {
    const m = await s.ec().repo.loadSnapshot(params.id);
    return snapshotDto(
      m,
      (await readVerifications(s.ec().storage, s.ec().trust)).get(m.id),
      (await s.ec().trust.checkManifest(s.ec().repo, m)).state,
    );
  });

  streamedRoute(app, ROUTES.manifest, async ({ params }) =>
    manifestJsonChunks(await s.ec().repo.loadSnapshot(params.id)),
  );

  route(app, ROUTES.listJobs, s.log, async ({ query }) => {
    if (query.snapshot_id === undefined) return { jobs: await s.jobs.list(query.limit) };
    // The jobs that made or worked on one snapshot (its backup's log, verifications, restores).
    const id = query.snapshot_id;
    const all = await s.jobs.list(500);
    return {
      jobs: all.filter((j) => j.result?.snapshot_id === id || j.options.snapshot_id === id).slice(0, query.limit),
    };
  });

  route(app, ROUTES.getJob, s.log, async ({ params }) => {
    const rec = await s.jobs.get(params.id);
    if (!rec) throw new NotFoundError(`job ${params.id} does not exist`);
    return rec;
  });

  route(app, ROUTES.startJob, s.log, async ({ body, req, reply }) => {
    const who = callerOf(req).user;
    const base = { trigger: 'console' as const, requestedBy: who.username };
    let rec: JobRecord;
    if (body.kind === 'restore') {
      const p = s.restores.consume(body.confirmation_token, who.id);
      rec = await s.jobs.start(
        p.at === undefined
          ? { ...base, kind: 'restore', snapshotId: p.snapshotId, include: p.include as ComponentId[] | undefined }
          : { ...base, kind: 'restore', restore: { at: p.at } },
      );
    } else if (body.kind === 'backup') {
      rec = await s.jobs.start({
        ...base,
        kind: 'backup',
        mode: body.mode,
        exclude: knownComponents(body.exclude, 'exclude'),
        logical: body.logical,
      });
    } else if (body.kind === 'verify') {
      rec = await s.jobs.start({ ...base, kind: 'verify', snapshotId: body.snapshot_id, deep: body.deep });
    } else if (body.kind === 'replicate') {
      rec = await s.jobs.start({ ...base, kind: 'replicate' });
    } else if (body.kind === 'pitr-backup') {
      rec = await s.jobs.start({ ...base, kind: 'pitr-backup', pitrType: body.type });
    } else if (body.kind === 'pitr-enable' || body.kind === 'pitr-disable') {
      // Consent is the strict schema's boolean: only `true` restarts PostgreSQL.
      rec = await s.jobs.start({ ...base, kind: body.kind, restartPostgres: body.restart_postgres });
    } else {
      rec = await s.jobs.start({ ...base, kind: 'prune', dryRun: body.dry_run });
    }
    reply.code(202);
    return rec;
  });

  route(app, ROUTES.cancelJob, s.log, async ({ params }) => {
    if (!s.jobs.cancel(params.id)) {
      throw new HttpError(409, 'mm_backup.job.not_running', `job ${params.id} is not running`);
    }
    return { status: 'OK' as const };
  });

  route(app, ROUTES.jobEvents, s.log, async ({ params, reply }) => {
    const rec = await s.jobs.get(params.id);
    if (!rec) throw new NotFoundError(`job ${params.id} does not exist`);
    stream(reply, rec, (fn) =>
      s.jobs.on((r, e) => {
        if (r.id === params.id) fn(r, e.type);
      }),
    );
  });

  route(app, ROUTES.prepareRestore, s.log, async ({ body, req }) => {
    if (body.at !== undefined) {
      // The CLI's restore --at preparation: its refusals answer here, with nothing changed.
      const d = await s.describeRestoreAt(body.at);
      const p = s.restores.create({
        snapshotId: d.filesSnapshotId,
        at: d.at,
        userId: callerOf(req).user.id,
        overwrites: d.overwrites,
      });
      return {
        confirmation_token: p.token,
        expires_at: new Date(p.expiresAt).toISOString(),
        snapshot_id: d.filesSnapshotId,
        at: d.at,
        overwrites: d.overwrites,
        version_check: 'checked when the restored database is up: a schema newer than this Mattermost is rolled back',
        safety_snapshot: true,
        warnings: d.warnings,
      };
    }
    const include = knownComponents(body.include, 'include');
    // The schema takes exactly one of at and snapshot_id: without at, snapshot_id is there.
    const d = await s.describeRestore(body.snapshot_id as string, include);
    const p = s.restores.create({
      snapshotId: d.snapshotId,
      include,
      userId: callerOf(req).user.id,
      overwrites: d.overwrites,
    });
    return {
      confirmation_token: p.token,
      expires_at: new Date(p.expiresAt).toISOString(),
      snapshot_id: d.snapshotId,
      overwrites: d.overwrites,
      version_check: d.versionCheck,
      safety_snapshot: true,
    };
  });

  // Read-only: what enable would check and change; the page shows it before the confirmation.
  route(app, ROUTES.pitrPlan, s.log, async () => pitrPlanDto(await s.planPitr()));

  route(app, ROUTES.getSettings, s.log, async () => s.readSettings());
  route(app, ROUTES.putSettings, s.log, async ({ body }) => s.writeSettings(body));
  route(app, ROUTES.getConnect, s.log, async () => s.connectState());
  route(app, ROUTES.connect, s.log, async ({ body, req }) => s.connect(body, callerOf(req).session));
}

/** Server-Sent Events: the job's record on every change, until it finishes. */
function stream(
  reply: FastifyReply,
  rec: JobRecord,
  subscribe: (fn: (r: JobRecord, type: string) => void) => () => void,
): void {
  const headers = {
    ...reply.getHeaders(),
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  };
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, headers as Record<string, string>);
  const send = (r: JobRecord, type: string) => raw.write(`event: ${type}\ndata: ${JSON.stringify(r)}\n\n`);
  send(rec, 'snapshot');
  if (['succeeded', 'failed', 'cancelled'].includes(rec.status)) {
    raw.end();
    return;
  }
  const beat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
  const unsubscribe = subscribe((r, type) => {
    send(r, type);
    if (type === 'job.finished') {
      clearInterval(beat);
      unsubscribe();
      raw.end();
    }
  });
  raw.on('close', () => {
    clearInterval(beat);
    unsubscribe();
  });
}

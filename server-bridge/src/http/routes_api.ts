/** The versioned, admin-only API: status, snapshots, jobs (with SSE), restore, settings, connect. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../core/errors';
import { readVerifications } from '../repository/verifications';
import { offsiteStates } from '../offsite/offsite_state';
import type { JobRecord } from '../jobs/job_record';
import { snapshotDto } from './dto';
import type { TrustState } from '../repository/signing';
import { HttpError } from './errors';
import { callerOf } from './route_guard';
import { componentsResponse, connectBody, jobIdParam, prepareRestoreBody, settingsBody, snapshotIdParam, startJobBody } from './schemas';
import { describeComponents } from '../components/registry';
import type { SidecarApi } from './sidecar_api';

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
    throw new HttpError(400, 'api.context.invalid_param.app_error', msg);
  }
  return r.data;
}

/** Every route here needs a system-admin session: none is marked public (see route_guard.ts). */
export function apiRoutes(app: FastifyInstance, s: SidecarApi): void {
  app.get('/v1/status', async () => s.status());

  // The component kinds a snapshot can hold, so the webapp names them from here, not from a copy.
  app.get('/v1/components', async () => componentsResponse.parse({ components: describeComponents() }));

  app.get('/v1/snapshots', async () => {
    const { manifests, broken } = await s.ec().repo.listSnapshotSummaries();
    const v = await readVerifications(s.ec().storage, s.ec().trust);
    const off = await offsiteStates(s.ec(), manifests.map((m) => m.id));
    const trust = await Promise.all(manifests.reverse().map((m) => s.ec().trust.checkManifest(s.ec().repo, m)));
    const snapshots = manifests.map((m, i) => ({ ...snapshotDto(m, v.get(m.id), (trust[i] as { state: TrustState }).state), offsite: off?.states.get(m.id) ?? null }));
    return { snapshots, broken, offsite_warning: off?.warning ?? null };
  });

  app.get('/v1/snapshots/:id', async (req) => {
    const id = parse(snapshotIdParam, (req.params as { id: string }).id, 'id');
    const m = await s.ec().repo.loadSnapshot(id);
    return snapshotDto(m, (await readVerifications(s.ec().storage, s.ec().trust)).get(m.id), (await s.ec().trust.checkManifest(s.ec().repo, m)).state);
  });

  app.get('/v1/snapshots/:id/manifest', async (req) => {
    const id = parse(snapshotIdParam, (req.params as { id: string }).id, 'id');
    return s.ec().repo.loadSnapshot(id);
  });

  app.get('/v1/jobs', async (req) => {
    const q = req.query as { limit?: string; snapshot_id?: string };
    const limit = parse(z.coerce.number().int().min(1).max(500).default(50), q.limit, 'limit');
    if (q.snapshot_id === undefined) return { jobs: await s.jobs.list(limit) };
    // The jobs that made or worked on one snapshot (its backup's log, verifications, restores).
    const id = parse(snapshotIdParam, q.snapshot_id, 'snapshot_id');
    const all = await s.jobs.list(500);
    return { jobs: all.filter((j) => j.result?.snapshot_id === id || j.options.snapshot_id === id).slice(0, limit) };
  });

  app.get('/v1/jobs/:id', async (req) => {
    const id = parse(jobIdParam, (req.params as { id: string }).id, 'id');
    const rec = await s.jobs.get(id);
    if (!rec) throw new NotFoundError(`job ${id} does not exist`);
    return rec;
  });

  app.post('/v1/jobs', async (req, reply) => {
    const body = parse(startJobBody, req.body, 'body');
    const who = callerOf(req).user;
    let rec: JobRecord;
    if (body.kind === 'restore') {
      const p = s.restores.consume(body.confirmation_token, who.id);
      rec = await s.jobs.start({ kind: 'restore', trigger: 'console', requestedBy: who.username, snapshotId: p.snapshotId, components: p.components as never });
    } else if (body.kind === 'backup') {
      rec = await s.jobs.start({ kind: 'backup', trigger: 'console', requestedBy: who.username, mode: body.mode, components: body.exclude });
    } else if (body.kind === 'verify') {
      rec = await s.jobs.start({ kind: 'verify', trigger: 'console', requestedBy: who.username, snapshotId: body.snapshot_id, deep: body.deep });
    } else if (body.kind === 'replicate') {
      rec = await s.jobs.start({ kind: 'replicate', trigger: 'console', requestedBy: who.username });
    } else {
      rec = await s.jobs.start({ kind: 'prune', trigger: 'console', requestedBy: who.username, dryRun: body.dry_run });
    }
    reply.code(202);
    return rec;
  });

  app.post('/v1/jobs/:id/cancel', async (req) => {
    const id = parse(jobIdParam, (req.params as { id: string }).id, 'id');
    if (!s.jobs.cancel(id)) throw new HttpError(409, 'mm_backup.job.not_running', `job ${id} is not running`);
    return { status: 'OK' };
  });

  app.get('/v1/jobs/:id/events', async (req, reply) => {
    const id = parse(jobIdParam, (req.params as { id: string }).id, 'id');
    const rec = await s.jobs.get(id);
    if (!rec) throw new NotFoundError(`job ${id} does not exist`);
    stream(reply, rec, (fn) => s.jobs.on((r, e) => { if (r.id === id) fn(r, e.type); }));
  });

  app.post('/v1/restore/prepare', async (req) => {
    const body = parse(prepareRestoreBody, req.body, 'body');
    const d = await s.describeRestore(body.snapshot_id, body.components);
    const p = s.restores.create({ snapshotId: d.snapshotId, components: body.components, userId: callerOf(req).user.id, overwrites: d.overwrites });
    return {
      confirmation_token: p.token, expires_at: new Date(p.expiresAt).toISOString(), snapshot_id: d.snapshotId,
      overwrites: d.overwrites, version_check: d.versionCheck, safety_snapshot: true,
    };
  });

  app.get('/v1/settings', async () => s.readSettings());
  app.put('/v1/settings', async (req) => s.writeSettings(parse(settingsBody, req.body, 'body')));
  app.get('/v1/connect', async () => s.connectState());
  app.post('/v1/connect', async (req) => s.connect(parse(connectBody, req.body, 'body'), callerOf(req).session));
}

/** Server-Sent Events: the job's record on every change, until it finishes. */
function stream(reply: FastifyReply, rec: JobRecord, subscribe: (fn: (r: JobRecord, type: string) => void) => () => void): void {
  const headers = { ...reply.getHeaders(), 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' };
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, headers as Record<string, string>);
  const send = (r: JobRecord, type: string) => raw.write(`event: ${type}\ndata: ${JSON.stringify(r)}\n\n`);
  send(rec, 'snapshot');
  if (['succeeded', 'failed', 'cancelled'].includes(rec.status)) return void raw.end();
  const beat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
  const unsubscribe = subscribe((r, type) => {
    send(r, type);
    if (type === 'job.finished') {
      clearInterval(beat);
      unsubscribe();
      raw.end();
    }
  });
  raw.on('close', () => { clearInterval(beat); unsubscribe(); });
}

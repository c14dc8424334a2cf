/**
 * Names we do not choose go into /backup replies and status posts as written: an extra path
 * named with Markdown (`*x*`, backticks, `[a](b)`) is listed escaped by `/backup restore`'s
 * confirmation, through the real slash route (the REST stand-in executes the command).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { eventually, setupService, type ServiceEnv } from '../support/service_env';
import type { JobRecord } from '../../src/jobs/job_record';

const NAME = '*x* `tick` [a](b) _u_';
let env: ServiceEnv;
let dir: string;
beforeAll(async () => {
  env = await setupService({ config: (_pg, root) => ({ backup: { extraPaths: [path.join(root, NAME)] } }) });
  dir = path.join(env.root, NAME);
  await mkdir(dir);
  await writeFile(path.join(dir, 'f.txt'), 'kept');
  const r = await env.api('POST', '/v1/connect', { body: { admin_token: env.admin.token } });
  expect(r.body.problems).toEqual([]);
}, 120_000);
afterAll(async () => {
  await env?.cleanup();
});

const slash = (text: string) => env.rest.executeSlashCommand({ userId: env.admin.id, channelId: env.channel.id, text });
const lastEphemeral = () => env.rest.state.ephemeral(env.admin.id).at(-1)?.message ?? '';

test('/backup restore lists a directory named with Markdown literally (escaped), never as markup', async () => {
  await slash('/backup now --online');
  const jobId = /job `([a-z0-9]{26})`/.exec(lastEphemeral())?.[1] as string;
  const job = await eventually(
    async () => {
      const r = await env.api('GET', `/v1/jobs/${jobId}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? (r.body as JobRecord) : undefined;
    },
    60_000,
    `job ${jobId}`,
  );
  expect(job.status).toBe('succeeded');
  await slash(`/backup restore ${String(job.result?.snapshot_id)}`);
  const reply = lastEphemeral();
  const line = reply.split('\n').find((l) => l.startsWith('- extra'));
  expect(line).toBeDefined();
  expect(line).toContain('\\*x\\* \\`tick\\` \\[a\\](b) \\_u\\_');
  expect(line).not.toContain(NAME);
  // The reply's own Markdown is kept: its heading and the confirmation command.
  expect(reply).toMatch(/^\*\*Restoring `\d{8}T\d{6}Z-[0-9a-f]{6}` will overwrite:\*\*/);
  expect(reply).toMatch(/run: `\/backup restore \S+ confirm [0-9a-f]{8}`$/);
});

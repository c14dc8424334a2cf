/**
 * The point-in-time restore from the System Console page, in a real headless Chromium whose
 * time zone is America/St_Johns (UTC-03:30 in December: a half-hour offset), against a real
 * sidecar and PostgreSQL archiving through the real pgbackrest. The page shows the recovery
 * window and the archive's health from GET /v1/status; the picker is bounded by the window in
 * the admin's wall clock and names the zone; a time outside is refused on the page; the time
 * picked is sent to restore/prepare with its offset, confirmed by typing "restore", and the
 * database comes back with exactly the rows of that time. That restore leaves a hole (timeline
 * 1 after the time picked): the page lists it and its picker refuses a time in it (screenshot).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { enablePitr, eventually, setupPitrService, type ServiceEnv } from '../support/service_env';
import type { JobRecord } from '../../src/jobs/job_record';
import { buildAssets, startHarness, type Harness } from './harness_server';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SHOTS = path.join(ROOT, 'test-artifacts', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PLUGIN_ID = (JSON.parse(readFileSync(path.join(ROOT, 'plugin.json'), 'utf8')) as { id: string }).id;
const ZONE = 'America/St_Johns';

/** The wall clock of `ms` in ZONE as a datetime-local value, to the second. */
function wall(ms: number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: ZONE,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
}

describe('point-in-time restore from the System Console page in Chromium', () => {
  let env: ServiceEnv;
  let harness: Harness;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const stanza = `web${process.pid}`;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install the chromium package (build/dev.sh test does) or set CHROMIUM_PATH`,
      );
    }
    env = await setupPitrService(stanza, { pitrPollMs: 500 });
    await env.sidecar.started();
    const r = await enablePitr(env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const assets = buildAssets(mkdtempSync(path.join(os.tmpdir(), 'mm-backup-harness-')));
    harness = await startHarness(env, assets, PLUGIN_ID);
    profile = mkdtempSync(path.join(os.tmpdir(), 'mm-backup-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timezoneId: ZONE,
      locale: 'en-US',
      viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    mkdirSync(SHOTS, { recursive: true });
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await harness?.close();
    await env?.cleanup();
    if (profile) rmSync(profile, { recursive: true, force: true });
  }, 120_000);

  const finished = async (id: string) =>
    eventually(
      async () => {
        const r = await env.api('GET', `/v1/jobs/${id}`);
        return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? (r.body as JobRecord) : undefined;
      },
      240_000,
      `job ${id}`,
    );
  const runJob = async (body: Record<string, unknown>) => {
    const r = await env.api('POST', '/v1/jobs', { body });
    expect(r.status).toBe(202);
    const job = await finished(r.body.id);
    expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: undefined });
    return job;
  };
  const db = () => env.sb.dbName;
  const probe = async () =>
    ((await env.pg.query(db(), 'SELECT n FROM pitr_probe ORDER BY n')) as Array<{ n: number }>).map((r) => r.n);

  it('shows the window, bounds the picker by it in the admin zone, and restores to the time picked', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await runJob({ kind: 'pitr-backup' });
    await runJob({ kind: 'backup', mode: 'online' });
    await env.pg.exec(
      db(),
      'CREATE TABLE pitr_probe (n int); GRANT SELECT ON pitr_probe TO PUBLIC; INSERT INTO pitr_probe SELECT generate_series(1, 5)',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const t = Math.floor(Date.now() / 1000) * 1000; // a whole second, as the picker sends it
    await new Promise((r) => setTimeout(r, 1500));
    await env.pg.exec(db(), 'INSERT INTO pitr_probe SELECT generate_series(6, 9)');
    await env.pg.query(db(), 'SELECT pg_switch_wal()');
    // The window reaches past T once that segment is archived.
    const pitr = await eventually(
      async () => {
        const p = await env.sidecar.pitr.poll();
        return p?.window && Date.parse(p.window.end) > t + 1000 ? p : undefined;
      },
      60_000,
      'the window to reach past T',
    );
    const win = pitr.window as NonNullable<typeof pitr.window>;

    // The status the page is served (a reading at least as new as the one above).
    const served = page.waitForResponse((r) => r.url().endsWith('/v1/status') && r.status() === 200);
    await page.goto(`${harness.url}/admin_console/plugins/plugin_${PLUGIN_ID}`);
    const shown = ((await (await served).json()) as { pitr: { window: { start: string; end: string } } }).pitr.window;
    expect(shown.start).toBe(win.start);
    const panel = page.getByTestId('pitr-status');
    await panel.waitFor({ timeout: 30_000 });
    expect(await panel.getAttribute('data-archive-state')).toBe('ok');
    expect(await page.getByTestId('pitr-archive').textContent()).toMatch(/healthy/);
    expect(await page.getByTestId('pitr-window').textContent()).toMatch(/ to /);
    expect(await page.getByTestId('restore-at-zone').textContent()).toBe(`Times are in ${ZONE} (UTC-03:30)`);

    // The input's bounds are the window in the admin's wall clock, inward to the second.
    const input = page.getByLabel('Point in time to restore to');
    expect(await input.getAttribute('min')).toBe(wall(Math.ceil(Date.parse(shown.start) / 1000) * 1000));
    expect(await input.getAttribute('max')).toBe(wall(Math.floor(Date.parse(shown.end) / 1000) * 1000));

    const go = page.getByRole('button', { name: 'Restore to this time' });
    await input.fill(wall(Date.parse(win.start) - 60_000));
    expect(await go.isDisabled()).toBe(true);
    await page.getByTestId('restore-at-outside').waitFor();
    await input.fill(wall(t));
    expect(await go.isEnabled()).toBe(true);
    const prepare = page.waitForRequest((r) => r.url().endsWith('/v1/restore/prepare') && r.method() === 'POST');
    await go.click();
    const sent = (await prepare).postDataJSON() as { at: string };
    expect(sent).toEqual({ at: `${wall(t)}-03:30` });
    expect(Date.parse(sent.at)).toBe(t);

    const modal = page.getByTestId('restore-at-modal');
    await modal.getByTestId('restore-overwrites').waitFor({ timeout: 30_000 });
    expect(await modal.getByTestId('restore-at-target').getAttribute('data-at')).toBe(new Date(t).toISOString());
    expect(await modal.getByTestId('restore-overwrites').textContent()).toMatch(/the PostgreSQL cluster in /);
    // Said in the admin's zone, as picked (the host's IntlProvider of the harness pins UTC).
    const clock = new Intl.DateTimeFormat('en-US', {
      timeZone: ZONE,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).format(t);
    expect(await modal.getByTestId('restore-at-target').textContent()).toContain(`${clock} (${ZONE})`);
    const confirm = modal.getByRole('button', { name: 'Restore' });
    expect(await confirm.isDisabled()).toBe(true);
    await modal.getByLabel(/Type restore to confirm/).fill('restor');
    expect(await confirm.isDisabled()).toBe(true);
    await modal.getByLabel(/Type restore to confirm/).fill('restore');
    await page.screenshot({ path: path.join(SHOTS, 'pitr-restore-at-modal.png'), fullPage: true });
    await confirm.click();
    await modal.waitFor({ state: 'detached' });

    await page
      .locator('[data-testid="job-progress"][data-status="succeeded"]', { hasText: 'Restore' })
      .waitFor({ timeout: 240_000 });
    expect(await page.getByTestId('job-progress').textContent()).toContain(
      `database restored to ${new Date(t).toISOString()}`,
    );
    await page.screenshot({ path: path.join(SHOTS, 'pitr-restore-at-succeeded.png'), fullPage: true });
    const jobs = (await env.api('GET', '/v1/jobs')).body.jobs as JobRecord[];
    expect(jobs[0]).toMatchObject({
      kind: 'restore',
      trigger: 'console',
      status: 'succeeded',
      options: { at: new Date(t).toISOString() },
    });
    expect(await probe()).toEqual([1, 2, 3, 4, 5]);

    // The restore left timeline 1 after T behind: a hole, listed on the page and refused by its picker.
    await env.pg.query(db(), 'SELECT pg_switch_wal()');
    const after = await eventually(
      async () => {
        const p = await env.sidecar.pitr.poll();
        return p?.holes?.length && p.window ? p : undefined;
      },
      120_000,
      'the hole the restore left',
    );
    const hole = after.holes![0]!;
    expect(hole.timeline).toBe(1);
    await page.reload();
    const row = page.getByTestId('pitr-hole');
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toMatch(/only timeline 1 held it, abandoned by an earlier point-in-time restore/);
    expect(await page.getByTestId('pitr-hole-problem').textContent()).toBe(hole.problem);
    // A whole second inside the hole, as the picker sends it.
    const inHole = Math.ceil(Date.parse(hole.from) / 1000) * 1000;
    expect(inHole).toBeLessThan(Date.parse(hole.to));
    await input.fill(wall(inHole));
    await page.getByTestId('restore-at-outside').waitFor();
    expect(await page.getByTestId('restore-at-outside').getAttribute('data-reason')).toBe('hole');
    expect(await go.isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'pitr-hole.png'), fullPage: true });
    // The later suggestion (the first second after the hole) is restorable.
    await page.getByTestId('restore-at-suggestion').last().click();
    // (Chromium leaves out the seconds when they are :00.)
    const later = wall(Math.ceil(Date.parse(hole.to) / 1000) * 1000);
    expect([later, later.replace(/:00$/, '')]).toContain(await input.inputValue());
    expect(await go.isEnabled()).toBe(true);
    expect(errors).toEqual([]);
    expect(env.rest.violations).toEqual([]);
  }, 900_000);
});

/**
 * The built plugin in a real headless Chromium, against a real sidecar (PostgreSQL, a sandbox
 * install, the Mattermost REST stand-in whose port closes while Mattermost is "stopped"), on a
 * page in the System Console's markup styled with the Console's own rules (console_styles.css).
 * First the layout as computed by the browser: Console panels, each setting's label left of its
 * input with help text below, component names, the Connect warning's button (no backticks), a
 * time zone found by search and saved through the Console's Save. Then the admin backs up
 * (shot while a step runs, with Mattermost's start held, and after success: the two images must
 * differ), checks ids on one line, one size unit and a table that fits, and restores through
 * the guarded modal. Screenshots of each state go to test-artifacts/screenshots/; with
 * UPDATE_DOCS_SCREENSHOTS=1 the main ones also go to docs/screenshots/ (committed, shown in
 * docs/sidecar_api.md), so an ordinary test run never changes tracked files.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { setupService, type ServiceEnv } from '../support/service_env';
import { buildAssets, startHarness, type Harness } from './harness_server';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SHOTS = path.join(ROOT, 'test-artifacts', 'screenshots');
const DOCS_SHOTS = path.join(ROOT, 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PLUGIN_ID = (JSON.parse(readFileSync(path.join(ROOT, 'plugin.json'), 'utf8')) as { id: string }).id;

/** Shots worth showing in docs/sidecar_api.md. */
const DOCS = new Set([
  '01-dashboard-idle',
  '02-backup-running',
  '03-backup-succeeded',
  '04-restore-modal',
  '05-restore-succeeded',
  '06-mattermost-restarting',
  '07-time-zone-search',
]);

describe('System Console plugin in Chromium', () => {
  let env: ServiceEnv;
  let harness: Harness;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    // Never skipped: a missing browser fails with what to do (build/dev.sh test installs it).
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install the chromium package (build/dev.sh test does) or set CHROMIUM_PATH`,
      );
    }
    env = await setupService();
    const assets = buildAssets(mkdtempSync(path.join(os.tmpdir(), 'mm-backup-harness-')));
    harness = await startHarness(env, assets, PLUGIN_ID);
    profile = mkdtempSync(path.join(os.tmpdir(), 'mm-backup-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    mkdirSync(SHOTS, { recursive: true });
    mkdirSync(DOCS_SHOTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await harness?.close();
    await env?.cleanup();
    if (profile) rmSync(profile, { recursive: true, force: true });
  }, 120_000);

  async function shot(name: string): Promise<void> {
    const file = path.join(SHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (DOCS.has(name) && process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
      copyFileSync(file, path.join(DOCS_SHOTS, `${name}.png`));
    }
  }

  /** The boxes of a setting row's label, input and help text (its `<id>-row`). */
  async function rowBoxes(inputId: string) {
    return page.evaluate((id) => {
      const input = document.getElementById(id);
      const row = input?.closest('.form-group');
      const label = row?.querySelector(`label[for="${id}"]`);
      const help = row?.querySelector('.help-text');
      const box = (e: Element | null | undefined) => {
        const r = e?.getBoundingClientRect();
        return r ? { left: r.left, right: r.right, top: r.top, bottom: r.bottom } : null;
      };
      return { label: box(label), input: box(input), help: box(help) };
    }, inputId);
  }

  it("lays the page out as the Console: panels, a setting per row (label left, help text below), the Console's Save", async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${harness.url}/admin_console/plugins/plugin_${PLUGIN_ID}`);
    await page.getByTestId('snapshots-empty').waitFor({ timeout: 30_000 });
    await page.getByTestId('settings-form').waitFor();
    await page.locator('#mm-backup-exclude input[type=checkbox]').first().waitFor();

    // Sections are the Console's panels, each with its title once; no heading of our own.
    const titles = await page.locator('.config-section .section-header .section-title').allTextContents();
    expect(titles).toEqual(expect.arrayContaining(['Status', 'Snapshots', 'Schedule', 'Retention', 'Notifications']));
    expect(new Set(titles).size).toBe(titles.length);
    expect(await page.locator('h4', { hasText: 'Backups' }).count()).toBe(0);

    // Every setting row: the label's box left of its input's, on the same line; help text under the input.
    const rows = [
      `PluginSettings.Plugins.${PLUGIN_ID}.sidecarurl`,
      'mm-backup-backup-cron',
      'mm-backup-timezone',
      'mm-backup-keep-last',
      'mm-backup-keep-monthly',
      'mm-backup-mode',
      'mm-backup-daily-at',
    ];
    for (const id of rows) {
      const { label, input, help } = await rowBoxes(id);
      if (!label || !input || !help) throw new Error(`row ${id}: label, input or help text missing`);
      expect({ id, leftOf: label.right <= input.left }).toEqual({ id, leftOf: true });
      expect({ id, sameLine: label.top < input.bottom && label.bottom > input.top }).toEqual({ id, sameLine: true });
      expect({ id, below: help.top >= input.bottom - 1 }).toEqual({ id, below: true });
      expect({ id, aligned: Math.abs(help.left - input.left) <= 1 }).toEqual({ id, aligned: true });
    }
    // Retention is one row per rule, all with the same input column (nothing wraps).
    const lefts = await Promise.all(
      ['last', 'daily', 'weekly', 'monthly'].map(async (k) => (await rowBoxes(`mm-backup-keep-${k}`)).input?.left),
    );
    expect(new Set(lefts).size).toBe(1);

    // Components by their names, never their ids.
    const components = await page.locator('#mm-backup-exclude label').allTextContents();
    expect(components.length).toBeGreaterThan(3);
    for (const c of components) expect(c.trim()).not.toMatch(/^[a-z_]+$/);
    expect(components.map((c) => c.trim())).toEqual(expect.arrayContaining(['Webapp plugins']));

    // Not connected: a warning that says so in words, with the action as a button; no backticks anywhere.
    const warning = page.getByTestId('connect-warning');
    await warning.waitFor();
    expect(await page.locator('body').innerText()).not.toContain('`');
    await shot('01-dashboard-idle');

    // The time zone is searched and picked; the change enables the Console's Save, which saves it.
    const save = page.getByTestId('console-save');
    expect(await save.isDisabled()).toBe(true);
    const tz = page.getByRole('combobox', { name: 'Time zone' });
    await tz.fill('');
    await tz.pressSequentially('berl');
    const option = page.getByRole('option', { name: 'Europe/Berlin' });
    await option.waitFor();
    expect(await page.getByRole('listbox').getByRole('option').count()).toBe(1);
    await shot('07-time-zone-search');
    await option.click();
    expect(await tz.inputValue()).toBe('Europe/Berlin');
    expect(
      await page.evaluate(() => (window as unknown as { harnessConsole: { needed: number } }).harnessConsole.needed),
    ).toBeGreaterThan(0);
    expect(await save.isEnabled()).toBe(true);
    await save.click();
    await eventually(
      async () => (await env.api('GET', '/v1/settings')).body.schedule.timezone === 'Europe/Berlin',
      15_000,
    );
    await eventually(async () => save.isDisabled(), 15_000);

    // Connect from the warning's button: the admin's session creates the bot and its token in Mattermost.
    await warning.getByRole('button', { name: 'Connect now' }).click();
    await page.getByText(/Connected: the sidecar posts as its bot in ops\/backups/).waitFor({ timeout: 30_000 });
    await warning.waitFor({ state: 'detached', timeout: 30_000 });
    expect(env.rest.state.userByName('mm-backup')?.is_bot).toBe(true);
    expect(errors).toEqual([]);
  }, 180_000);

  it('backs up, lists the snapshot and restores it', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${harness.url}/admin_console/plugins/plugin_${PLUGIN_ID}`);
    await page.getByTestId('snapshots-empty').waitFor({ timeout: 30_000 });

    // Mattermost's start is held, so the backup stays in a running step for the screenshot.
    const release = env.holdStart();
    try {
      await page.getByRole('combobox', { name: 'Backup mode', exact: true }).selectOption('offline');
      await page.getByRole('button', { name: 'Back up now' }).click();
      await page.getByTestId('job-progress').waitFor();
      await page
        .locator('[data-testid="job-progress"][data-status="running"] [data-step-status="running"]')
        .first()
        .waitFor({ timeout: 60_000 });
      await shot('02-backup-running');
    } finally {
      release();
    }
    const job = page.getByTestId('job-progress');
    await page.locator('[data-testid="job-progress"][data-status="succeeded"]').waitFor({ timeout: 120_000 });
    const table = page.getByTestId('snapshot-table');
    await table.waitFor({ timeout: 30_000 });
    const row = table.locator('tbody tr').first();
    const snapshotId = (await row.getAttribute('data-snapshot-id')) ?? '';
    expect(snapshotId).toMatch(/\S/);
    expect(await job.textContent()).toContain(`snapshot ${snapshotId}`);
    await shot('03-backup-succeeded');
    const running = readFileSync(path.join(SHOTS, '02-backup-running.png'));
    const succeeded = readFileSync(path.join(SHOTS, '03-backup-succeeded.png'));
    expect(running.equals(succeeded)).toBe(false);

    // Ids never break: one line box each, with white-space that forbids breaking.
    for (const code of [row.locator('code.mattermost-backup-id'), job.locator('code.mattermost-backup-id')]) {
      const look = await code.evaluate((e) => ({
        whiteSpace: getComputedStyle(e).whiteSpace,
        lines: e.getClientRects().length,
        text: e.textContent,
      }));
      expect(look).toEqual({ whiteSpace: 'nowrap', lines: 1, text: snapshotId });
    }
    // The table fits its panel: nothing (such as the Restore button) is cut off at the side.
    expect(await table.evaluate((t) => (t.parentElement?.scrollWidth ?? 0) - (t.parentElement?.clientWidth ?? 0))).toBe(
      0,
    );
    // One unit convention on the page (the sidecar's KB/MB/GB), sizes from the sidecar and the page alike.
    const text = await page.locator('body').innerText();
    expect(text).toMatch(/\d (B|KB|MB|GB)\b/);
    expect(text).not.toMatch(/\d ?[KMGT]iB\b/);

    await row.getByRole('button', { name: 'Restore' }).click();
    const modal = page.getByTestId('restore-modal');
    await modal.getByTestId('restore-overwrites').waitFor({ timeout: 30_000 });
    const confirm = modal.getByRole('button', { name: 'Restore' });
    expect(await confirm.isDisabled()).toBe(true);
    await modal.getByLabel(/Type the snapshot id/).fill(snapshotId.slice(0, -1));
    expect(await confirm.isDisabled()).toBe(true);
    await modal.getByLabel(/Type the snapshot id/).fill(snapshotId);
    expect(await confirm.isEnabled()).toBe(true);
    await shot('04-restore-modal');
    await confirm.click();
    await modal.waitFor({ state: 'detached' });

    await page.locator('[data-testid="job-progress"]', { hasText: 'Restore' }).waitFor({ timeout: 30_000 });
    await page
      .locator('[data-testid="job-progress"][data-status="succeeded"]', { hasText: 'Restore' })
      .waitFor({ timeout: 180_000 });
    expect(await job.textContent()).toContain(`restored ${snapshotId}`);
    await shot('05-restore-succeeded');

    const jobs = await env.api('GET', '/v1/jobs');
    const kinds = (jobs.body.jobs as Array<{ kind: string; status: string; trigger: string }>).map(
      (j) => `${j.kind}:${j.status}:${j.trigger}`,
    );
    expect(kinds).toEqual(expect.arrayContaining(['backup:succeeded:console', 'restore:succeeded:console']));
    expect(errors).toEqual([]);
  }, 420_000);

  it('opened while an offline backup has Mattermost stopped: "Mattermost is restarting…", then it reconnects by itself', async () => {
    const before = (await env.api('GET', '/v1/snapshots')).body.snapshots.length as number;
    // A session the sidecar has never checked: it cannot be checked while Mattermost is down.
    const fresh = env.rest.state.login('sysadmin');
    const release = env.holdStart();
    let released = false;
    try {
      const started = await env.api('POST', '/v1/jobs', { body: { kind: 'backup', mode: 'offline' } });
      expect(started.status).toBe(202);
      await eventually(
        async () =>
          !(await fetch(`${env.mmUrl}/api/v4/system/ping`).then(
            (r) => r.ok,
            () => false,
          )),
        60_000,
      );
      harness.useSession(fresh);
      await page.goto(`${harness.url}/admin_console/plugins/plugin_${PLUGIN_ID}`);
      await page.getByText(/Mattermost is restarting…/).waitFor({ timeout: 30_000 });
      await shot('06-mattermost-restarting');
      release();
      released = true;
      const table = page.getByTestId('snapshot-table');
      await eventually(async () => (await table.locator('tbody tr').count()) === before + 1, 120_000);
      expect(await page.getByText(/Mattermost is restarting/).count()).toBe(0);
      // The snapshot is listed once its manifest is committed; the job may still be running its
      // follow-ups (prune), so its outcome is read once it has one.
      const status = async () =>
        ((await env.api('GET', '/v1/jobs')).body.jobs as Array<{ id: string; status: string }>).find(
          (j) => j.id === started.body.id,
        )?.status;
      await eventually(async () => (await status()) !== 'running', 60_000);
      expect(await status()).toBe('succeeded');
    } finally {
      if (!released) release();
      harness.useSession(env.admin);
    }
  }, 300_000);
});

async function eventually(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

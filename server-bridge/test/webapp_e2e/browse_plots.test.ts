/**
 * The built plugin in a real headless Chromium against a real sidecar and repository: the trend
 * plots draw one mark per snapshot and their labels read in a light and a dark theme (the
 * contrast of each label's colour against the background behind it is computed in the page), and
 * the snapshot browser opens a folder and downloads a file, whose bytes equal the file on disk,
 * while a component that holds secrets offers no download. Screenshots go to
 * test-artifacts/screenshots/; with UPDATE_DOCS_SCREENSHOTS=1 also to docs/screenshots/.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
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
const BACKUPS = 3;

/** Mattermost's Onyx (dark) theme colours, as the webapp sets them on :root. */
const DARK = `:root { --center-channel-bg: #191b1f; --center-channel-color: #e3e4e8; --center-channel-color-rgb: 227,228,232;
  --button-bg: #4a7ebb; --error-text: #da6c6e; }`;

describe('Trends and the snapshot browser in Chromium', () => {
  let env: ServiceEnv;
  let harness: Harness;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install the chromium package (build/dev.sh test does) or set CHROMIUM_PATH`,
      );
    }
    env = await setupService();
    await mkdir(path.join(env.sb.dataDir, 'browse-e2e'), { recursive: true });
    await writeFile(path.join(env.sb.dataDir, 'browse-e2e', 'report.bin'), Buffer.alloc(300_000, 3));
    for (let i = 0; i < BACKUPS; i++) {
      // Each snapshot a little larger than the last, so the size plot rises.
      await writeFile(path.join(env.sb.dataDir, 'browse-e2e', `grow-${i}.bin`), Buffer.alloc(200_000 * (i + 1), i));
      const started = await env.api('POST', '/v1/jobs', { body: { kind: 'backup', mode: 'online' } });
      expect(started.status).toBe(202);
      await env.sidecar.jobs.idle();
    }
    const assets = buildAssets(mkdtempSync(path.join(os.tmpdir(), 'mm-backup-harness-')));
    harness = await startHarness(env, assets, PLUGIN_ID);
    profile = mkdtempSync(path.join(os.tmpdir(), 'mm-backup-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    mkdirSync(SHOTS, { recursive: true });
    mkdirSync(DOCS_SHOTS, { recursive: true });
  }, 400_000);

  afterAll(async () => {
    await context?.close();
    await harness?.close();
    await env?.cleanup();
    if (profile) rmSync(profile, { recursive: true, force: true });
  }, 120_000);

  async function shot(name: string, testId: string): Promise<void> {
    const file = path.join(SHOTS, `${name}.png`);
    await page.getByTestId(testId).screenshot({ path: file });
    if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') copyFileSync(file, path.join(DOCS_SHOTS, `${name}.png`));
  }

  /** Each text of the plots' (axis labels, titles, caption) WCAG contrast ratio against the first opaque background behind it. */
  function labelContrasts(): Promise<Array<{ text: string; ratio: number }>> {
    return page.evaluate(() => {
      const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
      const lum = (c: string): number => {
        const [r, g, b] = rgb(c).map((v) => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
      };
      const background = (el: Element | null): string => {
        for (let e = el; e; e = e.parentElement) {
          const bg = getComputedStyle(e).backgroundColor;
          const parts = rgb(bg);
          if (parts.length >= 3 && (parts.length === 3 || (parts[3] ?? 0) > 0)) return bg;
        }
        return 'rgb(255, 255, 255)';
      };
      return [...document.querySelectorAll('[data-testid="snapshot-plots"] :is(text, figcaption, p)')].map((t) => {
        const style = getComputedStyle(t);
        const a = lum(t instanceof SVGElement ? style.fill : style.color);
        const b = lum(background(t));
        return { text: t.textContent ?? '', ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
      });
    });
  }

  it('plots one mark per snapshot in each plot, with labels readable in the light and the dark theme', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${harness.url}/admin_console/plugins/plugin_${PLUGIN_ID}`);
    const plots = page.getByTestId('snapshot-plots');
    await plots.waitFor({ timeout: 60_000 });
    const ids = ((await env.api('GET', '/v1/snapshots')).body.snapshots as Array<{ id: string }>).map((s) => s.id);
    expect(ids).toHaveLength(BACKUPS);
    for (const key of ['bytes', 'new_bytes', 'duration_ms', 'downtime_ms']) {
      const marks = page.locator(`[data-testid="plot-${key}"] svg [data-testid="plot-mark"]`);
      expect(await marks.count()).toBe(BACKUPS);
      // Oldest on the left.
      expect(await marks.evaluateAll((els) => els.map((e) => e.getAttribute('data-snapshot')))).toEqual(
        [...ids].reverse(),
      );
    }
    // The size plot rises with the data written between the backups.
    const heights = await page
      .locator('[data-testid="plot-bytes"] [data-testid="plot-mark"]')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('height'))));
    expect(heights[2]).toBeGreaterThanOrEqual(heights[0] ?? 0);

    const light = await labelContrasts();
    expect(light.length).toBeGreaterThanOrEqual(16 + 4 + 1);
    for (const l of light) expect(l).toEqual({ text: l.text, ratio: expect.any(Number) });
    expect(Math.min(...light.map((l) => l.ratio))).toBeGreaterThanOrEqual(4.5);
    await shot('10-plots-light', 'section-plots');

    await page.addStyleTag({ content: DARK });
    const dark = await labelContrasts();
    expect(Math.min(...dark.map((l) => l.ratio))).toBeGreaterThanOrEqual(4.5);
    // The theme reached the plot: its labels are light now (a hard-coded colour would not change).
    const fill = await page
      .locator('[data-testid="plot-label"]')
      .first()
      .evaluate((e) => getComputedStyle(e).fill);
    expect(fill).toBe('rgb(227, 228, 232)');
    await shot('11-plots-dark', 'section-plots');
    expect(errors).toEqual([]);
  }, 180_000);

  it('browses a snapshot, downloads a file equal to the one on disk, and offers no download of secrets', async () => {
    await page.goto(`${harness.url}/admin_console/plugins/plugin_${PLUGIN_ID}`);
    const browser = page.getByTestId('snapshot-browser');
    await browser.waitFor({ timeout: 60_000 });
    // A component that holds secrets: names only, nothing to download.
    await page.getByTestId('browse-component').selectOption('config');
    await page.getByTestId('browse-secrets').waitFor({ timeout: 30_000 });
    await page.getByTestId('browse-row').filter({ hasText: 'config.json' }).waitFor();
    expect(await page.getByTestId('browse-download').count()).toBe(0);
    expect(await page.getByTestId('browse-download-dir').count()).toBe(0);

    await page.getByTestId('browse-component').selectOption('data');
    await page.getByRole('button', { name: 'browse-e2e/' }).click({ timeout: 30_000 });
    const row = page.getByTestId('browse-row').filter({ hasText: 'report.bin' });
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain('293 KB');
    await shot('12-browse-files', 'section-browse');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 30_000 }),
      row.getByTestId('browse-download').click(),
    ]);
    expect(download.suggestedFilename()).toBe('report.bin');
    const saved = await download.path();
    expect((await readFile(saved)).equals(await readFile(path.join(env.sb.dataDir, 'browse-e2e', 'report.bin')))).toBe(
      true,
    );
  }, 180_000);
});

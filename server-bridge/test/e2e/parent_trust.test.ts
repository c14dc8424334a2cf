/**
 * A backup reuses its parent's checksums for files that did not change (size, mtime, inode,
 * owner, mode), then SIGNS the new manifest. The parent is therefore believed: one planted in
 * the repository (a copy of the newest manifest, newer id, no signature, one checksum pointing at
 * the attacker's object) would be laundered into a signed snapshot that restores the attacker's
 * file. Only a parent signed by a trusted key may lend its checksums. Real CLI, real install.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres', { size: { posts: 20, attachments: 2, attachmentBytes: 10_000 } });
  await env.writeConfig({ backup: { mode: 'online' } });
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

type Entry = { path: string; type: string; sha256?: string; size?: number };
type Manifest = { id: string; components: Array<{ id: string; status: string; entries: Entry[] }> };
const manifestOf = async (id: string): Promise<Manifest> =>
  JSON.parse(await readFile(path.join(env.repo, 'snapshots', `${id}.json`), 'utf8'));

test('an unsigned parent planted in the repository lends no checksum to the next (signed) backup', async () => {
  const b1 = await env.cli('backup');
  expect(b1.code).toBe(0);
  const genuine = await manifestOf(b1.summary?.snapshot.id);
  const comp = genuine.components.find(
    (c) => c.status === 'included' && c.entries.some((e) => e.type === 'file' && e.sha256 && e.size),
  ) as Manifest['components'][number];
  const victim = comp.entries.find((e) => e.type === 'file' && e.sha256 && e.size) as Entry;

  // The attacker's content, stored as an object (an unencrypted repository; with age recipients
  // anyone can encrypt one too), and a forged newest manifest naming it for the victim file.
  const evil = Buffer.from('attacker content\n');
  const evilSha = createHash('sha256').update(evil).digest('hex');
  await mkdir(path.join(env.repo, 'objects', evilSha.slice(0, 2)), { recursive: true });
  await writeFile(path.join(env.repo, 'objects', evilSha.slice(0, 2), evilSha), evil);
  // Newest before the next backup: the genuine id's second with the highest suffix. (A stamp
  // taken now could fall in the same second as the next backup's id and sort after it.)
  const forgedId = `${genuine.id.replace(/-[0-9a-f]+$/, '')}-ffffff`;
  expect(forgedId > genuine.id).toBe(true);
  const forged = JSON.parse(JSON.stringify(genuine)) as Manifest;
  forged.id = forgedId;
  for (const e of (forged.components.find((c) => c.id === comp.id) as Manifest['components'][number]).entries) {
    if (e.path === victim.path) e.sha256 = evilSha;
  }
  await writeFile(path.join(env.repo, 'snapshots', `${forgedId}.json`), JSON.stringify(forged));
  expect(
    Object.fromEntries(
      ((await env.cli('list')).summary?.snapshots ?? []).map((s: { id: string; trust: string }) => [s.id, s.trust]),
    )[forgedId],
  ).toBe('unsigned');

  const b2 = await env.cli('backup');
  expect(b2.code).toBe(0);
  const next = await manifestOf(b2.summary?.snapshot.id);
  expect(next.id > forgedId).toBe(true);
  const entry = next.components.find((c) => c.id === comp.id)?.entries.find((e) => e.path === victim.path);
  expect({ path: victim.path, sha256: entry?.sha256 }).toEqual({ path: victim.path, sha256: victim.sha256 });
  // And the new snapshot is signed and verifies: nothing of the forgery reached it.
  expect((await env.cli('verify', next.id)).code).toBe(0);
}, 240_000);

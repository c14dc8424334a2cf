// node --test: the many-files tree on a real directory, written by the real worker threads (run from tools/dist/bench).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { estimateNeeds, writeAttachmentTree, type PostRef } from './many_files';

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

void describe('writeAttachmentTree', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  void it("writes original, thumbnail and preview per attachment in Mattermost's layout, every file distinct, rows after files", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'bench-many-'));
    dirs.push(root);
    const day = Date.UTC(2025, 2, 4, 12);
    const posts: PostRef[] = Array.from({ length: 40 }, (_, i) => ({
      id: `post${i}`.padEnd(26, 'p'),
      channelId: `chan${i % 3}`.padEnd(26, 'c'),
      userId: `user${i % 5}`.padEnd(26, 'u'),
      teamId: i % 4 ? 'team1'.padEnd(26, 't') : '',
      createAt: day + i * 1000,
    }));
    let batches = 0;
    let rowsBeforeFiles = 0;
    const r = await writeAttachmentTree({
      dataDir: root,
      files: 1600,
      posts,
      workers: 2,
      onBatch: async (batch) => {
        batches++;
        const missing = batch.flatMap((a) => a.files.filter(([name]) => !existsSync(path.join(root, a.dir, name))));
        rowsBeforeFiles += missing.length;
        await Promise.resolve();
      },
    });
    assert.equal(r.attachments, 534);
    assert.equal(r.files, 1602, 'rounded up to a multiple of 3');
    assert.equal(rowsBeforeFiles, 0);
    assert.equal(batches, 3);
    const files = walk(root);
    assert.equal(files.length, 1602);
    const layout =
      /^\d{8}\/teams\/(team1t+|noteam)\/channels\/chan\dc+\/users\/user\du+\/[a-z0-9]{26}\/(.+)\.(jpg|png)$/;
    let bytes = 0;
    const hashes = new Set<string>();
    const byDir = new Map<string, string[]>();
    for (const f of files) {
      const rel = path.relative(root, f);
      assert.match(rel, layout);
      const size = statSync(f).size;
      assert.ok(size >= 120 && size <= 6000, `${rel}: ${size} bytes`);
      bytes += size;
      const data = readFileSync(f);
      hashes.add(createHash('sha256').update(data).digest('hex'));
      // The format's magic first, then the attachment's id: distinct by construction, not by chance.
      assert.equal(data[0], f.endsWith('.png') ? 0x89 : 0xff, rel);
      assert.ok(data.includes(path.basename(path.dirname(f))), `${rel} names its attachment`);
      byDir.set(path.dirname(rel), [...(byDir.get(path.dirname(rel)) ?? []), path.basename(rel)]);
    }
    assert.equal(bytes, r.bytes);
    assert.equal(hashes.size, files.length, 'no two files share their content');
    assert.ok(
      files.some((f) => f.includes('/20250304/teams/noteam/')),
      'direct-message posts go under noteam',
    );
    for (const [dir, names] of byDir) {
      const original = names.find((n) => !n.endsWith('_thumb.jpg') && !n.endsWith('_preview.jpg')) ?? '';
      const stem = original.slice(0, original.lastIndexOf('.'));
      assert.deepEqual([...names].sort(), [original, `${stem}_preview.jpg`, `${stem}_thumb.jpg`].sort(), dir);
    }
  });
});

void describe('estimateNeeds', () => {
  void it('counts a block per small file and an inode per file and directory, for several copies', () => {
    const n = estimateNeeds({ manyFiles: 1_000_000, attachmentBytes: 0, secondManyFiles: 50_000 });
    assert.ok(n.bytes > 20 * 1024 ** 3 && n.bytes < 40 * 1024 ** 3, String(n.bytes));
    assert.ok(n.inodes > 5_000_000 && n.inodes < 10_000_000, String(n.inodes));
  });
});

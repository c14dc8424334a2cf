/**
 * A restore checks the database dump before Mattermost stops and streams it into the database
 * later. A dump swapped in the repository in between (same tables, same row counts, other rows)
 * must fail the restore step (which the restore then undoes), never pass as the snapshot's.
 * Real PostgreSQL, real pg_restore and zstd, a real repository.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { openEngine } from '../../src/database/open_engine';
import { parseDsn } from '../../src/database/dsn';
import type { DatabaseEngine } from '../../src/database/engine';
import { startPostgres } from '@mm-backup/testkit';
import { compressor } from '../../src/components/compression';
import { restoreDatabaseRecord } from '../../src/components/database_component';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { objectKey } from '../../src/repository/layout';
import type { ComponentRecord } from '../../src/manifest/manifest';
import { caught } from '../support/caught';

let server: Awaited<ReturnType<typeof startPostgres>>;
let work: string;
beforeAll(async () => {
  server = await startPostgres({ name: 'objswap' });
  work = await mkdtemp(path.join(os.tmpdir(), 'objswap-db-'));
}, 180_000);
afterAll(async () => {
  await server?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

async function compressedDump(
  engine: DatabaseEngine,
): Promise<{ bytes: Buffer; rowCounts: Record<string, number>; tool: string; format: string }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const res = await engine.dump(out, {});
  const z = compressor(1);
  z.input.end(Buffer.concat(chunks));
  const zc: Buffer[] = [];
  for await (const c of z.output) zc.push(c as Buffer);
  await z.proc.done;
  return { bytes: Buffer.concat(zc), rowCounts: res.rowCounts, tool: res.tool, format: res.format };
}

test('a dump swapped after preflight (same tables and row counts) fails the restore step', async () => {
  for (const [db, v] of [
    ['good', 'real'],
    ['evil', 'forged'],
  ] as const) {
    await server.createDatabase(db);
    await server.exec(
      db,
      `CREATE TABLE users (id int primary key, role varchar(20)); INSERT INTO users VALUES (1, '${v}')`,
    );
  }
  const repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  const good = await compressedDump(openEngine(parseDsn(server.adminUrl('good'), 'postgres')));
  const evil = await compressedDump(openEngine(parseDsn(server.adminUrl('evil'), 'postgres')));
  const stored = await repo.ingest(Readable.from([good.bytes]));
  expect(await repo.checkObject(stored.sha256, stored.size)).toBeUndefined();
  // The swap, after the check: the object file now holds the forged dump.
  const file = path.join(work, 'repo', objectKey(stored.sha256));
  await rm(file);
  await writeFile(file, evil.bytes);

  const record: ComponentRecord = {
    id: 'database',
    title: 'Database',
    status: 'included',
    exclude: [],
    entries: [],
    files: 1,
    bytes: stored.size,
    newBytes: 0,
    filesRead: 0,
    durationMs: 0,
    database: {
      driver: 'postgres',
      target: 'x',
      serverVersion: '16',
      tool: good.tool,
      format: good.format as 'pg_custom',
      compression: 'zstd',
      rowCounts: good.rowCounts,
      object: stored.sha256,
      size: stored.size,
    },
  };
  await server.createDatabase('target');
  const engine = openEngine(parseDsn(server.adminUrl('target'), 'postgres'));
  const step = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
  const err = await caught(restoreDatabaseRecord(record, { repo, step, engine }));
  expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
  expect(err.message).toMatch(/does not match its checksum/);
}, 120_000);

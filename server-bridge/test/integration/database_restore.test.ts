/**
 * The engines' restore contract against real servers: a complete dump is applied whole, and a dump
 * whose stream breaks part-way is refused loudly, never reported as restored.
 */
import { PassThrough, Readable } from 'node:stream';
import { openEngine } from '../../src/database/open_engine';
import { parseDsn } from '../../src/database/dsn';
import type { DatabaseEngine } from '../../src/database/engine';
import { startMariadb, startPostgres } from '@mm-backup/testkit';
import { caught } from '../support/caught';
import { compressor, decompressor } from '../../src/components/compression';

type Server = Awaited<ReturnType<typeof startMariadb>> | Awaited<ReturnType<typeof startPostgres>>;

describe.each(['mysql', 'postgres'] as const)('%s engine restore', (driver) => {
  let server: Server;
  let engine: DatabaseEngine;

  beforeAll(async () => {
    server = driver === 'mysql' ? await startMariadb({ name: 'restore' }) : await startPostgres({ name: 'restore' });
    await server.createDatabase('src');
    engine = openEngine(parseDsn(server.adminUrl('src'), driver));
    await server.exec(
      'src',
      'CREATE TABLE Alpha (id int primary key, v varchar(20)); CREATE TABLE Beta (id int primary key)',
    );
    await server.exec(
      'src',
      "INSERT INTO Alpha VALUES (1, 'one'), (2, 'two'), (3, 'three'); INSERT INTO Beta VALUES (7)",
    );
  }, 180_000);
  afterAll(async () => {
    await server?.destroy();
  });

  async function dumpBytes(): Promise<Buffer> {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await engine.dump(out, {});
    return Buffer.concat(chunks);
  }

  test('a whole dump replaces the target contents and the engine reports the tables it sees', async () => {
    const dump = await dumpBytes();
    await server.createDatabase('whole');
    const target = engine.withDatabase('whole');
    await server.exec('whole', 'CREATE TABLE leftover (x int)');
    const report = await target.restore(Readable.from([dump]), {});
    const counts = await target.rowCounts();
    const norm = (o: Record<string, number>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));
    expect(norm(counts)).toEqual({ alpha: 3, beta: 1 });
    if (driver === 'mysql') expect(report.tablesAfterLoad).toEqual(['Alpha', 'Beta']);
  });

  test('a dump decompressed by a child that has already exited is applied whole', async () => {
    // The restore reads its input only after the DROP step; a fast zstd is done by then.
    const z = compressor(1);
    z.input.end(await dumpBytes());
    const chunks: Buffer[] = [];
    for await (const c of z.output) chunks.push(c as Buffer);
    await z.proc.done;
    await server.createDatabase('late');
    const target = engine.withDatabase('late');
    await server.exec('late', 'CREATE TABLE leftover (x int)');
    const d = decompressor(Readable.from([Buffer.concat(chunks)]));
    await d.proc.done;
    await new Promise((r) => setTimeout(r, 100));
    await target.restore(d.output, {});
    const counts = await target.rowCounts();
    expect(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k.toLowerCase(), v]))).toEqual({
      alpha: 3,
      beta: 1,
    });
  });

  test('a dump of many MB is applied whole, up to its last statement', async () => {
    // psql is slower than pg_restore: the tail of the script is still in flight when
    // pg_restore exits, and COMMIT must come after it, not in the middle of it.
    await server.createDatabase('bigsrc');
    const gen =
      driver === 'mysql'
        ? 'CREATE TABLE Gamma (id int primary key, v varchar(200)); INSERT INTO Gamma SELECT seq, REPEAT(MD5(seq), 4) FROM seq_1_to_150000'
        : `CREATE TABLE Gamma (id int primary key, v varchar(200)); INSERT INTO Gamma SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 150000) g;
         CREATE INDEX gamma_v1 ON Gamma (v); CREATE INDEX gamma_v2 ON Gamma (md5(v));
         DO $$ BEGIN FOR i IN 1..800 LOOP EXECUTE format('CREATE TABLE t%s (id int primary key, v text); CREATE INDEX t%s_v ON t%s (v)', i, i, i); END LOOP; END $$`;
    await server.exec('bigsrc', gen);
    const src = openEngine(parseDsn(server.adminUrl('bigsrc'), driver));
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await src.dump(out, {});
    await server.createDatabase('bigdst');
    const target = engine.withDatabase('bigdst');
    await target.restore(Readable.from([Buffer.concat(chunks)]), {});
    const counts = await target.rowCounts();
    expect(
      Object.fromEntries(
        Object.entries(counts)
          .filter(([k]) => !/^t\d+$/.test(k))
          .map(([k, v]) => [k.toLowerCase(), v]),
      ),
    ).toEqual({ gamma: 150000 });
    expect(Object.keys(counts)).toHaveLength(driver === 'mysql' ? 1 : 801);
  });

  test('a dump stream that breaks part-way is refused, not reported as restored', async () => {
    const dump = await dumpBytes();
    await server.createDatabase('broken');
    const target = engine.withDatabase('broken');
    // Cut where the stream fails, after the first table: a client reading to EOF would stop cleanly there.
    const cut =
      driver === 'mysql' ? dump.indexOf(Buffer.from('Table structure for table `Beta`')) : Math.floor(dump.length / 2);
    expect(cut).toBeGreaterThan(0);
    // Deterministic break: the first read() hands over the head; the next one comes only once the
    // consumer has taken every byte of it (highWaterMark 1), and that one fails like a disk would.
    let reads = 0;
    let consumedHead = false;
    const input = new Readable({
      highWaterMark: 1,
      read() {
        if (reads++ === 0) {
          this.push(dump.subarray(0, cut));
          return;
        }
        consumedHead = true;
        this.destroy(new Error('disk read failed'));
      },
    });
    const err = await caught(target.restore(input, {}));
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(driver === 'mysql' ? /stopped before the end of the dump/ : /pg_restore|psql/);
    expect(consumedHead).toBe(true);
  });
});

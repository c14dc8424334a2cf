import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MysqlInsertCounter, PgCopyCounter } from '../../src/database/dump_scanner';

async function feed(w: NodeJS.WritableStream, text: string, chunk = 7): Promise<void> {
  const parts: Buffer[] = [];
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  await pipeline(Readable.from(parts), w);
}

test('counts COPY rows per table across chunk boundaries', async () => {
  const c = new PgCopyCounter();
  await feed(
    c,
    'SET x;\nCOPY public.posts (id, message) FROM stdin;\na\tb\nc\td\n\\.\nCOPY public."Odd""Name" (x) FROM stdin;\n\\.\nCOPY other.t (x) FROM stdin;\n1\n\\.\n',
  );
  expect(c.rowCounts).toEqual({ posts: 2, 'Odd"Name': 0, 'other.t': 1 });
});

test('counts mysqldump tuples, honouring quotes, escapes and parentheses in strings', async () => {
  const c = new MysqlInsertCounter();
  await feed(
    c,
    [
      '-- MySQL dump',
      "INSERT INTO `Posts` VALUES ('a','it''s (not) a row\\' ; (x)',1),('b','}',2);",
      "INSERT INTO `Posts` VALUES ('c',NULL,3);",
      'INSERT INTO `Weird``Name` VALUES (1);',
      '-- Dump completed on 2026-01-01',
    ].join('\n'),
  );
  expect(c.rowCounts).toEqual({ Posts: 3, 'Weird`Name': 1 });
  expect(c.completed).toBe(true);
});

test('counts MariaDB 10.11 dumps, which put each tuple on its own line', async () => {
  const c = new MysqlInsertCounter();
  await feed(
    c,
    "LOCK TABLES `t` WRITE;\nINSERT INTO `t` VALUES\n(1,'a'),\n(2,'b(c\\n'),\n(3,NULL);\nUNLOCK TABLES;\n-- Dump completed on 2026-11-21 20:08:51\n",
  );
  expect(c.rowCounts).toEqual({ t: 3 });
  expect(c.completed).toBe(true);
});

test('a truncated mysqldump has no completion trailer', async () => {
  const c = new MysqlInsertCounter();
  await feed(c, "INSERT INTO `Posts` VALUES ('a',1),('b");
  expect(c.completed).toBe(false);
});

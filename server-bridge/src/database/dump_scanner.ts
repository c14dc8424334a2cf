/**
 * Counts rows per table in SQL dump text as it streams by: PostgreSQL COPY blocks (as printed by
 * `pg_restore -f -`) and mysqldump's extended INSERTs. Used to check a dump without a database.
 */
import { Writable } from 'node:stream';

const NL = 0x0a;

/** Counts COPY rows in pg_restore's SQL output; `finished` tells whether the script ended cleanly. */
export class PgCopyCounter extends Writable {
  readonly rowCounts: Record<string, number> = {};
  private current: string | null = null;
  private partial = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl === -1) {
        // Keep at most the head of an unfinished line: enough to recognise COPY headers and `\.`.
        if (this.partial.length < 4096) {
          this.partial += chunk.toString('utf8', start, Math.min(chunk.length, start + 4096));
        }
        break;
      }
      const head = this.partial + chunk.toString('utf8', start, Math.min(nl, start + 4096));
      this.partial = '';
      this.line(head);
      start = nl + 1;
    }
    cb();
  }
  private line(line: string): void {
    if (this.current !== null) {
      if (line === '\\.') this.current = null;
      else this.rowCounts[this.current] = (this.rowCounts[this.current] ?? 0) + 1;
      return;
    }
    const m = /^COPY ([^ ]+) .*FROM stdin;$/.exec(line);
    if (m) {
      const table = unquote(m[1] as string);
      this.current = table;
      this.rowCounts[table] ??= 0;
    }
  }
}

function unquote(qualified: string): string {
  const parts = qualified.split('.').map((p) => p.replace(/^"|"$/g, '').replace(/""/g, '"'));
  const name = parts[parts.length - 1] ?? qualified;
  return parts.length > 1 && parts[0] !== 'public' ? `${parts[0]}.${name}` : name;
}

const enum S {
  LineStart,
  Other,
  InsertHead,
  Values,
  InString,
}

/**
 * Counts tuples of `INSERT INTO \`t\` VALUES (...),(...);` in mysqldump output, byte by byte,
 * honouring quotes and backslash escapes; also notices the `-- Dump completed` trailer.
 */
export class MysqlInsertCounter extends Writable {
  readonly rowCounts: Record<string, number> = {};
  completed = false;
  private state: S = S.LineStart;
  private head = '';
  private table = '';
  private depth = 0;
  private lineHead = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      switch (this.state) {
        case S.LineStart:
        case S.Other:
          if (c === NL) {
            this.noteLine();
            this.state = S.LineStart;
            this.lineHead = '';
          } else if (this.lineHead.length < 24) {
            this.lineHead += String.fromCharCode(c);
            if (this.lineHead === 'INSERT INTO ') {
              this.state = S.InsertHead;
              this.head = '';
            }
          }
          break;
        case S.InsertHead:
          this.head += String.fromCharCode(c);
          // MySQL writes `VALUES (..),(..);` on one line; MariaDB 10.11+ puts each tuple on its own line.
          if (this.head.endsWith(' VALUES ') || this.head.endsWith(' VALUES\n')) {
            const m = /^`((?:[^`]|``)+)`/.exec(this.head);
            this.table = m ? (m[1] as string).replace(/``/g, '`') : '?';
            this.rowCounts[this.table] ??= 0;
            this.state = S.Values;
            this.depth = 0;
          } else if (this.head.length > 512) {
            this.state = S.Other;
          }
          break;
        case S.Values:
          if (c === 0x27) this.state = S.InString;
          else if (c === 0x28) {
            if (this.depth++ === 0) this.rowCounts[this.table] = (this.rowCounts[this.table] ?? 0) + 1;
          } else if (c === 0x29) this.depth--;
          else if (c === 0x3b && this.depth === 0) {
            this.state = S.Other;
            this.lineHead = 'x'.repeat(24);
          }
          break;
        case S.InString:
          if (c === 0x5c) {
            i++;
          } // backslash escapes the next byte
          else if (c === 0x27) this.state = S.Values;
          break;
      }
    }
    cb();
  }
  private noteLine(): void {
    if (this.lineHead.startsWith('-- Dump completed')) this.completed = true;
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.noteLine();
    cb();
  }
}

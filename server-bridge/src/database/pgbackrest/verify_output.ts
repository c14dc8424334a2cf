/**
 * What `pgbackrest verify --output=text --verbose --log-level-console=detail` (2.45) prints, read
 * into facts. It checks the whole repository: every archived WAL segment and every backup file
 * against its checksum. It exits 0 whatever it finds, so its verdict is read from `status:`. The
 * WAL ranges come from its DETAIL lines (a new range starts where a segment is missing); its
 * INFO/WARN lines name the files that failed. Child output: bounded, matched line by line, and
 * never echoed beyond a few sanitised names.
 */

export interface VerifyCounts {
  checked: number;
  valid: number;
  missing: number;
  checksum: number;
  size: number;
  other: number;
}

export interface WalRange {
  archiveId: string;
  start: string;
  stop: string;
}

export interface VerifyReport {
  status: 'ok' | 'error';
  archives: Array<{ archiveId: string } & VerifyCounts>;
  backups: Array<{ label: string; status: string } & VerifyCounts>;
  ranges: WalRange[];
  /** Files named as failing (at most MAX_NAMED), for the message. */
  badFiles: string[];
  /** Lines of the result that are neither an archive nor a backup (no usable backup.info, …). */
  otherProblems: string[];
}

const MAX_NAMED = 10;
const SEGMENT = '[0-9A-F]{24}';
const RANGE = new RegExp(`DETAIL: archiveId: (\\S{1,64}), wal start: (${SEGMENT}), wal stop: (${SEGMENT})\\s*$`);
const ARCHIVE = /^\s*archiveId: (\S{1,64}), total WAL checked: (\d+), total valid WAL: (\d+)\s*$/;
const BACKUP =
  /^\s*backup: (\S{1,64}), status: ([a-z -]{1,32}), total files checked: (\d+), total valid files: (\d+)\s*$/;
const COUNTS = /^\s*((?:(?:missing|checksum invalid|size invalid|other): \d+(?:, )?)+)\s*$/;
const LOG_LINE = /^(?:\d{4}-\d\d-\d\d \S+ )?P\d{2,}\s+[A-Z]+: /;
const BAD_FILE = /(?:INFO|WARN): (?:invalid checksum|file missing|invalid size|invalid result) '?([^':\s]{1,200})/;

/** Printable ASCII only: a file name planted in the repository must not carry escapes into posts. */
function clean(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

export function parseVerifyOutput(text: string): VerifyReport {
  const lines = text.split('\n');
  // The result is printed last to stdout as a plain block starting with `stanza:`; the INFO log
  // line before it repeats the block with a prefix, so only the last `stanza:` at line start counts.
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^stanza: /.test(lines[i] as string)) {
      at = i;
      break;
    }
  }
  const report: VerifyReport = {
    status: 'error',
    archives: [],
    backups: [],
    ranges: [],
    badFiles: [],
    otherProblems: [],
  };
  for (const line of at >= 0 ? lines.slice(0, at) : lines) {
    const r = RANGE.exec(line);
    if (r) report.ranges.push({ archiveId: r[1] as string, start: r[2] as string, stop: r[3] as string });
    const b = BAD_FILE.exec(line);
    if (b && report.badFiles.length < MAX_NAMED) report.badFiles.push(clean(b[1] as string));
  }
  if (at < 0) {
    report.otherProblems.push('pgbackrest verify printed no result');
    return report;
  }
  let last: VerifyCounts | undefined;
  for (const line of lines.slice(at + 1)) {
    // A log line after the block (`verify command end`) is not part of it.
    if (!line.trim() || LOG_LINE.test(line)) continue;
    if (/^status: ok\s*$/.test(line)) report.status = 'ok';
    else if (/^status: /.test(line)) report.status = 'error';
    else if (ARCHIVE.test(line)) {
      const m = ARCHIVE.exec(line) as RegExpExecArray;
      const a = {
        archiveId: m[1] as string,
        checked: Number(m[2]),
        valid: Number(m[3]),
        missing: 0,
        checksum: 0,
        size: 0,
        other: 0,
      };
      report.archives.push(a);
      last = a;
    } else if (BACKUP.test(line)) {
      const m = BACKUP.exec(line) as RegExpExecArray;
      const b = {
        label: m[1] as string,
        status: m[2] as string,
        checked: Number(m[3]),
        valid: Number(m[4]),
        missing: 0,
        checksum: 0,
        size: 0,
        other: 0,
      };
      report.backups.push(b);
      last = b;
    } else if (COUNTS.test(line) && last) {
      for (const part of line.trim().split(', ')) {
        const [k, v] = part.split(': ');
        const n = Number(v);
        if (k === 'missing') last.missing = n;
        else if (k === 'checksum invalid') last.checksum = n;
        else if (k === 'size invalid') last.size = n;
        else if (k === 'other') last.other = n;
      }
    } else if (report.otherProblems.length < MAX_NAMED) {
      report.otherProblems.push(clean(line.trim()).slice(0, 300));
    }
  }
  return report;
}

/** The problems of a report, one sentence each (empty when pgBackRest found none). */
export function verifyProblems(r: VerifyReport): string[] {
  const out: string[] = [];
  const counts = (c: VerifyCounts) =>
    [
      c.missing ? `${c.missing} missing` : '',
      c.checksum ? `${c.checksum} with a wrong checksum` : '',
      c.size ? `${c.size} of a wrong size` : '',
      c.other ? `${c.other} unreadable` : '',
    ]
      .filter(Boolean)
      .join(', ');
  for (const a of r.archives) {
    if (a.valid < a.checked || a.missing + a.checksum + a.size + a.other > 0) {
      out.push(
        `WAL archive ${a.archiveId}: ${a.checked - a.valid} of ${a.checked} segments are damaged (${counts(a)})`,
      );
    }
  }
  for (const b of r.backups) {
    if (b.status !== 'valid' && b.status !== 'in-progress') {
      out.push(
        `backup ${b.label} is ${b.status}${b.checked ? `: ${b.checked - b.valid} of ${b.checked} files damaged (${counts(b)})` : ''}`,
      );
    }
  }
  out.push(...r.otherProblems);
  if (r.status === 'error' && out.length === 0) out.push('pgbackrest verify reported an error');
  return out;
}

/**
 * The error of a file operation on a backup source or a staged copy, shaped like Node's own fs
 * errors so that callers test `code` either way, wherever the operation ran (a worker thread too).
 */

/** The fields of a failed file operation (a worker posts them; Node's own errors carry the same). */
export interface FileOpFields {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  dest?: string;
  side?: 'source' | 'destination';
}

/**
 * A file operation that failed in a worker, with the fields Node gives the same failure on the
 * main thread (`code` 'ENOENT', 'EACCES', ...; `errno`, `syscall`, `path`), so callers test it as
 * they would any fs error; `side` says which file failed: the one read or the copy written.
 * Code EFTYPE: the path is no longer a regular file (e.g. replaced by a FIFO since it was listed).
 * Code EMOVED: the file opened is not at the path that was opened (a directory on the path was
 * moved, or replaced by a link, since the walk listed it): what was read is not the listed file.
 */
export class FileOpError extends Error {
  readonly code: string | undefined;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;
  readonly path: string | undefined;
  readonly dest: string | undefined;
  readonly side: 'source' | 'destination' | undefined;
  constructor(fields: FileOpFields, opts?: { cause?: unknown }) {
    super(fields.message, opts);
    this.name = new.target.name;
    this.code = fields.code;
    this.errno = fields.errno;
    this.syscall = fields.syscall;
    this.path = fields.path;
    this.dest = fields.dest;
    this.side = fields.side;
  }
}

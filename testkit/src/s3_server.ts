/**
 * Starts a real S3-compatible server (s3rver) on loopback in a child process, with one bucket.
 * stop() kills it outright; start() brings it back on the same port with the same data.
 * With `tls`, it serves https with a self-signed certificate made by openssl at start (its own
 * CA: `caFile`); with `credentials`, it accepts that key pair too (read by the child from a 0600
 * file, so the secret is in no process's argv or environment).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kitRoot } from './kit_root';
import { runChecked, signalPid } from './proc_util';
import { freePort, makeTempDir, registerExitCleanup, removeTempDir } from './temp_dir';

// Plain JavaScript kept in src/ (tsc does not copy it), so one path serves the kit run from src or dist.
const CHILD = path.join(kitRoot(), 'src', 's3rver_child.js');

/** A running s3rver with one bucket. */
export interface S3Server {
  endpoint: string;
  bucket: string;
  dir: string;
  /** s3rver's fixed test credentials, or the ones given to startS3Server (both are accepted). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** With tls: the PEM certificate that signs (is) the server's, for 127.0.0.1. */
  caFile?: string;
  /** The server process's pid while it runs (a test may kill it). */
  pid(): number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export interface S3ServerOptions {
  /** Serve https with a self-signed certificate for 127.0.0.1 (S3Server.caFile). */
  tls?: boolean;
  /** A key pair accepted besides s3rver's fixed S3RVER/S3RVER. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Starts s3rver on a free loopback port with `bucket`; destroy() kills it and removes its data. */
export async function startS3Server(bucket = 'mm-backup-test', opts: S3ServerOptions = {}): Promise<S3Server> {
  const port = await freePort();
  const root = await makeTempDir('s3rver-');
  const dir = path.join(root, 'data');
  const options: Record<string, string> = {};
  let caFile: string | undefined;
  if (opts.tls) {
    caFile = path.join(root, 'cert.pem');
    options.keyFile = path.join(root, 'key.pem');
    options.certFile = caFile;
    // pgBackRest 2.45 matches the host only against DNS names (and the CN): the address is both.
    await runChecked('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      options.keyFile,
      '-out',
      caFile,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=DNS:127.0.0.1,IP:127.0.0.1',
    ]);
  }
  if (opts.credentials) Object.assign(options, opts.credentials);
  const optionsFile = path.join(root, 'options.json');
  await writeFile(optionsFile, JSON.stringify(options), { mode: 0o600 });
  let child: ChildProcess | undefined;
  // A test process killed outright (jest on a signal) runs no afterAll: the kit's reaper kills the
  // server named in this file then, as it does a forgotten database server.
  const pidFile = path.join(root, 's3rver.pid');
  const disarm = registerExitCleanup(
    () => {
      if (child?.pid !== undefined && child.exitCode === null) signalPid(child.pid, 'SIGKILL');
    },
    { kind: 'pidfile', path: pidFile, signal: 'SIGKILL', match: 's3rver_child' },
  );
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, [CHILD, String(port), dir, bucket, optionsFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      if (c.pid !== undefined) writeFileSync(pidFile, `${c.pid}\n`);
      let err = '';
      c.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      c.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve();
      });
      c.once('exit', (code) => reject(new Error(`s3rver exited (${code}): ${err}`)));
    });
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  await start();
  return {
    endpoint: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    bucket,
    dir,
    credentials: opts.credentials ?? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    caFile,
    pid: () => (child?.exitCode === null ? child.pid : undefined),
    start,
    stop,
    destroy: async () => {
      await stop();
      disarm();
      await removeTempDir(root);
    },
  };
}

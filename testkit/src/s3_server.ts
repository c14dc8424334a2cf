/**
 * Starts a real S3-compatible server (s3rver) on loopback in a child process, with one bucket.
 * stop() kills it outright; start() brings it back on the same port with the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { kitRoot } from './kit_root';
import { freePort, makeTempDir, removeTempDir } from './temp_dir';

// Plain JavaScript kept in src/ (tsc does not copy it), so one path serves the kit run from src or dist.
const CHILD = path.join(kitRoot(), 'src', 's3rver_child.js');

/** A running s3rver with one bucket; credentials are s3rver's fixed ones. */
export interface S3Server {
  endpoint: string;
  bucket: string;
  dir: string;
  /** s3rver's fixed test credentials. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

/** Starts s3rver on a free loopback port with `bucket`; destroy() kills it and removes its data. */
export async function startS3Server(bucket = 'mm-backup-test'): Promise<S3Server> {
  const port = await freePort();
  const root = await makeTempDir('s3rver-');
  const dir = path.join(root, 'data');
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, [CHILD, String(port), dir, bucket], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
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
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    dir,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    start,
    stop,
    destroy: async () => {
      await stop();
      await removeTempDir(root);
    },
  };
}

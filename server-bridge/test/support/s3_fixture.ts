/**
 * The real S3-compatible test server (s3rver on loopback) as a test file uses it: started once
 * for the file (or describe block), the bucket seen directly under a prefix, and the key files
 * and `offsite.s3` block a config names to reach it.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startS3Server, type S3Server } from '@mm-backup/testkit';
import { S3Storage } from '../../src/storage/s3_storage';

/** The `offsite.s3` block of a config reaching the test server through key files. */
export interface OffsiteS3Block {
  endpoint: string;
  bucket: string;
  prefix: string;
  forcePathStyle: true;
  accessKeyIdFile: string;
  secretAccessKeyFile: string;
}

/**
 * One server for the tests of the file or describe block this is called in: started by a
 * beforeAll hook (a first start may take long: it is given 60 s), destroyed by an afterAll hook.
 * Contract: `server` and the methods are only usable inside tests and hooks that run after that
 * beforeAll; before it, or after a failed start, `server` throws.
 */
export class S3Fixture {
  private started: S3Server | undefined;

  constructor() {
    beforeAll(async () => {
      this.started = await startS3Server();
    }, 60_000);
    afterAll(async () => {
      await this.started?.destroy();
    });
  }

  get server(): S3Server {
    if (!this.started) throw new Error('the S3 test server is not started (used outside a test or hook?)');
    return this.started;
  }

  /**
   * The bucket under `prefix` as stored (ciphertext when the repository is encrypted), through
   * `endpoint`: the server itself unless a proxy in front of it is named.
   */
  bucket(prefix: string, endpoint = this.server.endpoint): S3Storage {
    return new S3Storage({
      bucket: this.server.bucket,
      prefix,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: this.server.credentials,
    });
  }

  /** Writes the server's access key id and secret to `dir`/s3-id and `dir`/s3-secret, mode 0600. */
  async writeKeyFiles(dir: string): Promise<void> {
    await writeFile(path.join(dir, 's3-id'), this.server.credentials.accessKeyId, { mode: 0o600 });
    await writeFile(path.join(dir, 's3-secret'), this.server.credentials.secretAccessKey, { mode: 0o600 });
  }

  /** The `offsite.s3` block for `prefix`, naming the key files writeKeyFiles(dir) writes. */
  offsiteS3(dir: string, prefix: string): OffsiteS3Block {
    return {
      endpoint: this.server.endpoint,
      bucket: this.server.bucket,
      prefix,
      forcePathStyle: true,
      accessKeyIdFile: path.join(dir, 's3-id'),
      secretAccessKeyFile: path.join(dir, 's3-secret'),
    };
  }
}

/** Registers the hooks of one S3 test server for the enclosing file or describe block (see S3Fixture). */
export function useS3Server(): S3Fixture {
  return new S3Fixture();
}

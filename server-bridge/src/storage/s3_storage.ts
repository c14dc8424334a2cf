/**
 * An S3-compatible bucket (AWS, MinIO, Ceph RGW, Backblaze B2, Wasabi) under a key prefix.
 * Atomicity comes from S3 itself: a PutObject or a multipart upload becomes visible only once
 * complete, so an interrupted put leaves no object (at most invisible parts, aborted here or by a
 * bucket lifecycle rule). Credentials never appear in describe(), errors or logs.
 */
import { createReadStream } from 'node:fs';
import { readFile, rm, stat as fsStat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NotFoundError, StorageError } from '../core/errors';
import { consumeSource } from './body';
import { assertRange, OutOfRangeError, sliceStream } from './range';
import {
  assertKey,
  isFileBody,
  type Body,
  type ObjectInfo,
  type ReadOptions,
  type Storage,
  type StorageInfo,
} from './storage';

/** Where the bucket is and how to reach it; credentials are resolved by the caller or the AWS chain. */
export interface S3Location {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash ('' for the bucket root). */
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Part size: memory is bounded by QUEUE_SIZE × PART_SIZE (64 MiB); S3's 10,000-part limit then allows objects up to 160 GB. */
const PART_SIZE = 16 * 1024 * 1024;
const QUEUE_SIZE = 4;

export class S3Storage implements Storage {
  readonly client: S3Client;
  private readonly root: string;

  constructor(readonly loc: S3Location) {
    const cfg: S3ClientConfig = {
      region: loc.region,
      forcePathStyle: loc.forcePathStyle,
      // S3-compatible servers (and older MinIO/Ceph) reject the SDK's newer default checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Quick transient faults are retried by the SDK per request (multipart parts are buffers,
      // so they can be resent); longer outages by RetryingStorage around whole operations.
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
    };
    if (loc.endpoint) cfg.endpoint = loc.endpoint;
    if (loc.credentials) cfg.credentials = loc.credentials;
    // The SDK warns on every run that its 2027 releases will need Node 22; this package pins
    // an SDK that supports Node 20, and the warning would pollute every command's stderr.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client(cfg);
    this.root = loc.prefix.replace(/^\/+|\/+$/g, '');
  }

  describe(): StorageInfo {
    const where = `s3://${this.loc.bucket}${this.root ? `/${this.root}` : ''}`;
    return { kind: 's3', location: this.loc.endpoint ? `${where} at ${this.loc.endpoint}` : where };
  }

  private key(key: string): string {
    assertKey(key);
    return this.root ? `${this.root}/${key}` : key;
  }

  /** Small files go up as one buffer (a single PUT the SDK can resend); larger bodies are streamed in parts. */
  async put(key: string, body: Body, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const Key = this.key(key);
    if (!isFileBody(body)) {
      await this.upload(Key, Buffer.isBuffer(body) ? body : body.open(), opts.signal, key);
      return;
    }
    let size: number;
    try {
      size = (await fsStat(body.file)).size;
    } catch (err) {
      throw new StorageError(`cannot read ${body.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        cause: err,
        permanent: true,
      });
    }
    await this.upload(
      Key,
      size <= PART_SIZE ? await readFile(body.file) : createReadStream(body.file),
      opts.signal,
      key,
      size,
    );
    if (body.consume) await rm(body.file, { force: true });
  }

  private async upload(
    Key: string,
    body: Readable | Buffer,
    signal: AbortSignal | undefined,
    key: string,
    size?: number,
  ): Promise<void> {
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let sourceError: unknown;
    if (!Buffer.isBuffer(body)) {
      body.once('error', (e) => {
        sourceError = e;
      });
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.loc.bucket, Key, Body: body, ...(size === undefined ? {} : { ContentLength: size }) },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      abortController: ac,
    });
    try {
      if (signal?.aborted) throw abortError(signal);
      await upload.done();
    } catch (err) {
      if (!Buffer.isBuffer(body)) body.destroy();
      if (signal?.aborted) throw abortError(signal);
      // A broken source is the caller's error, not the bucket's: never retried.
      if (sourceError) {
        throw new StorageError(`cannot upload ${key}: its source failed: ${(sourceError as Error).message}`, {
          cause: sourceError,
          permanent: true,
        });
      }
      throw mapError(err, `cannot upload ${key}`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async get(key: string, opts: ReadOptions = {}): Promise<Readable> {
    const Key = this.key(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key }), {
        abortSignal: opts.signal,
      });
      return bodyStream(res.Body, key);
    } catch (err) {
      throw mapError(err, `cannot read ${key}`);
    }
  }

  async load<T>(key: string, consume: (body: Readable) => Promise<T>, opts: ReadOptions = {}): Promise<T> {
    // A connection that breaks midway is the bucket's (transient, so the whole read is retried).
    return consumeSource(await this.get(key, opts), consume, opts.signal, (e) => mapError(e, `cannot read ${key}`));
  }

  /**
   * A GetObject with a Range header, so only the range crosses the network. What came back is
   * checked against what was asked (Content-Range): a server that sends other bytes is refused
   * (permanent), one that sends more has the rest dropped, and a body that ends early is a broken
   * connection (transient, so RetryingStorage reads the range again).
   */
  async loadRange<T>(
    key: string,
    offset: number,
    length: number,
    consume: (body: Readable) => Promise<T>,
    opts: ReadOptions = {},
  ): Promise<T> {
    const Key = this.key(key);
    assertRange(offset, length);
    // "bytes=a-(a-1)" is not a valid range, and S3 answers an invalid one with the whole object.
    if (length === 0) return consume(Readable.from([]));
    const end = offset + length - 1;
    let body: Readable;
    let got: { start: number; end: number; total: number | undefined } | undefined;
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.loc.bucket, Key, Range: `bytes=${offset}-${end}` }),
        { abortSignal: opts.signal },
      );
      body = bodyStream(res.Body, key);
      // 206 with the range sent; a 200 is a server that ignored the Range header: the whole object.
      got =
        parseContentRange(res.ContentRange) ??
        (res.$metadata.httpStatusCode === 200 && res.ContentLength !== undefined
          ? { start: 0, end: res.ContentLength - 1, total: res.ContentLength }
          : undefined);
    } catch (err) {
      // 416: the object holds no byte of the range (S3 names its size in the error).
      if (errorName(err) === 'InvalidRange' || httpStatus(err) === 416) {
        throw new OutOfRangeError(key, offset, length, actualSize(err), { cause: err });
      }
      throw mapError(err, `cannot read ${key}`);
    }
    // S3 answers a range that runs past the end with the bytes up to the end.
    if (got?.total !== undefined && got.total < offset + length) {
      body.destroy();
      throw new OutOfRangeError(key, offset, length, got.total);
    }
    if (!got || got.start !== offset || got.end < end) {
      body.destroy();
      throw new StorageError(
        `cannot read bytes ${offset}-${end} of ${key}: the server sent ${got ? `bytes ${got.start}-${got.end}` : 'no Content-Range'}`,
        {
          permanent: true,
          hint: 'the S3 server does not honour Range requests: use another S3-compatible server or upgrade this one',
        },
      );
    }
    const short = (done: number) =>
      new StorageError(`cannot read bytes ${offset}-${end} of ${key}: the body ended after ${done} of them`, {
        hint: 'the connection to the S3 server broke; it is retried with backoff, check the endpoint and the network',
      });
    return consumeSource(sliceStream(body, 0, length, short), consume, opts.signal, (e) =>
      mapError(e, `cannot read ${key}`),
    );
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.key(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.loc.bucket, Key }));
      return { key, size: res.ContentLength ?? 0 };
    } catch (err) {
      const mapped = mapError(err, `cannot stat ${key}`);
      if (mapped instanceof NotFoundError) return undefined;
      throw mapped;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = prefix.replace(/\/+$/, '');
    if (base) assertKey(base);
    const full = [this.root, base].filter(Boolean).join('/');
    const Prefix = full ? `${full}/` : '';
    const strip = this.root ? this.root.length + 1 : 0;
    let ContinuationToken: string | undefined;
    do {
      let res;
      try {
        res = await this.client.send(new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix, ContinuationToken }));
      } catch (err) {
        throw mapError(err, `cannot list ${base || '/'}`);
      }
      // S3 lists in UTF-8 binary order, which is lexical for our ASCII keys.
      for (const o of res.Contents ?? []) {
        const key = (o.Key ?? '').slice(strip);
        try {
          assertKey(key);
        } catch {
          continue;
        } // foreign keys (e.g. "dir/" markers) are not ours
        yield { key, size: o.Size ?? 0 };
      }
      ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(key: string): Promise<void> {
    const Key = this.key(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.loc.bucket, Key }));
    } catch (err) {
      const mapped = mapError(err, `cannot delete ${key}`);
      if (!(mapped instanceof NotFoundError)) throw mapped;
    }
  }

  /**
   * Aborts multipart uploads left under the prefix by an interrupted job (their parts are
   * invisible but billed). Call only while holding the job lock. Servers that cannot list
   * uploads are skipped: a bucket lifecycle rule (AbortIncompleteMultipartUpload) covers them.
   */
  async cleanup(): Promise<number> {
    let n = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.loc.bucket,
            Prefix: this.root ? `${this.root}/` : undefined,
            KeyMarker,
            UploadIdMarker,
          }),
        );
        for (const u of res.Uploads ?? []) {
          await this.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.loc.bucket, Key: u.Key, UploadId: u.UploadId }),
          );
          n++;
        }
        KeyMarker = res.IsTruncated ? res.NextKeyMarker : undefined;
        UploadIdMarker = res.IsTruncated ? res.NextUploadIdMarker : undefined;
      } while (KeyMarker);
    } catch (err) {
      if (errorName(err) === 'NotImplemented' || httpStatus(err) === 501) return n;
      throw mapError(err, 'cannot clean up incomplete uploads');
    }
    return n;
  }
}

/** GetObject's body as a Node stream (the SDK gives one in Node; a web stream elsewhere). */
function bodyStream(body: unknown, key: string): Readable {
  if (!body) throw new StorageError(`cannot read ${key}: empty response`);
  return body instanceof Readable
    ? body
    : Readable.fromWeb((body as { transformToWebStream(): ReadableStream }).transformToWebStream() as never);
}

/** "bytes 10-19/100" (the total may be "*": unknown). */
function parseContentRange(
  header: string | undefined,
): { start: number; end: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** The object's size an InvalidRange error names (S3's ActualObjectSize), when it does. */
function actualSize(err: unknown): number | undefined {
  const v = (err as { ActualObjectSize?: unknown }).ActualObjectSize;
  const n = typeof v === 'string' || typeof v === 'number' ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function errorName(err: unknown): string {
  return (err as { name?: string; Code?: string }).Code ?? (err as { name?: string }).name ?? '';
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error('aborted'), { name: 'AbortError' });
}

const PERMANENT_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
  'InvalidBucketName',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidArgument',
  'InvalidRequest',
  'MethodNotAllowed',
  'NotImplemented',
  'EntityTooLarge',
  'InvalidObjectState',
]);

/**
 * Translates SDK and network errors: 404s become NotFoundError (and nothing else does), access
 * and configuration problems are permanent, 5xx, throttling and network faults are transient.
 */
export function mapError(err: unknown, message: string): Error {
  if (err instanceof StorageError || err instanceof NotFoundError) return err;
  if (err instanceof TypeError && /invalid storage key/.test(err.message)) {
    return new StorageError(`${message}: ${err.message}`, { cause: err, permanent: true });
  }
  const name = errorName(err);
  const status = httpStatus(err);
  if (name === 'AbortError' && !status) return err as Error;
  if (name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket')) {
    return new NotFoundError(`${message}: not found`, { cause: err });
  }
  const code = (err as NodeJS.ErrnoException).code;
  const detail = code ?? name;
  const text =
    (err as Error).message && (err as Error).message !== name ? `${detail}: ${(err as Error).message}` : detail;
  const permanent = PERMANENT_NAMES.has(name) || status === 400 || status === 401 || status === 403 || status === 405;
  return new StorageError(`${message}: ${text}`, {
    cause: err,
    permanent,
    hint: permanent
      ? 'check the bucket name, the endpoint and the credentials (offsite.s3 in the config, or the AWS_* environment)'
      : 'the S3 server did not answer or failed; it is retried with backoff, check the endpoint and the network',
  });
}

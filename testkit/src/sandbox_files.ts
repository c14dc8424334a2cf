/**
 * Writes the files of a sandbox: the install tree (bin, config certs, client, plugins, logs, ...)
 * and the local file store in Mattermost's path layout. Attachments are random bytes (as
 * incompressible as photos), streamed in 1 MiB chunks, and recorded in FileInfo in batches, so
 * multi-GB sandboxes need little memory.
 */
import { randomFill, randomBytes, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, open, readFile, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { derivedId, seededRandom } from './ids';
import { runCommand } from './proc_util';
import { insertRows, type SandboxModel } from './sandbox_rows';
import type { SqlConn } from './sql_conn';
import { tarGz } from './tar_gz';

const randomFillAsync = (buf: Buffer): Promise<void> =>
  new Promise((res, rej) => randomFill(buf, (err) => (err ? rej(err) : res())));
const CHUNK = 1 << 20;

/** Plugins that every sandbox has installed (plugins/, client/plugins/, data/plugins/, prepackaged_plugins/). */
export const SANDBOX_PLUGINS = [
  { id: 'com.mattermost.calls', name: 'Calls', version: '1.5.0', repo: 'mattermost-plugin-calls' },
  { id: 'playbooks', name: 'Playbooks', version: '2.1.0', repo: 'mattermost-plugin-playbooks' },
] as const;

/** Writes `size` random bytes (after an optional magic header) to `path`, creating parent dirs. */
export async function writeRandomFile(path: string, size: number, magic?: Buffer, mode?: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'w', mode);
  try {
    let left = size;
    if (magic && left > 0) {
      const head = magic.subarray(0, left);
      await fh.write(head);
      left -= head.length;
    }
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, left)));
    while (left > 0) {
      const n = Math.min(buf.length, left);
      await randomFillAsync(buf);
      await fh.write(buf, 0, n);
      left -= n;
    }
  } finally {
    await fh.close();
  }
  if (mode !== undefined) await chmod(path, mode);
}

async function put(path: string, data: string | Buffer, mode?: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data, mode === undefined ? undefined : { mode });
  if (mode !== undefined) await chmod(path, mode);
}

/** A PEM certificate and key pair. */
export interface PemPair {
  cert: string;
  key: string;
}

/**
 * A self-signed certificate for `cn` via the openssl CLI when available (argv only, key to a temp
 * file); otherwise a real EC key with a placeholder certificate body, which is enough for backups.
 */
export async function makeCertificate(cn: string, workDir: string): Promise<PemPair> {
  const keyFile = join(workDir, `.${cn.replace(/[^a-z0-9]/gi, '_')}.key`);
  const crtFile = join(workDir, `.${cn.replace(/[^a-z0-9]/gi, '_')}.crt`);
  try {
    const r = await runCommand(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        crtFile,
        '-days',
        '3650',
        '-subj',
        `/CN=${cn}`,
      ],
      { timeoutMs: 20_000 },
    );
    if (r.code === 0) {
      const pair = { cert: await readFile(crtFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
      await unlink(crtFile).catch(() => undefined);
      await unlink(keyFile).catch(() => undefined);
      return pair;
    }
  } catch {
    // no openssl: fall through
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const body = randomBytes(420).toString('base64').replace(/.{64}/g, '$&\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Options for writeInstallTree. */
export interface InstallTreeOptions {
  installDir: string;
  version: string;
  /** Create bleve-indexes/ (Mattermost before v11). */
  bleve: boolean;
}

/** Writes everything of a tarball install except config/config.json, the env file and data/. */
export async function writeInstallTree(o: InstallTreeOptions): Promise<void> {
  const d = o.installDir;
  const stub = (what: string) => `#!/bin/sh
# Test-sandbox stub for the Mattermost ${what} binary; the real server is played by the mm-backup stand-in.
# mattermost-version: ${o.version}
if [ "$1" = "version" ]; then
  echo "Version: ${o.version}"
  echo "Build Number: ${o.version}"
  echo "Build Date: Mon Jan  5 10:00:00 UTC 2026"
  echo "Build Hash: 0123456789abcdef0123456789abcdef01234567"
  exit 0
fi
echo "this is a test stub of ${what}" >&2
exit 1
`;
  await put(join(d, 'bin', 'mattermost'), stub('server'), 0o755);
  await put(join(d, 'bin', 'mmctl'), stub('mmctl'), 0o755);
  await put(
    join(d, 'config', 'README.md'),
    '# Configuration\n\nconfig.json is created by the server on first start.\n',
  );
  await put(
    join(d, 'NOTICE.txt'),
    `Mattermost ${o.version}\n\nThis product contains software from third parties:\n${'- some-library (MIT) — © Someone\n'.repeat(200)}`,
  );
  await put(
    join(d, 'README.md'),
    '# Mattermost\n\nThis is a test sandbox laid out like a Mattermost tarball install.\n',
  );

  // client/ (the webapp)
  const hash = derivedId('client', o.version, 0).slice(0, 20);
  await put(
    join(d, 'client', 'index.html'),
    `<!doctype html><html><head><meta charset="utf-8"><title>Mattermost</title><script src="/static/root.${hash}.js"></script></head><body><div id="root"></div></body></html>\n`,
  );
  const js = Array.from(
    { length: 3000 },
    (_, i) => `export function f${i}(a,b){return a*${i}+b; /* ${'ünïcödé'.repeat(i % 3)} */}`,
  ).join('\n');
  await put(join(d, 'client', `root.${hash}.js`), js);
  await put(join(d, 'client', `main.${hash}.css`), '.app{font-family:"Open Sans",sans-serif}\n'.repeat(500));
  await put(
    join(d, 'client', 'manifest.json'),
    JSON.stringify({ name: 'Mattermost', short_name: 'Mattermost', start_url: '..', display: 'standalone' }),
  );
  await writeRandomFile(join(d, 'client', 'images', 'logo.png'), 12_000, PNG);
  await writeRandomFile(join(d, 'client', 'emoji', '1f600.png'), 3_000, PNG);
  // A relative symlink inside the tree, as web servers and packagers sometimes leave behind.
  await symlink(`root.${hash}.js`, join(d, 'client', 'root.js'));

  await writeRandomFile(join(d, 'fonts', 'OpenSans-Regular.woff2'), 40_000, Buffer.from('wOF2'));
  await writeRandomFile(join(d, 'fonts', 'Metropolis-SemiBold.woff2'), 30_000, Buffer.from('wOF2'));
  await put(
    join(d, 'i18n', 'en.json'),
    JSON.stringify(
      {
        'api.context.404.app_error': 'Sorry, we could not find the page.',
        'app.post.save.app_error': 'Unable to save the Post.',
      },
      null,
      2,
    ),
  );
  await put(
    join(d, 'i18n', 'de.json'),
    JSON.stringify({ 'api.context.404.app_error': 'Entschuldigung, die Seite wurde nicht gefunden.' }, null, 2),
  );
  await put(
    join(d, 'i18n', 'ja.json'),
    JSON.stringify({ 'api.context.404.app_error': 'ページが見つかりません。' }, null, 2),
  );
  for (const t of ['invite_body', 'reset_body', 'welcome_body', 'verify_body']) {
    await put(
      join(d, 'templates', `${t}.html`),
      `{{define "${t}"}}<html><body><p>{{.Props.Title}}</p></body></html>{{end}}\n`,
    );
  }

  for (const p of SANDBOX_PLUGINS) {
    const manifest = {
      id: p.id,
      name: p.name,
      version: p.version,
      min_server_version: '9.5.0',
      server: { executables: { 'linux-amd64': 'server/dist/plugin-linux-amd64' } },
      webapp: { bundle_path: 'webapp/dist/main.js' },
    };
    const binary = randomBytes(96_000);
    const bundle = tarGz([
      { name: `${p.id}/` },
      { name: `${p.id}/plugin.json`, data: JSON.stringify(manifest, null, 2) },
      { name: `${p.id}/server/dist/plugin-linux-amd64`, data: binary, mode: 0o755 },
      { name: `${p.id}/webapp/dist/main.js`, data: `console.log(${JSON.stringify(p.id)});\n` },
    ]);
    const tarName = `${p.repo}-v${p.version}-linux-amd64.tar.gz`;
    await put(join(d, 'prepackaged_plugins', tarName), bundle);
    await put(join(d, 'prepackaged_plugins', `${tarName}.sig`), randomBytes(566));
    // Installed (extracted) copy and the webapp bundle the server copies into client/plugins.
    await put(join(d, 'plugins', p.id, 'plugin.json'), JSON.stringify(manifest, null, 2));
    await put(join(d, 'plugins', p.id, 'server', 'dist', 'plugin-linux-amd64'), binary, 0o755);
    await put(join(d, 'plugins', p.id, 'webapp', 'dist', 'main.js'), `console.log(${JSON.stringify(p.id)});\n`);
    await put(
      join(d, 'plugins', p.id, 'assets', 'icon.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n',
    );
    await put(
      join(d, 'client', 'plugins', p.id, `${p.id}_${hash.slice(0, 8)}_bundle.js`),
      `console.log(${JSON.stringify(p.id)});\n`,
    );
  }

  const t = Date.now();
  const logLines =
    Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({
        timestamp: new Date(t - (300 - i) * 60_000).toISOString(),
        level: i % 50 === 0 ? 'warn' : 'info',
        msg: i % 50 === 0 ? 'Failed to send push notification — retrying' : 'Request handled',
        caller: 'web/handlers.go:187',
        path: '/api/v4/users/me',
        request_id: derivedId('log', 'r', i),
        status_code: '200',
      }),
    ).join('\n') + '\n';
  await put(join(d, 'logs', 'mattermost.log'), logLines, 0o640);
  await put(join(d, 'logs', 'notifications.log'), '');

  if (o.bleve) {
    for (const idx of ['posts', 'channels', 'users', 'files']) {
      await put(
        join(d, 'bleve-indexes', `${idx}.bleve`, 'index_meta.json'),
        JSON.stringify({ storage: 'scorch', index_type: 'scorch' }),
      );
      await writeRandomFile(join(d, 'bleve-indexes', `${idx}.bleve`, 'store', 'root.bolt'), 32_768);
    }
  }
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
const PDF = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');
const ZIP = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const MP4 = Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]);

/** The magic header Mattermost's MIME sniffing would expect for an extension. */
export function magicFor(ext: string): Buffer | undefined {
  return ({ jpg: JPEG, jpeg: JPEG, png: PNG, pdf: PDF, zip: ZIP, mp4: MP4, xlsx: ZIP } as Record<string, Buffer>)[ext];
}

/** Writes the per-user profile pictures (data/users/<id>/profile.png) and uploaded plugin bundles (data/plugins/). */
export async function writeFileStoreExtras(
  dataDir: string,
  m: SandboxModel,
): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const profiles = Math.min(m.U, 200);
  for (let i = 0; i < profiles; i++) {
    const size = 2_000 + ((i * 7919) % 30_000);
    await writeRandomFile(join(dataDir, 'users', m.userId(i), 'profile.png'), size, PNG);
    files++;
    bytes += size;
  }
  for (const p of SANDBOX_PLUGINS) {
    const bundle = tarGz([{ name: `${p.id}/plugin.json`, data: JSON.stringify({ id: p.id, version: p.version }) }]);
    await put(join(dataDir, 'plugins', `${p.id}.tar.gz`), bundle);
    files++;
    bytes += bundle.length;
  }
  // Mattermost's default export directory; empty directories must survive a backup too.
  await mkdir(join(dataDir, 'export'), { recursive: true });
  return { files, bytes };
}

interface Kind {
  upTo: number;
  ext: string;
  mime: string;
  image?: { w: number; h: number };
  text?: boolean;
}

const KINDS: [Kind, ...Kind[]] = [
  { upTo: 0.45, ext: 'jpg', mime: 'image/jpeg', image: { w: 4032, h: 3024 } },
  { upTo: 0.6, ext: 'png', mime: 'image/png', image: { w: 1920, h: 1080 } },
  { upTo: 0.75, ext: 'pdf', mime: 'application/pdf' },
  { upTo: 0.85, ext: 'txt', mime: 'text/plain', text: true },
  { upTo: 0.9, ext: 'md', mime: 'text/markdown', text: true },
  { upTo: 0.95, ext: 'zip', mime: 'application/zip' },
  { upTo: 1, ext: 'mp4', mime: 'video/mp4' },
];

/** A planned attachment (sizes in bytes; thumb/preview only for images). */
interface Planned {
  j: number;
  kind: Kind;
  name: string;
  weight: number;
  mode?: number;
}

/** Names that trip up naive tooling: spaces, accents, CJK, parentheses. */
const SPECIAL: Array<{ name: string; ext: string; mode?: number }> = [
  { name: 'Résumé 2026.pdf', ext: 'pdf' },
  { name: '日本語.txt', ext: 'txt', mode: 0o640 },
  { name: 'Quarterly report (final) v2.xlsx', ext: 'xlsx' },
  { name: 'team photo – offsite.jpg', ext: 'jpg' },
];

function plan(j: number, rng: () => number, largeRatio: number): Planned {
  // Always draw the same three numbers per attachment so both passes see identical sequences.
  const kindRoll = rng();
  const largeRoll = rng();
  const jitter = 0.5 + rng();
  const special = SPECIAL[j];
  let kind = KINDS.find((k) => kindRoll < k.upTo) ?? KINDS[0];
  let name: string;
  if (special) {
    kind = KINDS.find((k) => k.ext === special.ext) ?? {
      upTo: 1,
      ext: special.ext,
      mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    };
    name = special.name;
  } else {
    switch (kind.ext) {
      case 'jpg':
        name = j % 7 === 0 ? `IMG ${1000 + j}.jpg` : `IMG_${1000 + j}.jpg`;
        break;
      case 'png':
        name = `Screenshot 2026-01-${String(1 + (j % 28)).padStart(2, '0')} at 10.${String(j % 60).padStart(2, '0')}.png`;
        break;
      case 'pdf':
        name = j % 5 === 0 ? `Présentation ${j}.pdf` : `design-spec-${j}.pdf`;
        break;
      case 'txt':
        name = `notes ${j}.txt`;
        break;
      case 'md':
        name = `meeting-notes-${j}.md`;
        break;
      case 'zip':
        name = `logs-${j}.zip`;
        break;
      default:
        name = `demo-${j}.${kind.ext}`;
    }
  }
  const large = !kind.text && largeRoll < largeRatio;
  const weight = (large ? 40 : 1) * jitter * (kind.text ? 0.2 : 1) * (kind.image ? 1.07 : 1);
  return { j, kind, name, weight, mode: special?.mode };
}

function textContent(size: number, title: string): Buffer {
  const head = `${title}\nÜbersicht — 概要 — Обзор 📝\n`;
  const lines: string[] = [head];
  let len = Buffer.byteLength(head);
  for (let i = 0; len < size; i++) {
    const l = `${i}: the quick brown fox jumps over the lazy dog\n`;
    lines.push(l);
    len += l.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

/** Options for writeAttachments. */
export interface AttachmentOptions {
  count: number;
  bytes: number;
  largeFileRatio: number;
}

/** Result of writeAttachments. */
export interface AttachmentResult {
  fileInfoRows: number;
  files: number;
  bytes: number;
}

function dayDir(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/**
 * Writes `count` attachments totalling about `bytes` under dataDir in Mattermost's layout
 * (<YYYYMMDD>/teams/<team|noteam>/channels/<ch>/users/<user>/<fileid>/<name>, images with
 * _thumb.jpg and _preview.jpg) and inserts one FileInfo row per attachment, in batches.
 */
export async function writeAttachments(
  conn: SqlConn,
  dataDir: string,
  m: SandboxModel,
  o: AttachmentOptions,
): Promise<AttachmentResult> {
  const count = m.N === 0 ? 0 : Math.min(Math.max(0, Math.floor(o.count)), m.N * 10);
  const result: AttachmentResult = { fileInfoRows: 0, files: 0, bytes: 0 };
  if (count === 0) return result;
  const seedNum = parseInt(m.p.seed.slice(0, 8), 16) || 1;
  // Pass 1 only sums the weights so that sizes can be scaled to the byte budget without keeping a list.
  let total = 0;
  {
    const rng = seededRandom(seedNum);
    for (let j = 0; j < count; j++) total += plan(j, rng, o.largeFileRatio).weight;
  }
  const unit = o.bytes / total;
  const rng = seededRandom(seedNum);
  const BATCH = 64;
  const PARALLEL = 8;
  for (let start = 0; start < count; start += BATCH) {
    const planned: Planned[] = [];
    for (let j = start; j < Math.min(count, start + BATCH); j++) planned.push(plan(j, rng, o.largeFileRatio));
    const rows: Array<Record<string, unknown>> = [];
    const tasks: Array<() => Promise<void>> = [];
    for (const a of planned) {
      const postIdx = Math.floor((a.j * m.N) / count);
      const ch = m.postChannel(postIdx);
      const teamId = m.channelTeamId(ch);
      const userId = m.userId(m.postAuthor(postIdx));
      const channelId = m.channelId(ch);
      const fileId = derivedId(m.p.seed, 'f', a.j);
      const createAt = m.postCreateAt(postIdx) - 2000;
      const dir = `${dayDir(createAt)}/teams/${teamId || 'noteam'}/channels/${channelId}/users/${userId}/${fileId}`;
      const ext = a.name.slice(a.name.lastIndexOf('.') + 1).toLowerCase();
      const base = a.name.slice(0, a.name.lastIndexOf('.'));
      const factor = a.kind.image ? 1.07 : 1;
      const size = Math.max(16, Math.round((unit * a.weight) / factor));
      const thumbSize = a.kind.image ? Math.max(16, Math.round(size * 0.01)) : 0;
      const previewSize = a.kind.image ? Math.max(16, Math.round(size * 0.06)) : 0;
      const path = `${dir}/${a.name}`;
      const thumbPath = a.kind.image ? `${dir}/${base}_thumb.jpg` : '';
      const previewPath = a.kind.image ? `${dir}/${base}_preview.jpg` : '';
      const text = a.kind.text ? textContent(size, a.name) : undefined;
      tasks.push(async () => {
        if (text) await put(join(dataDir, path), text, a.mode);
        else await writeRandomFile(join(dataDir, path), size, magicFor(ext), a.mode);
        if (a.kind.image) {
          await writeRandomFile(join(dataDir, thumbPath), thumbSize, JPEG);
          await writeRandomFile(join(dataDir, previewPath), previewSize, JPEG);
        }
      });
      result.files += a.kind.image ? 3 : 1;
      result.bytes += size + thumbSize + previewSize;
      rows.push({
        Id: fileId,
        CreatorId: userId,
        PostId: m.postId(postIdx),
        ChannelId: channelId,
        CreateAt: createAt,
        UpdateAt: createAt,
        DeleteAt: 0,
        Path: path,
        ThumbnailPath: thumbPath,
        PreviewPath: previewPath,
        Name: a.name,
        Extension: ext,
        Size: size,
        MimeType: a.kind.mime,
        Width: a.kind.image?.w ?? 0,
        Height: a.kind.image?.h ?? 0,
        HasPreviewImage: !!a.kind.image,
        MiniPreview: a.kind.image ? randomBytes(300) : null,
        Content: text
          ? text
              .subarray(0, 1000)
              .toString('utf8')
              .replace(/\uFFFD/g, '')
          : '',
        RemoteId: null,
        Archived: false,
      });
    }
    // Files first, then their rows: the same order Mattermost uses, so a row never points at nothing.
    await runLimited(tasks, PARALLEL);
    await insertRows(conn, 'FileInfo', rows);
    result.fileInfoRows += rows.length;
  }
  return result;
}

async function runLimited(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const t = tasks[next++];
      if (t) await t();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

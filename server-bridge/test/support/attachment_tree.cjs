// A file store in Mattermost's attachment layout, for tests and measurements of many small files:
// data/YYYYMMDD/teams/<team>/channels/<channel>/users/<user>/<fileId>/{name.bin, name_thumb.jpg,
// name_preview.jpg}. Plain CommonJS so that a child process started with a small heap can use it
// without the test's TypeScript toolchain. Usage as a program: node attachment_tree.cjs <root> <files>
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/**
 * Writes about `files` files (rounded up to whole attachments of three files) under `root`, each
 * small; returns how many files it wrote. Each has its own content unless `opts.unique` is false
 * (then the store holds a handful of objects, which is much faster to back up where only the
 * number of files matters). Synchronous: the fastest way to make tens of thousands of files.
 */
function makeAttachmentTree(root, files, opts = {}) {
  const unique = opts.unique !== false;
  const attachments = Math.ceil(files / 3);
  const perUser = 10;
  const users = 10;
  const channels = 10;
  let n = 0;
  for (let a = 0; a < attachments; a += perUser) {
    const u = Math.floor(a / perUser);
    const day = 20260101 + Math.floor(u / (users * channels));
    const channel = `c${String(Math.floor(u / users) % channels).padStart(2, '0')}`;
    const user = `u${String(u % users).padStart(2, '0')}`;
    const base = path.join(root, 'data', String(day), 'teams', 'team1', 'channels', channel, 'users', user);
    for (let f = a; f < Math.min(a + perUser, attachments); f++) {
      const id = `f${String(f).padStart(25, '0')}`;
      const dir = path.join(base, id);
      mkdirSync(dir, { recursive: true });
      const tag = unique ? f : f % 7;
      writeFileSync(path.join(dir, 'image.bin'), `attachment ${tag} ${'x'.repeat(f % 97)}\n`);
      writeFileSync(path.join(dir, 'image_thumb.jpg'), `thumbnail ${tag}\n`);
      writeFileSync(path.join(dir, 'image_preview.jpg'), `preview ${tag}\n`);
      n += 3;
    }
  }
  return n;
}

module.exports = { makeAttachmentTree };

if (require.main === module) {
  const [root, files, unique] = process.argv.slice(2);
  process.stdout.write(`${makeAttachmentTree(root, Number(files), { unique: unique !== 'shared' })}\n`);
}

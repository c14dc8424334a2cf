// Makes one flat directory of `count` empty files named like Mattermost's ids (26 characters of
// [a-z0-9], as under data/users/), fast: no content, synchronous calls.
// Usage: node flat_dir.cjs <dir> <count>
'use strict';
const { closeSync, mkdirSync, openSync } = require('node:fs');
const { createHash } = require('node:crypto');
const path = require('node:path');

const [dir, count] = process.argv.slice(2);
mkdirSync(dir, { recursive: true });
for (let i = 0; i < Number(count); i++) {
  const id = createHash('sha1').update(String(i)).digest('hex').slice(0, 26);
  closeSync(openSync(path.join(dir, id), 'w'));
}

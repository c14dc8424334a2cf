// Child processes in the tests run compiled code: the CLI this package's dist/, the Mattermost
// stand-in the test kit's (testkit/dist). Rebuild either when any of its sources is newer than its
// last build. Keeps `npx jest` honest on its own.
const { execFileSync } = require('node:child_process');
const { readdirSync, statSync, existsSync } = require('node:fs');
const path = require('node:path');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function buildIfStale(root, stamp) {
  if (existsSync(path.join(root, stamp)) && statSync(path.join(root, stamp)).mtimeMs >= newest(path.join(root, 'src'))) return;
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
}

module.exports = async () => {
  buildIfStale(path.resolve(__dirname, '..'), path.join('dist', 'cli', 'main.js'));
  buildIfStale(path.dirname(require.resolve('@mm-backup/testkit/package.json')), path.join('dist', 'standin', 'main.js'));
};

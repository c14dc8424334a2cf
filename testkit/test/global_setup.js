// The stand-in and the orphan-cleanup tests start child processes from the kit's compiled dist/,
// so rebuild it when any source is newer than the last build. Keeps `npx jest` honest on its own.
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

module.exports = async () => {
  const root = path.resolve(__dirname, '..');
  const stamp = path.join(root, 'dist', 'standin', 'main.js');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newest(path.join(root, 'src'))) return;
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
};

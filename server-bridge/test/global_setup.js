// Child processes in the tests (the CLI, the Mattermost stand-in) run the compiled dist/, so
// rebuild it when any source is newer than the last build. Keeps `npx jest` honest on its own.
// The API schema package (@mm-backup/api) comes first: the sidecar's sources and its dist both
// import its dist, so a newer API build makes the sidecar's build stale too.
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

/** Builds the workspace at `root` (tsconfig `project`) unless `stamp` is newer than its src/ and `after`; true when it built. */
function buildIfStale(root, stamp, project = 'tsconfig.build.json', after = 0) {
  const file = path.join(root, stamp);
  if (existsSync(file) && statSync(file).mtimeMs >= Math.max(newest(path.join(root, 'src')), after)) return false;
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, project)], {
    stdio: 'inherit',
  });
  return true;
}

module.exports = async () => {
  const api = path.resolve(__dirname, '..', '..', 'api');
  buildIfStale(api, path.join('dist', 'index.js'), 'tsconfig.json');
  buildIfStale(
    path.resolve(__dirname, '..'),
    path.join('dist', 'cli', 'main.js'),
    'tsconfig.build.json',
    newest(path.join(api, 'dist')),
  );
  buildIfStale(
    path.dirname(require.resolve('@mm-backup/testkit/package.json')),
    path.join('dist', 'standin', 'main.js'),
  );
};

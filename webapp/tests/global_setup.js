// Writes src/manifest.ts from plugin.json before any test imports it (it is git-ignored),
// and builds the API schema package (@mm-backup/api, read from its dist/) when its sources
// are newer than its build, so `jest` alone never tests against a stale API.
const {execFileSync} = require('child_process');
const fs = require('fs');
const path = require('path');

function newest(dir) {
    let t = 0;
    for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
        const p = path.join(dir, e.name);
        t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
    }
    return t;
}

module.exports = () => {
    execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'build', 'manifest.mjs'), 'apply'], {
        stdio: 'inherit',
    });
    const api = path.join(__dirname, '..', '..', 'api');
    const stamp = path.join(api, 'dist', 'index.js');
    if (!fs.existsSync(stamp) || fs.statSync(stamp).mtimeMs < newest(path.join(api, 'src'))) {
        execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(api, 'tsconfig.json')], {
            stdio: 'inherit',
        });
    }
};

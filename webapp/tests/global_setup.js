// Writes src/manifest.ts from plugin.json before any test imports it (it is git-ignored).
const {execFileSync} = require('child_process');
const path = require('path');

module.exports = () => {
    execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'build', 'manifest.mjs'), 'apply'], {stdio: 'inherit'});
};

// Run in a mount namespace of its own: hides /proc under an empty tmpfs, then backs up <root>
// (online, so a moved file would be left out rather than fail it) into a new repository at <repo>
// and prints, as JSON, whether /proc/self/fd could be read, the backup's warnings and the paths
// and checksums it recorded. Usage:
// unshare --mount --propagation private [--map-root-user] node backup_no_proc.cjs <distDir> <root> <repo>
'use strict';
const path = require('node:path');
const { hideProc } = require('./hide_proc.cjs');

const [dist, root, repoDir] = process.argv.slice(2);
const procWorks = hideProc();
const { Repository } = require(path.join(dist, 'repository/repository.js'));
const { LocalStorage } = require(path.join(dist, 'storage/local_storage.js'));
const { backupTree } = require(path.join(dist, 'repository/tree_backup.js'));
const { collectEntries } = require(path.join(dist, 'manifest/entry_list.js'));

(async () => {
  const repo = await Repository.open(await LocalStorage.open(repoDir), { packs: true });
  await repo.prepareWrites();
  const r = await backupTree({ root, exclude: [], repo, tolerateVanished: true });
  const entries = await collectEntries(r.entries);
  await repo.packs.flush();
  const out = { procWorks, warnings: r.warnings, entries: entries.map((e) => [e.path, e.sha256 ?? null]) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
})().catch((e) => {
  process.stdout.write(`${JSON.stringify({ procWorks, error: String(e && e.stack) })}\n`);
  process.exitCode = 1;
});

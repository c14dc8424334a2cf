// Packs small objects through the built code (dist/) until the temporary directory (TMPDIR, set by
// the test to a tiny tmpfs with little room) cannot take the names of a finished pack, and reports
// what happened. A child process because os.tmpdir() reads the real environment, which jest's
// sandbox does not let a test change. Prints one JSON line.
// Usage: TMPDIR=<small> node packs_temp_full_child.cjs <distDir> <repoDir> <stageDir> <perPack> <maxPacks>
'use strict';
const { createHash, randomBytes } = require('node:crypto');
const path = require('node:path');

const [dist, repoDir, stage, perPackArg, maxPacksArg] = process.argv.slice(2);
const perPack = Number(perPackArg);
const { Repository } = require(path.join(dist, 'repository/repository.js'));
const { LocalStorage } = require(path.join(dist, 'storage/local_storage.js'));

function object() {
  const bytes = randomBytes(200);
  return { sha: createHash('sha256').update(bytes).digest('hex'), bytes };
}

(async () => {
  const storage = await LocalStorage.open(repoDir);
  const repo = await Repository.open(storage, {
    packs: true,
    stagingDir: stage,
    packTargets: { targetObjects: perPack },
  });
  await repo.packs.prepare(stage);
  const added = [];
  let error;
  for (let i = 0; i < Number(maxPacksArg) * perPack && error === undefined; i++) {
    const o = object();
    try {
      await repo.packs.add(o.sha, o.bytes);
    } catch (e) {
      error = e;
    }
    added.push(o);
  }
  const flushed = await repo.packs.flush().then(
    () => 'resolved',
    (e) => (e === error ? 'rejected with the same error' : `rejected with another error: ${e}`),
  );
  const stored = [];
  for await (const o of storage.list('packs/')) stored.push(o.key);
  process.stdout.write(
    `${JSON.stringify({
      error: error && {
        name: error.name,
        code: error.code,
        message: error.message,
        hint: error.hint,
        instance: error.constructor.name,
      },
      flushed,
      stored,
      objects: added.map((o) => [o.sha, o.bytes.toString('base64')]),
    })}\n`,
  );
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
});

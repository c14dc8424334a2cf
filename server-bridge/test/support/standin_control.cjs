#!/usr/bin/env node
// The `service.stop` / `service.start` command of the service tests: asks the test's Mattermost
// REST stand-in (through its always-on control listener) to really close or reopen its port.
const [cmd, url] = process.argv.slice(2);
fetch(`${url}/${cmd}`, { method: 'POST' })
  .then((r) => {
    process.exitCode = r.ok ? 0 : 1;
  })
  .catch((err) => {
    console.error(`standin ${cmd} failed: ${err.message}`);
    process.exitCode = 1;
  });

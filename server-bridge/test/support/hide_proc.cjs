// For a script run in a mount namespace of its own (unshare --mount --propagation private):
// hides /proc under an empty tmpfs and says whether /proc/self/fd can still be read (it must not).
'use strict';
const { execFileSync } = require('node:child_process');
const { readlinkSync } = require('node:fs');

/** Mounts the tmpfs over /proc; true when /proc/self/fd is still readable afterwards. */
function hideProc() {
  execFileSync('mount', ['-t', 'tmpfs', 'none', '/proc']);
  try {
    readlinkSync('/proc/self/fd/0');
    return true;
  } catch {
    return false;
  }
}

module.exports = { hideProc };

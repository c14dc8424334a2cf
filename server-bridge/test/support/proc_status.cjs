// The memory figures of this process from /proc/self/status, for the memory tests' children:
// VmHWM is the kernel's high-water mark of the resident set, which no short peak escapes.
'use strict';
const { readFileSync } = require('node:fs');

/** A `<field>: N kB` line of /proc/self/status (VmHWM, VmRSS, …), in bytes. */
function statusBytes(field) {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
}

module.exports = { statusBytes };

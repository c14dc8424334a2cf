import { parseSlash } from '../../src/slash/parse';

test.each([
  ['', { cmd: 'help' }],
  ['help', { cmd: 'help' }],
  ['now', { cmd: 'now', mode: undefined, logical: false }],
  ['now --online', { cmd: 'now', mode: 'online', logical: false }],
  ['  NOW   --offline ', { cmd: 'now', mode: 'offline', logical: false }],
  ['now --logical', { cmd: 'now', mode: undefined, logical: true }],
  ['now --logical --online', { cmd: 'now', mode: 'online', logical: true }],
  ['now --offline --LOGICAL', { cmd: 'now', mode: 'offline', logical: true }],
  ['status', { cmd: 'status' }],
  ['list', { cmd: 'list' }],
  ['prune', { cmd: 'prune' }],
  ['verify latest', { cmd: 'verify', snapshot: 'latest', deep: false }],
  ['verify 20260101T030000Z-a1b2c3 --deep', { cmd: 'verify', snapshot: '20260101T030000Z-a1b2c3', deep: true }],
  ['restore 20260101T030000Z-a1b2c3', { cmd: 'restore', snapshot: '20260101T030000Z-a1b2c3' }],
  [
    'restore 20260101T030000Z-a1b2c3 confirm 0123abcd',
    { cmd: 'restore', snapshot: '20260101T030000Z-a1b2c3', confirm: '0123abcd' },
  ],
  // restore --at: the CLI's own parser; the time is carried in UTC, a space inside it is fine.
  ['restore --at latest', { cmd: 'restore-at', at: 'latest' }],
  ['restore --at LATEST confirm 0123abcd', { cmd: 'restore-at', at: 'latest', confirm: '0123abcd' }],
  ['restore --at 2026-12-01 14:31:00+01:00', { cmd: 'restore-at', at: '2026-12-01T13:31:00.000Z' }],
  ['restore --at 2026-12-01T14:31:00+0100', { cmd: 'restore-at', at: '2026-12-01T13:31:00.000Z' }],
  [
    'restore --at 2026-12-01T13:31:00.000Z confirm 0123abcd',
    { cmd: 'restore-at', at: '2026-12-01T13:31:00.000Z', confirm: '0123abcd' },
  ],
])('%j parses', (text, expected) => {
  expect(parseSlash(text)).toEqual(expected);
});

test.each([
  'frobnicate',
  'now --sideways',
  'now --online extra',
  'now --online --offline',
  'now --logical --logical',
  'now --logical extra',
  'status now',
  'verify',
  'verify ../../etc/passwd',
  'verify latest --shallow',
  'restore',
  'restore latest',
  'restore ../x',
  'restore 20260101T030000Z-a1b2c3 confirm',
  'restore 20260101T030000Z-a1b2c3 confirm XYZ',
  'restore 20260101T030000Z-a1b2c3 please 0123abcd',
  'verify latest --deep more',
  'restore --at',
  'restore --at 2026-12-01 14:31:00', // no offset: the server's zone would be guessed
  'restore --at 2026-12-01',
  'restore --at yesterday',
  'restore --at 2026-12-01 14:31:00 +01:00', // three words: not one time
  'restore --at latest confirm',
  'restore --at latest confirm XYZ',
  'restore --at latest confirm 0123abcd more',
  'restore --at 2026-13-45 25:61:00Z',
])('%j is help with a reason', (text) => {
  const r = parseSlash(text);
  expect(r.cmd).toBe('help');
  expect((r as { problem?: string }).problem).toBeTruthy();
});

// The expectations are computed for the zone the tests run in (any zone); the Chromium test
// (server-bridge/test/webapp_e2e/pitr_restore_at.test.ts) pins one and checks the instant sent.

import {browserTimeZone, fromLocalInput, offsetOf, toLocalInput} from './local_time';

test('a local wall-clock value is sent with the offset it has at that date', () => {
    const r = fromLocalInput('2026-12-01T14:31:05');
    expect(r).not.toBeNull();
    const d = new Date(2026, 11, 1, 14, 31, 5);
    expect(r?.at).toBe(`2026-12-01T14:31:05${offsetOf(d)}`);
    expect(r?.ms).toBe(d.getTime());
    // Read back by the sidecar's rule (offset required), it is the same instant.
    expect(Date.parse(r?.at ?? '')).toBe(d.getTime());
    // Seconds may be left out by the input when they are zero.
    expect(fromLocalInput('2026-12-01T14:31')?.at).toBe(
        `2026-12-01T14:31:00${offsetOf(new Date(2026, 11, 1, 14, 31))}`,
    );
});

test('anything else is not a time', () => {
    for (const bad of ['', 'latest', '2026-12-01', '2026-12-01 14:31', '14:31', '2026-12-01T14:31:00Z']) {
        expect(fromLocalInput(bad)).toBeNull();
    }
});

test('bounds are rounded inwards to the second, in local time', () => {
    const iso = '2026-12-02T10:00:03.512Z';
    const up = toLocalInput(iso, 'up');
    const down = toLocalInput(iso, 'down');
    expect(Date.parse(`${up}${offsetOf(new Date(iso))}`)).toBe(Date.parse('2026-12-02T10:00:04.000Z'));
    expect(Date.parse(`${down}${offsetOf(new Date(iso))}`)).toBe(Date.parse('2026-12-02T10:00:03.000Z'));
    // A bound round-trips through the picker to an instant inside the window.
    expect(fromLocalInput(up)?.ms).toBe(Date.parse('2026-12-02T10:00:04.000Z'));
});

test('the time zone is named', () => {
    expect(browserTimeZone()).toMatch(/^[A-Za-z_]+(\/[A-Za-z_+-]+)*$|^UTC$/);
    expect(offsetOf(new Date())).toMatch(/^[+-]\d{2}:\d{2}$/);
});

// The browser's local time for the point-in-time picker: an <input type="datetime-local">
// holds a wall-clock time without a zone, and the sidecar refuses a time without its offset
// (it would be read in the server's zone), so the offset is added here, from this browser.

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The admin's IANA time zone as this browser knows it ("Europe/Berlin"); "UTC" when unknown. */
export function browserTimeZone(): string {
    return new Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** "+01:00" for the local offset at `d` (offsets change with daylight saving time). */
export function offsetOf(d: Date): string {
    const minutes = -d.getTimezoneOffset();
    const sign = minutes < 0 ? '-' : '+';
    const abs = Math.abs(minutes);
    return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * An instant as a datetime-local value ("2026-12-01T14:31:05", local wall clock), to the
 * second: `round` "up" for a lower bound (a window that starts at .512 s starts at the next
 * second), "down" for an upper one.
 */
export function toLocalInput(iso: string, round: 'up' | 'down'): string {
    const ms = Date.parse(iso);
    const d = new Date(round === 'up' ? Math.ceil(ms / 1000) * 1000 : Math.floor(ms / 1000) * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

/**
 * A datetime-local value read as this browser's wall clock, written with its offset
 * ("2026-12-01T14:31:00+01:00"), as `restore --at` takes it; null when it is not one.
 */
export function fromLocalInput(value: string): {at: string; ms: number} | null {
    const m = LOCAL.exec(value.trim());
    if (!m) {
        return null;
    }
    // An absent group (no seconds) is undefined.
    const part = (i: number) => Number(m[i] ?? 0);
    const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map(part) as [number, number, number, number, number, number];
    const date = new Date(y, mo - 1, d, h, mi, s);
    if (Number.isNaN(date.getTime())) {
        return null;
    }
    // The wall clock of `date` itself: a time in a spring-forward gap is moved past it by Date.
    const wall = toLocalInput(date.toISOString(), 'down');
    return {at: `${wall}${offsetOf(date)}`, ms: date.getTime()};
}

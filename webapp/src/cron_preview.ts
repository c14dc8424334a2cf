// Turns the common cron schedules into words ("every day at 03:00 UTC") for the settings
// form. Only the patterns admins usually write are recognised; anything else is shown as
// the raw expression, which is always correct if less friendly.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const num = (s: string, max: number) => (/^\d+$/.test(s) && Number(s) <= max ? Number(s) : null);
const pad = (n: number) => String(n).padStart(2, '0');

/** True when `expr` has 5 fields made of the characters cron accepts; the sidecar checks it fully. */
export function looksLikeCron(expr: string): boolean {
    const fields = expr.trim().split(/\s+/);
    return fields.length === 5 && fields.every((f) => /^[\d*/,\-A-Za-z?]+$/.test(f));
}

function dayList(dow: string): string | null {
    if (dow === '1-5') {
        return 'on weekdays';
    }
    if (dow === '0,6' || dow === '6,0') {
        return 'on weekends';
    }
    const days = dow.split(',').map((d) => num(d, 7));
    if (days.some((d) => d === null)) {
        return null;
    }
    return `on ${days.map((d) => DAYS[(d as number) % 7]).join(', ')}`;
}

/** A readable description of `expr` in time zone `tz`, or the expression itself when it is not a known pattern. */
export function describeCron(expr: string, tz = 'UTC'): string {
    const fields = expr.trim().split(/\s+/);
    if (fields.length !== 5) {
        return expr;
    }
    const [min = '', hour = '', dom = '', month = '', dow = ''] = fields;
    const m = num(min, 59);
    const everyH = /^\*\/(\d+)$/.exec(hour);
    if (m !== null && hour === '*' && dom === '*' && month === '*' && dow === '*') {
        return `every hour at minute ${m}`;
    }
    if (m !== null && everyH && dom === '*' && month === '*' && dow === '*') {
        return `every ${everyH[1]} hours at minute ${m} (${tz})`;
    }
    const h = num(hour, 23);
    if (m === null || h === null || month !== '*') {
        return expr;
    }
    const at = `at ${pad(h)}:${pad(m)} ${tz}`;
    if (dom === '*' && dow === '*') {
        return `every day ${at}`;
    }
    if (dom === '*') {
        const days = dayList(dow);
        return days ? `every week ${days} ${at}` : expr;
    }
    const d = num(dom, 31);
    if (d !== null && d >= 1 && dow === '*') {
        return `every month on day ${d} ${at}`;
    }
    return expr;
}

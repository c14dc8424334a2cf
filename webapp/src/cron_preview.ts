// Turns the common cron schedules into words ("every day at 03:00 UTC") for the settings
// form, in the user's language through the formatMessage it is given. Only the patterns
// admins usually write are recognised; anything else is shown as the raw expression,
// which is always correct if less friendly.

import type {FormatMessage} from 'src/i18n';

const MESSAGES = {
    hourly: {id: 'mattermost-backup.cron.hourly', defaultMessage: 'every hour at minute {minute}'},
    everyHours: {
        id: 'mattermost-backup.cron.every_hours',
        defaultMessage: '{hours, plural, one {every hour} other {every # hours}} at minute {minute} ({tz})',
    },
    daily: {id: 'mattermost-backup.cron.daily', defaultMessage: 'every day at {time} {tz}'},
    weekdays: {id: 'mattermost-backup.cron.weekdays', defaultMessage: 'every week on weekdays at {time} {tz}'},
    weekends: {id: 'mattermost-backup.cron.weekends', defaultMessage: 'every week on weekends at {time} {tz}'},
    weekly: {id: 'mattermost-backup.cron.weekly', defaultMessage: 'every week on {days} at {time} {tz}'},
    monthly: {id: 'mattermost-backup.cron.monthly', defaultMessage: 'every month on day {day} at {time} {tz}'},
    weekday: {
        id: 'mattermost-backup.cron.weekday',
        defaultMessage:
            '{day, select, 0 {Sunday} 1 {Monday} 2 {Tuesday} 3 {Wednesday} 4 {Thursday} 5 {Friday} 6 {Saturday} other {{day}}}',
    },
};

const num = (s: string, max: number) => (/^\d+$/.test(s) && Number(s) <= max ? Number(s) : null);
const pad = (n: number) => String(n).padStart(2, '0');

/** True when `expr` has 5 fields made of the characters cron accepts; the sidecar checks it fully. */
export function looksLikeCron(expr: string): boolean {
    const fields = expr.trim().split(/\s+/);
    return fields.length === 5 && fields.every((f) => /^[\d*/,\-A-Za-z?]+$/.test(f));
}

/** Day-of-week field → 'weekdays' / 'weekends' / the days (0 = Sunday), or null when not a plain list. */
function dayList(dow: string): 'weekdays' | 'weekends' | number[] | null {
    if (dow === '1-5') {
        return 'weekdays';
    }
    if (dow === '0,6' || dow === '6,0') {
        return 'weekends';
    }
    const days = dow.split(',').map((d) => num(d, 7));
    if (days.some((d) => d === null)) {
        return null;
    }
    return days.map((d) => (d as number) % 7);
}

/** A readable description of `expr` in time zone `tz`, or the expression itself when it is not a known pattern. */
export function describeCron(expr: string, tz: string, formatMessage: FormatMessage): string {
    const fields = expr.trim().split(/\s+/);
    if (fields.length !== 5) {
        return expr;
    }
    const [min = '', hour = '', dom = '', month = '', dow = ''] = fields;
    const m = num(min, 59);
    const everyH = /^\*\/(\d+)$/.exec(hour);
    if (m !== null && hour === '*' && dom === '*' && month === '*' && dow === '*') {
        return formatMessage(MESSAGES.hourly, {minute: m});
    }
    if (m !== null && everyH && dom === '*' && month === '*' && dow === '*') {
        return formatMessage(MESSAGES.everyHours, {hours: Number(everyH[1]), minute: m, tz});
    }
    const h = num(hour, 23);
    if (m === null || h === null || month !== '*') {
        return expr;
    }
    const time = `${pad(h)}:${pad(m)}`;
    if (dom === '*' && dow === '*') {
        return formatMessage(MESSAGES.daily, {time, tz});
    }
    if (dom === '*') {
        const days = dayList(dow);
        if (days === 'weekdays' || days === 'weekends') {
            return formatMessage(MESSAGES[days], {time, tz});
        }
        if (!days) {
            return expr;
        }
        const names = days.map((d) => formatMessage(MESSAGES.weekday, {day: String(d)}));
        return formatMessage(MESSAGES.weekly, {days: names.join(', '), time, tz});
    }
    const d = num(dom, 31);
    if (d !== null && d >= 1 && dow === '*') {
        return formatMessage(MESSAGES.monthly, {day: d, time, tz});
    }
    return expr;
}

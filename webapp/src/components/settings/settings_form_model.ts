// The settings form's model: the text the inputs hold, validation with one message per
// field, conversion to the PUT /v1/settings body, and mapping of the sidecar's 400
// messages (which name the key, e.g. "body.retention.keep_last: ...") back to fields.
// Messages found here are LocalMessages, which the panel renders in the user's language;
// the sidecar's messages stay strings (the sidecar writes them in English).

import type {BackupMode, ComponentId, SettingsDto, SettingsPatch} from 'src/client/dto';
import {looksLikeCron} from 'src/cron_preview';
import type {LocalMessage, Text} from 'src/i18n';

export type SettingsForm = {
    backupCron: string;
    verifyCron: string;
    timezone: string;
    pruneAfterBackup: boolean;
    keepLast: string;
    keepDaily: string;
    keepWeekly: string;
    keepMonthly: string;
    mode: BackupMode;
    exclude: ComponentId[];
    successes: 'each' | 'daily' | 'none';
    dailySummaryAt: string;
    statusChannel: string;
};

export type FieldErrors = Partial<Record<keyof SettingsForm, Text>>;

export function formFromSettings(s: SettingsDto): SettingsForm {
    return {
        backupCron: s.schedule.backup ?? '',
        verifyCron: s.schedule.verify ?? '',
        timezone: s.schedule.timezone,
        pruneAfterBackup: s.schedule.prune_after_backup,
        keepLast: String(s.retention.keep_last),
        keepDaily: String(s.retention.keep_daily),
        keepWeekly: String(s.retention.keep_weekly),
        keepMonthly: String(s.retention.keep_monthly),
        mode: s.backup.mode,
        exclude: [...s.backup.exclude],
        successes: s.notify.successes,
        dailySummaryAt: s.notify.daily_summary_at,
        statusChannel: s.status_channel ?? '',
    };
}

export function isValidTimeZone(tz: string): boolean {
    try {
        new Intl.DateTimeFormat('en', {timeZone: tz});
        return tz.length > 0;
    } catch {
        return false;
    }
}

const MAX_COUNT = 1000;

function count(value: string, min: number): LocalMessage | undefined {
    if (!/^\d+$/.test(value.trim())) {
        return {id: 'mattermost-backup.settings.error.whole_number', defaultMessage: 'Enter a whole number.'};
    }
    const n = Number(value);
    if (n < min || n > MAX_COUNT) {
        return {id: 'mattermost-backup.settings.error.range', defaultMessage: 'Enter a number from {min} to {max}.', values: {min, max: MAX_COUNT}};
    }
    return undefined;
}

/** Checks the form the way the sidecar will; an empty object means it can be saved. */
export function validateSettings(f: SettingsForm): FieldErrors {
    const errors: FieldErrors = {};
    const set = (k: keyof SettingsForm, msg: LocalMessage | undefined) => {
        if (msg) {
            errors[k] = msg;
        }
    };
    const cron = (v: string) => (v.trim() === '' || looksLikeCron(v) ? undefined : {
        id: 'mattermost-backup.settings.error.cron',
        defaultMessage: 'Enter a cron expression with 5 fields (minute hour day month weekday), e.g. 0 3 * * *, or leave it empty for no schedule.',
    });
    set('backupCron', cron(f.backupCron));
    set('verifyCron', cron(f.verifyCron));
    set('timezone', isValidTimeZone(f.timezone.trim()) ? undefined : {id: 'mattermost-backup.settings.error.timezone', defaultMessage: 'Enter an IANA time zone such as UTC or Europe/Berlin.'});
    set('keepLast', count(f.keepLast, 1));
    set('keepDaily', count(f.keepDaily, 0));
    set('keepWeekly', count(f.keepWeekly, 0));
    set('keepMonthly', count(f.keepMonthly, 0));
    set('dailySummaryAt', /^([01]\d|2[0-3]):[0-5]\d$/.test(f.dailySummaryAt) ? undefined : {id: 'mattermost-backup.settings.error.time', defaultMessage: 'Enter a time as HH:MM, e.g. 09:00.'});
    set('statusChannel', f.statusChannel === '' || /^[a-z0-9][a-z0-9_-]{0,63}\/[a-z0-9][a-z0-9_-]{0,63}$/.test(f.statusChannel) ? undefined : {
        id: 'mattermost-backup.settings.error.channel',
        defaultMessage: 'Pick a channel, or enter team-name/channel-name.',
    });
    if (f.exclude.includes('database')) {
        errors.exclude = {id: 'mattermost-backup.settings.error.exclude_database', defaultMessage: 'The database cannot be excluded: a backup without it cannot be restored.'};
    }
    return errors;
}

/** The PUT /v1/settings body for a valid form. Empty schedules become null (no schedule). */
export function patchFromForm(f: SettingsForm): SettingsPatch {
    return {
        schedule: {backup: f.backupCron.trim() || null, verify: f.verifyCron.trim() || null, timezone: f.timezone.trim(), prune_after_backup: f.pruneAfterBackup},
        retention: {keep_last: Number(f.keepLast), keep_daily: Number(f.keepDaily), keep_weekly: Number(f.keepWeekly), keep_monthly: Number(f.keepMonthly)},
        backup: {mode: f.mode, exclude: f.exclude},
        notify: {successes: f.successes, daily_summary_at: f.dailySummaryAt},
        status_channel: f.statusChannel || null,
    };
}

/** Sidecar keys (API snake_case and config-file camelCase) and the form field each belongs to. */
const KEYS: Array<[RegExp, keyof SettingsForm]> = [
    [/schedule\.backup\b/, 'backupCron'],
    [/schedule\.verify\b/, 'verifyCron'],
    [/schedule\.timezone\b/, 'timezone'],
    [/retention\.keep_?last\b/i, 'keepLast'],
    [/retention\.keep_?daily\b/i, 'keepDaily'],
    [/retention\.keep_?weekly\b/i, 'keepWeekly'],
    [/retention\.keep_?monthly\b/i, 'keepMonthly'],
    [/backup\.exclude\b/, 'exclude'],
    [/backup\.mode\b/, 'mode'],
    [/notify\.daily_?summary_?at\b/i, 'dailySummaryAt'],
    [/notify\.successes\b/, 'successes'],
    [/status_?channel\b/i, 'statusChannel'],
];

/**
 * Splits a sidecar 400 message ("a: msg; b: msg") into field errors. Parts that name no
 * known key are returned in `rest`, to show above the form.
 */
export function fieldErrorsFromServer(message: string): {errors: Partial<Record<keyof SettingsForm, string>>; rest: string[]} {
    const errors: Partial<Record<keyof SettingsForm, string>> = {};
    const rest: string[] = [];
    for (const part of message.split(/;\s*/).filter(Boolean)) {
        const hit = KEYS.find(([re]) => re.test(part));
        if (hit) {
            errors[hit[1]] = part.replace(/^[\w.]+:\s*/, '');
        } else {
            rest.push(part);
        }
    }
    return {errors, rest};
}

// The settings form's model: the text the inputs hold, and ONE table (FIELDS) that ties each
// input to its setting's path in the API (@mm-backup/api's settingsPatch). The table makes
// the form from the settings, the PUT /v1/settings body from the form, and puts each
// problem next to its input by path: those the shared schema finds before anything is sent,
// and those in the sidecar's 400 (`errors: [{path, message}]`). Messages found here are
// LocalMessages, which the panel renders in the user's language; the sidecar's messages stay
// strings (the sidecar writes them in English).

import {settingsPatch, valueAt} from '@mm-backup/api';
import type {BackupMode, ComponentId, FieldError, Settings, SettingsPatch} from '@mm-backup/api';

import type {LocalMessage, Text} from 'src/i18n';

export type SettingsForm = {
    backupCron: string;
    verifyCron: string;
    /** Physical backups (schedule.pitr_backup); absent when the sidecar does not know it. */
    pitrBackupCron?: string;
    timezone: string;
    pruneAfterBackup: boolean;
    keepLast: string;
    keepDaily: string;
    keepWeekly: string;
    keepMonthly: string;
    mode: BackupMode;
    /** Absent when the sidecar predates API 2. */
    replicateAfter?: boolean;
    exclude: ComponentId[];
    successes: 'each' | 'daily' | 'none';
    dailySummaryAt: string;
    statusChannel: string;
};

export type FieldErrors = Partial<Record<keyof SettingsForm, Text>>;

const MAX_COUNT = 1000;

/**
 * How an input holds its setting: `text` (empty means none: null), `count` (digits, sent as a
 * number), or `value` (as is). `message` is what the page says when the schema refuses it.
 */
type Field = {path: string; kind: 'text' | 'optional' | 'count' | 'value'; message: (f: SettingsForm) => LocalMessage};

const cronMessage = () => ({
    id: 'mattermost-backup.settings.error.cron',
    defaultMessage:
        'Enter a cron expression with 5 fields (minute hour day month weekday), e.g. 0 3 * * *, or leave it empty for no schedule.',
});

function countMessage(min: number) {
    return (value: string): LocalMessage =>
        /^\d+$/.test(value.trim())
            ? {
                  id: 'mattermost-backup.settings.error.range',
                  defaultMessage: 'Enter a number from {min} to {max}.',
                  values: {min, max: MAX_COUNT},
              }
            : {id: 'mattermost-backup.settings.error.whole_number', defaultMessage: 'Enter a whole number.'};
}

/** Every input, the API path of its setting, and how it is held. The one place form and API meet. */
export const FIELDS: Record<keyof SettingsForm, Field> = {
    backupCron: {path: 'schedule.backup', kind: 'optional', message: cronMessage},
    verifyCron: {path: 'schedule.verify', kind: 'optional', message: cronMessage},
    pitrBackupCron: {path: 'schedule.pitr_backup', kind: 'optional', message: cronMessage},
    timezone: {
        path: 'schedule.timezone',
        kind: 'text',
        message: () => ({
            id: 'mattermost-backup.settings.error.timezone',
            defaultMessage: 'Enter an IANA time zone such as UTC or Europe/Berlin.',
        }),
    },
    pruneAfterBackup: {
        path: 'schedule.prune_after_backup',
        kind: 'value',
        message: () => ({id: 'mattermost-backup.settings.error.invalid', defaultMessage: 'This value is not valid.'}),
    },
    replicateAfter: {
        path: 'backup.replicate_after',
        kind: 'value',
        message: () => ({id: 'mattermost-backup.settings.error.invalid', defaultMessage: 'This value is not valid.'}),
    },
    keepLast: {path: 'retention.keep_last', kind: 'count', message: (f) => countMessage(1)(f.keepLast)},
    keepDaily: {path: 'retention.keep_daily', kind: 'count', message: (f) => countMessage(0)(f.keepDaily)},
    keepWeekly: {path: 'retention.keep_weekly', kind: 'count', message: (f) => countMessage(0)(f.keepWeekly)},
    keepMonthly: {path: 'retention.keep_monthly', kind: 'count', message: (f) => countMessage(0)(f.keepMonthly)},
    mode: {
        path: 'backup.mode',
        kind: 'value',
        message: () => ({id: 'mattermost-backup.settings.error.invalid', defaultMessage: 'This value is not valid.'}),
    },
    exclude: {
        path: 'backup.exclude',
        kind: 'value',
        message: (f) =>
            f.exclude.includes('database')
                ? {
                      id: 'mattermost-backup.settings.error.exclude_database',
                      defaultMessage: 'The database cannot be excluded: a backup without it cannot be restored.',
                  }
                : {id: 'mattermost-backup.settings.error.invalid', defaultMessage: 'This value is not valid.'},
    },
    successes: {
        path: 'notify.successes',
        kind: 'value',
        message: () => ({id: 'mattermost-backup.settings.error.invalid', defaultMessage: 'This value is not valid.'}),
    },
    dailySummaryAt: {
        path: 'notify.daily_summary_at',
        kind: 'text',
        message: () => ({
            id: 'mattermost-backup.settings.error.time',
            defaultMessage: 'Enter a time as HH:MM, e.g. 09:00.',
        }),
    },
    statusChannel: {
        path: 'status_channel',
        kind: 'optional',
        message: () => ({
            id: 'mattermost-backup.settings.error.channel',
            defaultMessage: 'Pick a channel, or enter team-name/channel-name.',
        }),
    },
};

const KEYS = Object.keys(FIELDS) as Array<keyof SettingsForm>;

/** The input a problem at API path `path` belongs to (the setting itself or a part of it, `backup.exclude.0`). */
function fieldAt(path: string): keyof SettingsForm | undefined {
    return KEYS.find((k) => path === FIELDS[k].path || path.startsWith(`${FIELDS[k].path}.`));
}

export function formFromSettings(s: Settings): SettingsForm {
    const form: Record<string, unknown> = {};
    for (const k of KEYS) {
        const v = valueAt(s, FIELDS[k].path);
        const kind = FIELDS[k].kind;
        form[k] =
            kind === 'value'
                ? Array.isArray(v)
                    ? [...(v as unknown[])]
                    : v
                : kind === 'count'
                  ? String(v)
                  : v === undefined && kind === 'optional'
                    ? undefined // a setting this sidecar does not have: no input, never sent
                    : (v ?? '');
    }
    return form as SettingsForm;
}

/** The PUT /v1/settings body for the form. Empty schedules and channel become null (none). */
export function patchFromForm(f: SettingsForm): SettingsPatch {
    const patch: Record<string, unknown> = {};
    for (const k of KEYS) {
        const {path, kind} = FIELDS[k];
        const raw = f[k];
        const text = typeof raw === 'string' ? raw.trim() : '';
        const v =
            kind === 'optional'
                ? raw === undefined
                    ? undefined
                    : text || null
                : kind === 'text'
                  ? text
                  : kind === 'count'
                    ? /^\d+$/.test(text)
                        ? Number(text)
                        : NaN
                    : raw;
        // A path is `section` or `section.key` (FIELDS has no deeper one).
        const dot = path.indexOf('.');
        if (dot < 0) {
            patch[path] = v;
        } else {
            const section = path.slice(0, dot);
            patch[section] = {...(patch[section] as Record<string, unknown> | undefined), [path.slice(dot + 1)]: v};
        }
    }
    return patch;
}

/** Checks the form with the API's own settings schema; an empty object means it can be saved. */
export function validateSettings(f: SettingsForm): FieldErrors {
    const r = settingsPatch.safeParse(patchFromForm(f));
    const errors: FieldErrors = {};
    for (const issue of r.success ? [] : r.error.issues) {
        const k = fieldAt(issue.path.map(String).join('.'));
        if (k && !errors[k]) {
            errors[k] = FIELDS[k].message(f);
        }
    }
    return errors;
}

/** Puts the sidecar's 400 problems next to their inputs by path; the rest go above the form. */
export function fieldErrorsFromServer(problems: FieldError[]): {
    errors: Partial<Record<keyof SettingsForm, string>>;
    rest: string[];
} {
    const errors: Partial<Record<keyof SettingsForm, string>> = {};
    const rest: string[] = [];
    for (const p of problems) {
        const k = fieldAt(p.path);
        if (k) {
            errors[k] = errors[k] ? `${errors[k]}; ${p.message}` : p.message;
        } else {
            rest.push(p.path ? `${p.path}: ${p.message}` : p.message);
        }
    }
    return {errors, rest};
}

// The form model's messages are descriptors, rendered later in the user's language; the
// sidecar's own 400 problems stay strings and are placed by path.

import {formatText, intlFor} from 'src/i18n';

import {SETTINGS_FIELDS} from '@mm-backup/api';

import {FIELDS, fieldErrorsFromServer, formFromSettings, patchFromForm, validateSettings} from './settings_form_model';
import type {SettingsForm} from './settings_form_model';

const valid: SettingsForm = formFromSettings({
    schedule: {backup: '0 3 * * *', verify: null, timezone: 'UTC', prune_after_backup: true},
    retention: {keep_last: 7, keep_daily: 7, keep_weekly: 4, keep_monthly: 6},
    backup: {mode: 'offline', exclude: []},
    notify: {successes: 'each', daily_summary_at: '09:00'},
    status_channel: 'ops/backups',
});

describe('validateSettings', () => {
    it('accepts a valid form', () => {
        expect(validateSettings(valid)).toEqual({});
    });

    it('returns a message descriptor per invalid field, with the values it needs', () => {
        const errors = validateSettings({
            ...valid,
            keepLast: '0',
            keepDaily: 'x',
            backupCron: 'daily',
            timezone: 'Mars/Olympus',
            dailySummaryAt: '9',
            statusChannel: 'Ops',
            exclude: ['database'],
        });
        expect(errors.keepLast).toEqual({
            id: 'mattermost-backup.settings.error.range',
            defaultMessage: 'Enter a number from {min} to {max}.',
            values: {min: 1, max: 1000},
        });
        expect(errors.keepDaily).toMatchObject({id: 'mattermost-backup.settings.error.whole_number'});
        expect(
            Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, typeof v === 'string' ? v : v?.id])),
        ).toEqual({
            keepLast: 'mattermost-backup.settings.error.range',
            keepDaily: 'mattermost-backup.settings.error.whole_number',
            backupCron: 'mattermost-backup.settings.error.cron',
            timezone: 'mattermost-backup.settings.error.timezone',
            dailySummaryAt: 'mattermost-backup.settings.error.time',
            statusChannel: 'mattermost-backup.settings.error.channel',
            exclude: 'mattermost-backup.settings.error.exclude_database',
        });
        expect(formatText(intlFor('en').formatMessage, errors.keepLast!)).toBe('Enter a number from 1 to 1000.');
    });
});

describe('fieldErrorsFromServer', () => {
    it("keeps the sidecar's words, assigned to the inputs by path; the rest go above the form", () => {
        expect(
            fieldErrorsFromServer([
                {path: 'retention.keep_last', message: 'must be at least 1'},
                {path: 'backup.exclude.0', message: 'unknown component "x"'},
                {path: 'typo', message: 'Unrecognized key'},
            ]),
        ).toEqual({
            errors: {keepLast: 'must be at least 1', exclude: 'unknown component "x"'},
            rest: ['typo: Unrecognized key'],
        });
    });
});

describe('FIELDS', () => {
    it('maps every writable setting of the API schema to exactly one input, and back', () => {
        expect(
            Object.values(FIELDS)
                .map((f) => f.path)
                .sort(),
        ).toEqual([...SETTINGS_FIELDS].sort());
        const settings = {...valid};
        expect(formFromSettings(patchFromForm(settings) as Parameters<typeof formFromSettings>[0])).toEqual(settings);
    });
});

describe('schedule.pitr_backup', () => {
    it('is left out of the form and the patch when the sidecar does not have it', () => {
        expect(valid.pitrBackupCron).toBeUndefined();
        // As sent (JSON): an older sidecar refuses a key it does not know.
        const sent = JSON.parse(JSON.stringify(patchFromForm(valid))) as {schedule: object};
        expect(sent.schedule).not.toHaveProperty('pitr_backup');
        expect(sent.schedule).toHaveProperty('backup', '0 3 * * *');
    });

    it('is a cron schedule like the others when it does: empty is none, bad ones are refused before sending', () => {
        const form = formFromSettings({
            schedule: {backup: null, verify: null, pitr_backup: null, timezone: 'UTC', prune_after_backup: true},
            retention: {keep_last: 7, keep_daily: 7, keep_weekly: 4, keep_monthly: 6},
            backup: {mode: 'offline', exclude: []},
            notify: {successes: 'each', daily_summary_at: '09:00'},
            status_channel: null,
        });
        expect(form.pitrBackupCron).toBe('');
        expect(patchFromForm(form).schedule?.pitr_backup).toBeNull();
        expect(patchFromForm({...form, pitrBackupCron: ' 15 2 * * * '}).schedule?.pitr_backup).toBe('15 2 * * *');
        expect(validateSettings({...form, pitrBackupCron: 'nightly'}).pitrBackupCron).toMatchObject({
            id: 'mattermost-backup.settings.error.cron',
        });
        expect(fieldErrorsFromServer([{path: 'schedule.pitr_backup', message: 'no'}]).errors).toEqual({
            pitrBackupCron: 'no',
        });
    });
});

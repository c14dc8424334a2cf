// The sidecar's settings (GET/PUT /v1/settings) as Console panels of setting rows: schedule
// with a readable preview, retention, excluded components, default mode, notifications and
// the status channel. The Console's Save button saves them (see console_save.tsx): it
// validates with the API's settings schema before sending and shows errors next to their
// fields, including the sidecar's own 400 problems, which come by path.

import React, {useState} from 'react';
import {useIntl} from 'react-intl';
import {useDispatch} from 'react-redux';

import type {ComponentId, ComponentKind, Settings} from '@mm-backup/api';
import {describeCron, looksLikeCron} from 'src/cron_preview';
import {formatText} from 'src/i18n';
import {ENUM_MESSAGES} from 'src/i18n/enum_messages';
import {failureMessage, receivedSettings, run} from 'src/state/actions';

import {ConsolePanel, SettingRow} from '../admin_console/console_layout';
import {useConsoleSave} from '../admin_console/console_save';
import {useClients} from '../clients_context';
import {useComponents} from '../use_components';

import ChannelPicker from './channel_picker';
import TimeZonePicker from './time_zone_picker';
import {fieldErrorsFromServer, formFromSettings, patchFromForm, validateSettings} from './settings_form_model';
import type {FieldErrors, SettingsForm} from './settings_form_model';

const M = {
    noSchedule: {id: 'mattermost-backup.settings.no_schedule', defaultMessage: 'Not scheduled'},
    title: {id: 'mattermost-backup.settings.title', defaultMessage: 'Backup settings'},
    backupCron: {id: 'mattermost-backup.settings.backup_cron', defaultMessage: 'Backup schedule (cron)'},
    verifyCron: {
        id: 'mattermost-backup.settings.verify_cron',
        defaultMessage: 'Restore drill schedule (cron, deep verification of the latest snapshot)',
    },
    pitrBackupCron: {
        id: 'mattermost-backup.settings.pitr_backup_cron',
        defaultMessage: 'Physical backup schedule (cron, pgBackRest; physical mode only)',
    },
    timezone: {id: 'mattermost-backup.settings.timezone', defaultMessage: 'Time zone'},
    prune: {id: 'mattermost-backup.settings.prune', defaultMessage: 'Apply retention after each backup'},
    replicate: {
        id: 'mattermost-backup.settings.replicate',
        defaultMessage: 'Copy each backup off-site (when an off-site copy is configured)',
    },
    keepLast: {id: 'mattermost-backup.settings.keep_last', defaultMessage: 'Latest snapshots'},
    keepDaily: {id: 'mattermost-backup.settings.keep_daily', defaultMessage: 'Daily snapshots'},
    keepWeekly: {id: 'mattermost-backup.settings.keep_weekly', defaultMessage: 'Weekly snapshots'},
    keepMonthly: {id: 'mattermost-backup.settings.keep_monthly', defaultMessage: 'Monthly snapshots'},
    mode: {id: 'mattermost-backup.settings.mode', defaultMessage: 'Default backup mode'},
    modeOffline: {
        id: 'mattermost-backup.settings.mode_offline',
        defaultMessage: 'Offline (stops Mattermost, consistent)',
    },
    modeOnline: {id: 'mattermost-backup.settings.mode_online', defaultMessage: 'Online (Mattermost keeps running)'},
    exclude: {id: 'mattermost-backup.settings.exclude', defaultMessage: 'Components to exclude'},
    componentsLoading: {
        id: 'mattermost-backup.settings.components_loading',
        defaultMessage: "Loading the sidecar's components…",
    },
    componentsFailed: {
        id: 'mattermost-backup.settings.components_failed',
        defaultMessage: 'The sidecar did not list its components ({error}); only those already excluded are shown.',
    },
    successes: {id: 'mattermost-backup.settings.successes', defaultMessage: 'Post successful jobs'},
    each: {id: 'mattermost-backup.settings.each', defaultMessage: 'Each job'},
    daily: {id: 'mattermost-backup.settings.daily', defaultMessage: 'Once a day, as a summary'},
    none: {id: 'mattermost-backup.settings.none', defaultMessage: 'Never (failures are always posted)'},
    dailyAt: {id: 'mattermost-backup.settings.daily_at', defaultMessage: 'Daily summary at (HH:MM)'},
    statusChannel: {id: 'mattermost-backup.settings.status_channel', defaultMessage: 'Status channel'},
    panelSchedule: {id: 'mattermost-backup.settings.panel.schedule', defaultMessage: 'Schedule'},
    panelRetention: {id: 'mattermost-backup.settings.panel.retention', defaultMessage: 'Retention'},
    panelRetentionSub: {
        id: 'mattermost-backup.settings.panel.retention_sub',
        defaultMessage: 'Which snapshots are kept when old ones are removed; a snapshot any rule keeps stays.',
    },
    panelContents: {id: 'mattermost-backup.settings.panel.contents', defaultMessage: 'Backup contents'},
    panelNotify: {id: 'mattermost-backup.settings.panel.notify', defaultMessage: 'Notifications'},
    timezoneHelp: {
        id: 'mattermost-backup.settings.timezone_help',
        defaultMessage: 'The zone the schedules run in. Type part of a name to search, e.g. Berlin or New York.',
    },
    pruneHelp: {
        id: 'mattermost-backup.settings.prune_help',
        defaultMessage: 'Removes the snapshots no rule below keeps once a backup has succeeded.',
    },
    replicateHelp: {
        id: 'mattermost-backup.settings.replicate_help',
        defaultMessage: 'Only used when the sidecar has an off-site copy configured.',
    },
    keepLastHelp: {
        id: 'mattermost-backup.settings.keep_last_help',
        defaultMessage: 'The most recent snapshots to keep, at least 1.',
    },
    keepDailyHelp: {
        id: 'mattermost-backup.settings.keep_daily_help',
        defaultMessage: 'The newest snapshot of each of this many days. 0 keeps none by day.',
    },
    keepWeeklyHelp: {
        id: 'mattermost-backup.settings.keep_weekly_help',
        defaultMessage: 'The newest snapshot of each of this many weeks. 0 keeps none by week.',
    },
    keepMonthlyHelp: {
        id: 'mattermost-backup.settings.keep_monthly_help',
        defaultMessage: 'The newest snapshot of each of this many months. 0 keeps none by month.',
    },
    modeHelp: {
        id: 'mattermost-backup.settings.mode_help',
        defaultMessage: 'Used by scheduled backups and preselected for Back up now.',
    },
    excludeHelp: {
        id: 'mattermost-backup.settings.exclude_help',
        defaultMessage: 'Checked parts are left out of every backup. The database is always backed up.',
    },
    dailyAtHelp: {
        id: 'mattermost-backup.settings.daily_at_help',
        defaultMessage: 'When the daily summary is posted, in the time zone above.',
    },
    statusChannelHelp: {
        id: 'mattermost-backup.settings.status_channel_help',
        defaultMessage: 'Where the sidecar posts job results, as its bot.',
    },
    invalid: {
        id: 'mattermost-backup.settings.invalid',
        defaultMessage: 'Backup settings not saved: correct the marked fields.',
    },
};

/**
 * The components offered for exclusion: the sidecar's list, plus any id the settings already
 * exclude that it does not name (so it can still be unchecked), shown by its id.
 */
function excludeChoices(
    known: ComponentKind[],
    excluded: ComponentId[],
): Array<{id: ComponentId; title?: string; description?: string}> {
    const ids = new Set(known.map((c) => c.id));
    return [...known, ...excluded.filter((id) => !ids.has(id)).map((id) => ({id}))];
}

export default function SettingsPanel({settings}: {settings: Settings}) {
    const {formatMessage} = useIntl();
    const {bridge} = useClients();
    const dispatch = useDispatch();
    const [form, setForm] = useState<SettingsForm>(() => formFromSettings(settings));
    const [errors, setErrors] = useState<FieldErrors>({});
    const [general, setGeneral] = useState<string[]>([]);
    // New settings from the server (loaded, or saved) reset the form while rendering, as React
    // advises for state that follows a prop, not in an effect that would render twice.
    const [formOf, setFormOf] = useState(settings);
    if (formOf !== settings) {
        setFormOf(settings);
        setForm(formFromSettings(settings));
    }
    const components = useComponents();

    // Runs on the Console's Save, after Mattermost's own config is saved.
    const save = async (): Promise<{error?: {message?: string}}> => {
        const found = validateSettings(form);
        setErrors(found);
        setGeneral([]);
        if (Object.keys(found).length) {
            return {error: {message: formatMessage(M.invalid)}};
        }
        const r = await run(dispatch, bridge, () => bridge.putSettings(patchFromForm(form)));
        if (r.error) {
            // A 400 lists its problems by path; one without them (a sidecar before API 2) is shown whole.
            const mapped =
                r.error.status === 400 && r.error.fields?.length
                    ? fieldErrorsFromServer(r.error.fields)
                    : {errors: {}, rest: [failureMessage(formatMessage, r.error)]};
            setErrors(mapped.errors);
            setGeneral(mapped.rest);
            return {error: {message: [formatMessage(M.invalid), ...mapped.rest].join(' ')}};
        }
        dispatch(receivedSettings(r.data));
        return {};
    };
    const {changed} = useConsoleSave(save);

    const set = <K extends keyof SettingsForm>(k: K, v: SettingsForm[K]) => {
        setForm((f) => ({...f, [k]: v}));
        changed();
    };
    const text = (k: keyof SettingsForm, id: string) => ({
        id,
        className: 'form-control',
        value: form[k] as string,
        'aria-invalid': !!errors[k],
        'aria-describedby': errors[k] ? `${id}-error` : undefined,
        onChange: (e: React.ChangeEvent<HTMLInputElement>) => set(k, e.target.value as never),
    });
    const preview = (expr: string) =>
        expr.trim() === ''
            ? formatMessage(M.noSchedule)
            : looksLikeCron(expr)
              ? describeCron(expr, form.timezone || 'UTC', formatMessage)
              : '';
    const problem = (k: keyof SettingsForm) => {
        const e = errors[k];
        return e === undefined ? undefined : formatText(formatMessage, e);
    };
    const count = (
        k: 'keepLast' | 'keepDaily' | 'keepWeekly' | 'keepMonthly',
        id: string,
        help: {id: string; defaultMessage: string},
    ) => (
        <SettingRow inputId={id} label={formatMessage(M[k])} helpText={formatMessage(help)} error={problem(k)}>
            <input {...text(k, id)} inputMode="numeric" style={{width: 120}} />
        </SettingRow>
    );
    // A schedule row: its help text is the expression in words; the placeholder is a format
    // example (a cron expression), not words, so it stays literal.
    const cron = (k: 'backupCron' | 'verifyCron' | 'pitrBackupCron', id: string, placeholder: string) => (
        <SettingRow inputId={id} label={formatMessage(M[k])} helpText={preview(form[k] ?? '')} error={problem(k)}>
            <input {...text(k, id)} placeholder={placeholder} />
        </SettingRow>
    );
    const checkbox = (
        k: 'pruneAfterBackup' | 'replicateAfter',
        id: string,
        label: {id: string; defaultMessage: string},
        help: {id: string; defaultMessage: string},
    ) => (
        <SettingRow inputId={id} label={formatMessage(label)} helpText={formatMessage(help)}>
            <input id={id} type="checkbox" checked={!!form[k]} onChange={(e) => set(k, e.target.checked)} />
        </SettingRow>
    );
    const toggleExclude = (c: ComponentId) =>
        set('exclude', form.exclude.includes(c) ? form.exclude.filter((x) => x !== c) : [...form.exclude, c]);

    return (
        // The panels sit in one element for the form's label; the Console's rule that makes a
        // first .config-section flush (margin-top: 0) would otherwise glue the first to the one above.
        <div
            style={{marginTop: 20}}
            className="mattermost-backup-settings"
            role="group"
            aria-label={formatMessage(M.title)}
            data-testid="settings-form"
        >
            <ConsolePanel title={formatMessage(M.panelSchedule)} testId="section-schedule">
                {general.length > 0 && (
                    <div className="alert alert-danger" role="alert">
                        {general.join('; ')}
                    </div>
                )}
                {cron('backupCron', 'mm-backup-backup-cron', '0 3 * * *')}
                {cron('verifyCron', 'mm-backup-verify-cron', '0 5 * * 0')}
                {form.pitrBackupCron !== undefined && cron('pitrBackupCron', 'mm-backup-pitr-backup-cron', '0 2 * * *')}
                <SettingRow
                    inputId="mm-backup-timezone"
                    label={formatMessage(M.timezone)}
                    helpText={formatMessage(M.timezoneHelp)}
                    error={problem('timezone')}
                >
                    <TimeZonePicker
                        id="mm-backup-timezone"
                        value={form.timezone}
                        invalid={!!errors.timezone}
                        onChange={(z) => set('timezone', z)}
                    />
                </SettingRow>
            </ConsolePanel>
            <ConsolePanel
                title={formatMessage(M.panelRetention)}
                subtitle={formatMessage(M.panelRetentionSub)}
                testId="section-retention"
            >
                {checkbox('pruneAfterBackup', 'mm-backup-prune', M.prune, M.pruneHelp)}
                {count('keepLast', 'mm-backup-keep-last', M.keepLastHelp)}
                {count('keepDaily', 'mm-backup-keep-daily', M.keepDailyHelp)}
                {count('keepWeekly', 'mm-backup-keep-weekly', M.keepWeeklyHelp)}
                {count('keepMonthly', 'mm-backup-keep-monthly', M.keepMonthlyHelp)}
            </ConsolePanel>
            <ConsolePanel title={formatMessage(M.panelContents)} testId="section-contents">
                <SettingRow
                    inputId="mm-backup-mode"
                    label={formatMessage(M.mode)}
                    helpText={formatMessage(M.modeHelp)}
                    error={problem('mode')}
                >
                    <select
                        id="mm-backup-mode"
                        className="form-control"
                        value={form.mode}
                        onChange={(e) => set('mode', e.target.value as SettingsForm['mode'])}
                    >
                        <option value="offline">{formatMessage(M.modeOffline)}</option>
                        <option value="online">{formatMessage(M.modeOnline)}</option>
                    </select>
                </SettingRow>
                {form.replicateAfter !== undefined &&
                    checkbox('replicateAfter', 'mm-backup-replicate', M.replicate, M.replicateHelp)}
                <SettingRow
                    inputId="mm-backup-exclude"
                    label={formatMessage(M.exclude)}
                    helpText={formatMessage(M.excludeHelp)}
                    error={problem('exclude')}
                >
                    <div id="mm-backup-exclude" role="group" aria-label={formatMessage(M.exclude)}>
                        {components.kind === 'loading' && (
                            <span role="status">{formatMessage(M.componentsLoading)}</span>
                        )}
                        {components.kind === 'failed' && (
                            <span className="help-text">
                                {formatMessage(M.componentsFailed, {
                                    error: failureMessage(formatMessage, components.failure),
                                })}
                            </span>
                        )}
                        {excludeChoices(components.kind === 'ready' ? components.components : [], form.exclude).map(
                            (c) => (
                                <div className="checkbox" key={c.id}>
                                    <label title={c.description}>
                                        <input
                                            type="checkbox"
                                            checked={form.exclude.includes(c.id)}
                                            onChange={() => toggleExclude(c.id)}
                                        />{' '}
                                        {c.title ?? formatMessage(ENUM_MESSAGES.component, {component: c.id})}
                                    </label>
                                </div>
                            ),
                        )}
                    </div>
                </SettingRow>
            </ConsolePanel>
            <ConsolePanel title={formatMessage(M.panelNotify)} testId="section-notify">
                <SettingRow
                    inputId="mm-backup-successes"
                    label={formatMessage(M.successes)}
                    error={problem('successes')}
                >
                    <select
                        id="mm-backup-successes"
                        className="form-control"
                        value={form.successes}
                        onChange={(e) => set('successes', e.target.value as SettingsForm['successes'])}
                    >
                        <option value="each">{formatMessage(M.each)}</option>
                        <option value="daily">{formatMessage(M.daily)}</option>
                        <option value="none">{formatMessage(M.none)}</option>
                    </select>
                </SettingRow>
                <SettingRow
                    inputId="mm-backup-daily-at"
                    label={formatMessage(M.dailyAt)}
                    helpText={formatMessage(M.dailyAtHelp)}
                    error={problem('dailySummaryAt')}
                >
                    <input {...text('dailySummaryAt', 'mm-backup-daily-at')} style={{width: 120}} />
                </SettingRow>
                <SettingRow
                    inputId="mm-backup-status-channel"
                    label={formatMessage(M.statusChannel)}
                    helpText={formatMessage(M.statusChannelHelp)}
                    error={problem('statusChannel')}
                >
                    <ChannelPicker
                        value={form.statusChannel}
                        invalid={!!errors.statusChannel}
                        onChange={(v) => set('statusChannel', v)}
                    />
                </SettingRow>
            </ConsolePanel>
        </div>
    );
}

// The sidecar's settings (GET/PUT /v1/settings) as a form: schedule with a readable
// preview, retention, excluded components, default mode, notifications and the status
// channel. It validates with the API's settings schema before saving and shows errors next
// to their fields, including the sidecar's own 400 problems, which come by path.

import React, {useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';
import {useDispatch} from 'react-redux';

import type {ComponentId, ComponentKind, Settings} from '@mm-backup/api';
import {describeCron, looksLikeCron} from 'src/cron_preview';
import {formatText} from 'src/i18n';
import type {Text} from 'src/i18n';
import {ENUM_MESSAGES} from 'src/i18n/enum_messages';
import {failureMessage, receivedSettings, run} from 'src/state/actions';

import {useClients} from '../clients_context';
import {useComponents} from '../use_components';

import ChannelPicker from './channel_picker';
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
    retention: {id: 'mattermost-backup.settings.retention', defaultMessage: 'Keep'},
    keepLast: {id: 'mattermost-backup.settings.keep_last', defaultMessage: 'Last'},
    keepDaily: {id: 'mattermost-backup.settings.keep_daily', defaultMessage: 'Daily'},
    keepWeekly: {id: 'mattermost-backup.settings.keep_weekly', defaultMessage: 'Weekly'},
    keepMonthly: {id: 'mattermost-backup.settings.keep_monthly', defaultMessage: 'Monthly'},
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
};

function Field({
    id,
    label,
    error,
    help,
    children,
}: {
    id: string;
    label: string;
    error?: Text;
    help?: React.ReactNode;
    children: React.ReactNode;
}) {
    const {formatMessage} = useIntl();
    return (
        <div className={`form-group${error ? ' has-error' : ''}`} style={{marginBottom: 12}}>
            <label className="control-label" htmlFor={id} style={{display: 'block'}}>
                {label}
            </label>
            {children}
            {help && (
                <div className="help-text" data-testid={`${id}-help`}>
                    {help}
                </div>
            )}
            {error && (
                <div
                    className="error-text help-text"
                    id={`${id}-error`}
                    role="alert"
                    style={{color: 'var(--error-text, #d24b4e)'}}
                >
                    {formatText(formatMessage, error)}
                </div>
            )}
        </div>
    );
}

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
    const [saved, setSaved] = useState(false);
    const [saving, setSaving] = useState(false);
    // New settings from the server (loaded, or saved) reset the form while rendering, as React
    // advises for state that follows a prop, not in an effect that would render twice.
    const [formOf, setFormOf] = useState(settings);
    if (formOf !== settings) {
        setFormOf(settings);
        setForm(formFromSettings(settings));
    }
    const components = useComponents();

    const set = <K extends keyof SettingsForm>(k: K, v: SettingsForm[K]) => {
        setForm((f) => ({...f, [k]: v}));
        setSaved(false);
    };
    const text = (k: keyof SettingsForm, id: string) => ({
        id,
        className: 'form-control',
        value: form[k] as string,
        'aria-invalid': !!errors[k],
        onChange: (e: React.ChangeEvent<HTMLInputElement>) => set(k, e.target.value as never),
    });
    const preview = (expr: string) =>
        expr.trim() === ''
            ? formatMessage(M.noSchedule)
            : looksLikeCron(expr)
              ? describeCron(expr, form.timezone || 'UTC', formatMessage)
              : '';

    const save = async () => {
        const found = validateSettings(form);
        setErrors(found);
        setGeneral([]);
        if (Object.keys(found).length) {
            return;
        }
        setSaving(true);
        const r = await run(dispatch, bridge, () => bridge.putSettings(patchFromForm(form)));
        setSaving(false);
        if (r.error) {
            // A 400 lists its problems by path; one without them (a sidecar before API 2) is shown whole.
            const mapped =
                r.error.status === 400 && r.error.fields?.length
                    ? fieldErrorsFromServer(r.error.fields)
                    : {errors: {}, rest: [failureMessage(formatMessage, r.error)]};
            setErrors(mapped.errors);
            setGeneral(mapped.rest);
            return;
        }
        dispatch(receivedSettings(r.data));
        setSaved(true);
    };

    const toggleExclude = (c: ComponentId) =>
        set('exclude', form.exclude.includes(c) ? form.exclude.filter((x) => x !== c) : [...form.exclude, c]);

    return (
        // A div, not a form: the System Console already wraps custom settings in its own
        // <form>, and Enter in these inputs must save these settings, not the Console's.
        <div
            className="mattermost-backup-settings"
            role="form"
            aria-label={formatMessage(M.title)}
            data-testid="settings-form"
            onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.target as HTMLElement).tagName === 'INPUT') {
                    e.preventDefault();
                    void save();
                }
            }}
        >
            {general.length > 0 && (
                <div className="alert alert-danger" role="alert">
                    {general.join('; ')}
                </div>
            )}
            <Field
                id="mm-backup-backup-cron"
                label={formatMessage(M.backupCron)}
                error={errors.backupCron}
                help={preview(form.backupCron)}
            >
                <input
                    {...text('backupCron', 'mm-backup-backup-cron')}
                    // A format example (a cron expression), not words: it stays literal.
                    placeholder="0 3 * * *"
                />
            </Field>
            <Field
                id="mm-backup-verify-cron"
                label={formatMessage(M.verifyCron)}
                error={errors.verifyCron}
                help={preview(form.verifyCron)}
            >
                <input
                    {...text('verifyCron', 'mm-backup-verify-cron')}
                    // A format example (a cron expression), not words: it stays literal.
                    placeholder="0 5 * * 0"
                />
            </Field>
            {form.pitrBackupCron !== undefined && (
                <Field
                    id="mm-backup-pitr-backup-cron"
                    label={formatMessage(M.pitrBackupCron)}
                    error={errors.pitrBackupCron}
                    help={preview(form.pitrBackupCron)}
                >
                    <input
                        {...text('pitrBackupCron', 'mm-backup-pitr-backup-cron')}
                        // A format example (a cron expression), not words: it stays literal.
                        placeholder="0 2 * * *"
                    />
                </Field>
            )}
            <Field id="mm-backup-timezone" label={formatMessage(M.timezone)} error={errors.timezone}>
                <input
                    {...text('timezone', 'mm-backup-timezone')}
                    // A format example (an IANA time zone name), not words: it stays literal.
                    placeholder="UTC"
                />
            </Field>
            <div className="checkbox">
                <label>
                    <input
                        type="checkbox"
                        checked={form.pruneAfterBackup}
                        onChange={(e) => set('pruneAfterBackup', e.target.checked)}
                    />{' '}
                    {formatMessage(M.prune)}
                </label>
            </div>
            {form.replicateAfter !== undefined && (
                <div className="checkbox">
                    <label>
                        <input
                            type="checkbox"
                            checked={form.replicateAfter}
                            onChange={(e) => set('replicateAfter', e.target.checked)}
                        />{' '}
                        {formatMessage(M.replicate)}
                    </label>
                </div>
            )}
            <fieldset
                style={{display: 'flex', flexWrap: 'wrap', gap: 12, border: 0, padding: 0, margin: 0, minWidth: 0}}
            >
                <legend style={{fontSize: 14, fontWeight: 600, width: '100%', border: 0, marginBottom: 4}}>
                    {formatMessage(M.retention)}
                </legend>
                <Field id="mm-backup-keep-last" label={formatMessage(M.keepLast)} error={errors.keepLast}>
                    <input {...text('keepLast', 'mm-backup-keep-last')} inputMode="numeric" />
                </Field>
                <Field id="mm-backup-keep-daily" label={formatMessage(M.keepDaily)} error={errors.keepDaily}>
                    <input {...text('keepDaily', 'mm-backup-keep-daily')} inputMode="numeric" />
                </Field>
                <Field id="mm-backup-keep-weekly" label={formatMessage(M.keepWeekly)} error={errors.keepWeekly}>
                    <input {...text('keepWeekly', 'mm-backup-keep-weekly')} inputMode="numeric" />
                </Field>
                <Field id="mm-backup-keep-monthly" label={formatMessage(M.keepMonthly)} error={errors.keepMonthly}>
                    <input {...text('keepMonthly', 'mm-backup-keep-monthly')} inputMode="numeric" />
                </Field>
            </fieldset>
            <Field id="mm-backup-mode" label={formatMessage(M.mode)} error={errors.mode}>
                <select
                    id="mm-backup-mode"
                    className="form-control"
                    value={form.mode}
                    onChange={(e) => set('mode', e.target.value as SettingsForm['mode'])}
                >
                    <option value="offline">{formatMessage(M.modeOffline)}</option>
                    <option value="online">{formatMessage(M.modeOnline)}</option>
                </select>
            </Field>
            <Field id="mm-backup-exclude" label={formatMessage(M.exclude)} error={errors.exclude}>
                <div id="mm-backup-exclude" style={{display: 'flex', flexWrap: 'wrap', gap: '4px 16px'}}>
                    {components.kind === 'loading' && <span role="status">{formatMessage(M.componentsLoading)}</span>}
                    {components.kind === 'failed' && (
                        <span className="help-text">
                            {formatMessage(M.componentsFailed, {
                                error: failureMessage(formatMessage, components.failure),
                            })}
                        </span>
                    )}
                    {excludeChoices(components.kind === 'ready' ? components.components : [], form.exclude).map((c) => (
                        <label key={c.id} style={{fontWeight: 400}} title={c.description}>
                            <input
                                type="checkbox"
                                checked={form.exclude.includes(c.id)}
                                onChange={() => toggleExclude(c.id)}
                            />{' '}
                            {c.title ?? formatMessage(ENUM_MESSAGES.component, {component: c.id})}
                        </label>
                    ))}
                </div>
            </Field>
            <Field id="mm-backup-successes" label={formatMessage(M.successes)} error={errors.successes}>
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
            </Field>
            <Field id="mm-backup-daily-at" label={formatMessage(M.dailyAt)} error={errors.dailySummaryAt}>
                <input {...text('dailySummaryAt', 'mm-backup-daily-at')} />
            </Field>
            <Field id="mm-backup-status-channel" label={formatMessage(M.statusChannel)} error={errors.statusChannel}>
                <ChannelPicker
                    value={form.statusChannel}
                    invalid={!!errors.statusChannel}
                    onChange={(v) => set('statusChannel', v)}
                />
            </Field>
            <button
                type="button"
                className="btn btn-primary"
                disabled={saving}
                onClick={() => {
                    void save();
                }}
            >
                <FormattedMessage id="mattermost-backup.settings.save" defaultMessage="Save backup settings" />
            </button>
            {saved && (
                <span role="status" style={{marginLeft: 12}}>
                    <FormattedMessage id="mattermost-backup.settings.saved" defaultMessage="Saved" />
                </span>
            )}
        </div>
    );
}

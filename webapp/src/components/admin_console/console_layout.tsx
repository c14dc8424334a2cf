// The System Console's own markup for the page's parts, so the host's styles lay them out as
// the rest of the Console: a panel per section (schema_admin_settings.tsx's `config-section`
// around settings_group.tsx's wrapper, header and body) and a row per setting (setting.tsx:
// label in the left column, input and help text below it in the right one). Read from
// mattermost/mattermost webapp/channels/src/components/admin_console/.

import React from 'react';

type PanelProps = {
    title: React.ReactNode;
    subtitle?: React.ReactNode;
    testId?: string;
    children: React.ReactNode;
};

/** A section of the page, drawn as one of the Console's section panels. */
export function ConsolePanel({title, subtitle, testId, children}: PanelProps) {
    return (
        <div className="config-section" data-testid={testId}>
            <div className="admin-console__wrapper">
                <div className="admin-console__content">
                    <div className="section-header">
                        <div className="section-title">{title}</div>
                        {subtitle && <div className="section-subtitle">{subtitle}</div>}
                    </div>
                    <div className="section-body">{children}</div>
                </div>
            </div>
        </div>
    );
}

type RowProps = {
    /** The id of the input the label names; rows of several inputs name the first. */
    inputId: string;
    label: React.ReactNode;
    helpText?: React.ReactNode;

    /** A problem with the value, shown under the help text; the row is marked `has-error`. */
    error?: React.ReactNode;
    children: React.ReactNode;
};

/** One setting: its label left, the input right with its help text below, as setting.tsx. */
export function SettingRow({inputId, label, helpText, error, children}: RowProps) {
    return (
        <div className={`form-group${error ? ' has-error' : ''}`} data-testid={`${inputId}-row`}>
            <label className="control-label col-sm-4" htmlFor={inputId}>
                {label}
            </label>
            <div className="col-sm-8">
                {children}
                {helpText && (
                    <div className="help-text" data-testid={`${inputId}-help`}>
                        {helpText}
                    </div>
                )}
                {error && (
                    <div className="help-text error-text" id={`${inputId}-error`} role="alert">
                        {error}
                    </div>
                )}
            </div>
        </div>
    );
}

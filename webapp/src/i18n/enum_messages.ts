// Words for the sidecar's enum values (modes, triggers, states...), shared by the
// dashboard and the /backup answers. ICU `select` messages: translators see every value,
// and `other` shows a value this version does not know yet as it is.

export const ENUM_MESSAGES = {
    mode: {
        id: 'mattermost-backup.value.mode',
        defaultMessage: '{mode, select, offline {offline} online {online} other {{mode}}}',
    },
    trigger: {
        id: 'mattermost-backup.value.trigger',
        defaultMessage:
            '{trigger, select, cli {command line} schedule {schedule} console {System Console} slash {/backup} safety {safety snapshot} api {API} other {{trigger}}}',
    },
    verification: {
        id: 'mattermost-backup.value.verification',
        defaultMessage:
            '{state, select, not_verified {not verified} ok {✓ checksums ok} deep_ok {✓ restore drill ok} failed {✗ failed} other {{state}}}',
    },
    offsite: {
        id: 'mattermost-backup.value.offsite',
        defaultMessage: '{state, select, present {present} absent {absent} unknown {unknown} other {{state}}}',
    },
    trust: {
        id: 'mattermost-backup.value.trust',
        defaultMessage: '{state, select, unsigned {not signed} untrusted {untrusted} other {{state}}}',
    },
    jobKind: {
        id: 'mattermost-backup.value.job_kind',
        defaultMessage:
            '{kind, select, backup {backup} restore {restore} verify {verification} prune {prune} replicate {off-site copy} pitr_backup {physical backup} pitr_enable {enabling point-in-time recovery} pitr_disable {disabling point-in-time recovery} other {{kind}}}',
    },
    stepStatus: {
        id: 'mattermost-backup.value.step_status',
        defaultMessage:
            '{status, select, pending {pending} running {running} succeeded {succeeded} failed {failed} skipped {skipped} other {{status}}}',
    },

    /**
     * Component names for when the sidecar's list (GET /v1/components, which has the same
     * titles: server-bridge/src/components/registry.ts) is not at hand; ids never show as names.
     */
    component: {
        id: 'mattermost-backup.value.component',
        defaultMessage:
            '{component, select, database {Database} config_store {Config store (database)} config {Config directory} env_file {Service environment file} app {Application} data {File store (attachments)} export_store {Dedicated export store} plugins {Server plugins} client_plugins {Webapp plugins} logs {Logs} bleve {Bleve search index} tls {TLS and SAML/LDAP files} extra {Extra paths} other {{component}}}',
    },
} as const;

/**
 * A value as an ICU `select` key: keys cannot hold "-", so `pitr-backup` is `pitr_backup`
 * there. Pass every enum value through this before a select message.
 */
export function selectKey(value: string): string {
    return value.replace(/-/g, '_');
}

// Types of the mm-backup sidecar's HTTP API (snake_case, as the sidecar sends them). They
// mirror server-bridge/src/http/dto.ts, routes_api.ts and jobs/job_record.ts; the webapp
// cannot import from server-bridge (separate package, Node-only code), so keep them in step.

export type JobKind = 'backup' | 'restore' | 'verify' | 'prune' | 'replicate';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type BackupMode = 'offline' | 'online';
export type VerificationState = 'not_verified' | 'ok' | 'deep_ok' | 'failed';

/** A component id; which ones exist is the sidecar's to say (GET /v1/components), not a copy here. */
export type ComponentId = string;

/** One component kind (GET /v1/components, server-bridge components/registry.ts), in backup order. */
export type ComponentDto = {
    id: ComponentId;
    title: string;
    description: string;
    store: 'database' | 'files';
    location: string;
};
export type ComponentListDto = {components: ComponentDto[]};

export type StepRecord = {
    id: string;
    title: string;
    status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
    started_at?: string;
    finished_at?: string;
    duration_ms?: number;
    summary?: string;
    error?: string;
};

/** One job (GET /v1/jobs/{id}, the SSE events, POST /v1/jobs). */
export type JobRecord = {
    id: string;
    kind: JobKind;
    trigger: string;
    requested_by?: string;
    options: Record<string, unknown>;
    status: JobStatus;
    created_at: string;
    started_at?: string;
    finished_at?: string;
    duration_ms?: number;
    steps: StepRecord[];
    current_step?: string;
    progress?: {step: string; done: number; total?: number; unit: string; detail?: string};
    log_tail: Array<{at: string; level: string; message: string}>;
    result?: Record<string, unknown>;
    error?: {code: string; message: string; hint?: string; step?: string};
};

export type LastBackup = {
    snapshot_id: string;
    finished_at: string;
    mode: BackupMode;
    trigger: string;
    bytes: number;
    new_bytes: number;
    duration_ms: number;
    downtime_ms: number;
    verification: 'not_verified' | 'ok' | 'failed';
};

/** GET /v1/status */
export type StatusDto = {
    mattermost: {url: string; reachable: boolean; state: string; detail?: string; version?: string | null; schema_version?: number};
    sidecar: {version: string; connected: boolean; problems: string[]};
    repository: {path: string; location: string; snapshots: number; bytes: number; free_bytes: number | null; total_bytes: number | null};
    last_backup: LastBackup | null;
    last_backup_job: {id: string; status: JobStatus; finished_at?: string; error?: JobRecord['error']} | null;
    next_backup: string | null;
    running_job: JobRecord | null;

    /** The job lock: 'stale' when its holder was killed (the next job or sidecar start repairs it). */
    lock?: {state: 'free' | 'held' | 'stale'; job_id?: string; kind?: string; since?: string; mattermost_stopped?: boolean; safety_snapshot_id?: string; overwriting?: boolean; message: string};

    /** Jobs of the last 7 days whose process was killed (error code INTERRUPTED). */
    interrupted_jobs?: Array<{id: string; kind: string; trigger: string; created_at: string; finished_at?: string; message: string; hint?: string}>;

    /** The sidecar's last repair after a killed job. */
    recovery?: {at: string; job_id: string; kind: string; action: 'nothing' | 'started' | 'rolled_back' | 'half_restored'; safety_snapshot_id: string | null; mattermost_running: boolean; message: string; error: {code: string; message: string; hint?: string} | null} | null;
};

export type SnapshotDto = {
    id: string;
    started_at: string;
    finished_at: string;
    mode: BackupMode;
    trigger: string;
    bytes: number;
    new_bytes: number;
    files: number;
    files_read: number;
    duration_ms: number;
    downtime_ms: number;
    mattermost_version?: string;
    schema_version?: number;
    components: Array<{id: string; status: string; reason?: string; files: number; bytes: number}>;
    verification: {state: VerificationState; at?: string; issues?: number};

    /** Off-site copy state; null when no off-site target is configured. */
    offsite: 'present' | 'absent' | 'unknown' | null;

    /** Signed by a trusted key, unsigned (made before signing), or untrusted; the sidecar restores only signed ones. */
    trust: 'signed' | 'unsigned' | 'untrusted';
};

/** GET /v1/snapshots */
export type SnapshotListDto = {
    snapshots: SnapshotDto[];
    broken: Array<{id: string; problem: string}>;
    offsite_warning: string | null;
};

/** POST /v1/restore/prepare */
export type RestorePreparation = {
    confirmation_token: string;
    expires_at: string;
    snapshot_id: string;
    overwrites: string[];
    version_check: string;
    safety_snapshot: boolean;
};

/** GET/PUT /v1/settings */
export type SettingsDto = {
    schedule: {backup: string | null; verify: string | null; timezone: string; prune_after_backup: boolean};
    retention: {keep_last: number; keep_daily: number; keep_weekly: number; keep_monthly: number};
    backup: {mode: BackupMode; exclude: ComponentId[]};
    notify: {successes: 'each' | 'daily' | 'none'; daily_summary_at: string};
    status_channel: string | null;
    mattermost_url?: string;
    listen?: {public_url: string | null; allowed_origins: string[]};
};

/** The writable part of the settings (PUT /v1/settings takes any subset). */
export type SettingsPatch = Partial<Pick<SettingsDto, 'schedule' | 'retention' | 'backup' | 'notify' | 'status_channel'>>;

/** GET /v1/connect */
export type ConnectState = {
    connected: boolean;
    bot_user_id: string | null;
    connected_at: string | null;
    status_channel: string | null;
    /** Where Mattermost must send /backup. */
    slash_url?: string;
    teams: string[];
    problems: string[];
};

/** A /backup command the page registered, handed to the sidecar with the bot token. */
export type CommandToken = {team_id: string; team_name: string; command_id: string; token: string};

/** POST /v1/connect */
export type ConnectReport = {
    bot_user_id?: string;
    bot_username?: string;
    status_channel?: string;
    commands: Array<{team: string; status: 'created' | 'updated' | 'failed'; error?: string}>;
    problems: string[];
};

/** POST /v1/jobs bodies. */
export type StartJobRequest =
    | {kind: 'backup'; mode?: BackupMode; exclude?: ComponentId[]}
    | {kind: 'verify'; snapshot_id: string; deep: boolean}
    | {kind: 'prune'; dry_run: boolean}
    | {kind: 'restore'; confirmation_token: string};

/** The error body of the sidecar and of Mattermost. */
export type ErrorBody = {id?: string; message?: string; status_code?: number; hint?: string};

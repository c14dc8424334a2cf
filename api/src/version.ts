/**
 * The API's version. The plugin and the sidecar are installed separately, so either may be
 * older: every sidecar response carries API_VERSION_HEADER, and GET /v1/status and /healthz
 * carry `api_version`, so the page can say which side to upgrade instead of failing oddly.
 * Bump it when a request or response changes in a way an older reader or writer would
 * misread (a renamed or removed field, a new required request field); added response fields
 * do not need a bump, since readers ignore fields they do not know.
 *
 * History: 1 = before versioning (no header; restore's `components`, backup's `exclude`),
 * 2 = versioned; restore/prepare takes `include`; settings 400s list `errors: [{path, message}]`,
 * 3 = job kind `pitr-backup` (a page of API 2 cannot read such a job record); status `pitr`.
 * Added to 3 without a bump (optional fields and new request shapes no older writer sends):
 * POST /v1/jobs `{kind: 'pitr-backup'}`, restore/prepare `at` (a point-in-time restore, answered
 * with `at` and `warnings`), settings `schedule.pitr_backup`, backup's `logical`. A sidecar of 3 without them refuses
 * such a request with 400 naming the field, which the page shows as it is.
 * 4 = job kinds `pitr-enable` and `pitr-disable` (a page of API 3 cannot read such a job record);
 * GET /v1/pitr/plan.
 */
export const API_VERSION = 4;

/** Response header with the sidecar's API_VERSION (lower-case, as fetch's Headers see it). */
export const API_VERSION_HEADER = 'x-mm-backup-api-version';

/** The version an answer without the header (and without `api_version`) speaks. */
export const UNVERSIONED_API = 1;

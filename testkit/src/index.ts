/**
 * The shared test kit: throwaway PostgreSQL / MariaDB / S3 (s3rver) servers, Mattermost-shaped sandboxes and a
 * Mattermost stand-in server. Only tests and the tools (benchmark, sandbox demo) import this; the
 * sidecar never does, so none of it ships (build/test/pack_contents.test.mjs checks the tarball).
 */
export * from './temp_dir';
export * from './db_server';
export * from './postgres_server';
export * from './mariadb_server';
export { startS3Server, type S3Server } from './s3_server';
export * from './sandbox';
export { SANDBOX_PLUGINS } from './sandbox_files';
export { tableName, TABLES, type TableDef } from './sandbox_schema';
export { newId, isValidId } from './ids';
export { openSqlConn, withSqlConn, type SqlConn, type SqlTarget, type SqlDriver } from './sql_conn';
export {
  standinCommands,
  standinUrl,
  standinMainPath,
  ensureStandinBuilt,
  runStandinCommand,
  readStandinState,
  standinPid,
  reapStandinAtExit,
  standinStateFiles,
  type StandinCommandOptions,
  type StandinStateFile,
} from './standin/control';
export { assertNoSpecViolations, standinViolations } from './standin/violations';
export { runStandin, type RunStandinOptions, type RunningStandin } from './standin/server';
export { loadStandinSettings, parseDataSource, parseEnvFile, type StandinSettings } from './standin/mm_config';
export { pidAlive, signalPid, waitPidGone, lookupSystemUser, isRoot, type SystemUser } from './proc_util';

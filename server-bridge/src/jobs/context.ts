/** Everything a job needs, opened once per command from the validated config. */
import type { Config } from '../config/schema';
import { lazyOffsite, openRepositoryStorage, type RepositoryStorage } from '../offsite/repository_storage';
import type { OffsiteRepo } from '../offsite/open_offsite';
import { Repository } from '../repository/repository';
import { SummaryStore } from '../repository/summary_store';
import { CommandServiceControl, type ServiceControl } from '../mattermost/service_control';
import { parseDsn } from '../database/dsn';
import type { DatabaseEngine } from '../database/engine';
import { openEngine } from '../database/open_engine';
import { signingKeyFile, TrustPolicy } from '../repository/trust';

export interface EngineContext {
  cfg: Config;
  /** The repository's storage: the local directory, or the bucket with offsite.mode "direct". */
  storage: RepositoryStorage;
  repo: Repository;
  /** Which snapshot signatures are trusted, and this host's signing key (repository/trust.ts). */
  trust: TrustPolicy;
  /** The off-site copy (offsite.mode "replicate"), opened on first call; undefined when not configured. */
  offsite?: (create?: boolean) => Promise<OffsiteRepo>;
  service: ServiceControl;
  /** Where the job lock lives (the local repository directory). */
  lockDir: string;
  engineFor: (target: Parameters<typeof openEngine>[0]) => DatabaseEngine;
  /** Engine with rights to create throwaway databases, for verify --deep. */
  adminEngine(fallback: DatabaseEngine): DatabaseEngine;
}

/**
 * `createOffsite: false` refuses to initialise a bucket repository that does not exist (reading with --from).
 * `notice` is told once if this run makes the signing key, with its fingerprint: the CLI prints it,
 * the sidecar logs it (every front end passes one; without, as in tests, it is not said). `warn`
 * is told of storage retries (the CLI's stderr, the sidecar's log).
 */
export async function openContext(
  cfg: Config,
  opts: { createOffsite?: boolean; notice?: (text: string) => void; warn?: (text: string) => void } = {},
): Promise<EngineContext> {
  const { storage, stagingDir } = await openRepositoryStorage(cfg, { create: opts.createOffsite, warn: opts.warn });
  // The fingerprint is shown once, when the key is made: the admin keeps it with the age identity.
  const notice = opts.notice ?? (() => undefined);
  const trust = new TrustPolicy(cfg.trust.fingerprints, signingKeyFile(cfg), (key) =>
    notice(
      `created the snapshot signing key ${key.file} (0600). Its fingerprint is ${key.fingerprint}: keep it with the age identity; ` +
        'a new host needs it (--trust or trust.fingerprints) to trust these snapshots.',
    ),
  );
  const repo = await Repository.open(storage, {
    signer: () => trust.signer(),
    stagingDir,
    packs: cfg.repository.packs,
    summaries: SummaryStore.beside(signingKeyFile(cfg), storage.describe().location),
  });
  const service = new CommandServiceControl(cfg.serviceCommands, cfg.mattermost.url, {
    stopMs: cfg.service.stopTimeoutSeconds * 1000,
    healthMs: cfg.service.healthTimeoutSeconds * 1000,
  });
  const engineFor = (t: Parameters<typeof openEngine>[0]) =>
    openEngine(t, cfg.database.pgBinDir, { restoreJobs: cfg.database.restoreJobs });
  return {
    cfg,
    storage,
    repo,
    trust,
    service,
    lockDir: cfg.repository.path,
    engineFor,
    offsite: lazyOffsite(cfg, opts.warn),
    adminEngine: (fallback) => {
      if (!cfg.database.adminUrl) return fallback;
      const admin = parseDsn(cfg.database.adminUrl, fallback.target.driver);
      return engineFor({ ...admin, database: admin.database || fallback.target.database });
    },
  };
}

/** `mm-backup serve`: runs the sidecar until SIGTERM/SIGINT; a running job is cancelled cleanly first. */
import { UsageError } from '../../core/errors';
import { Sidecar } from '../../service/sidecar';
import type { GlobalOptions } from './shared';

export async function serveCommand(globals: GlobalOptions): Promise<void> {
  const file = globals.config ?? process.env.MM_BACKUP_CONFIG;
  if (!file) throw new UsageError('no config file: pass --config FILE (or set MM_BACKUP_CONFIG)');
  const sidecar = await Sidecar.open(file);
  await sidecar.listen();
  await new Promise<void>((resolve) => {
    const stop = async (sig: string) => {
      sidecar.log.info({ signal: sig }, 'stopping');
      const running = sidecar.jobs.current;
      // Cancelling runs the job's undo and finally steps, which start Mattermost again if needed.
      if (running) sidecar.jobs.cancel(running.id);
      await sidecar.jobs.idle();
      await sidecar.reporter.flushed(10_000);
      await sidecar.close();
      resolve();
    };
    process.once('SIGTERM', () => {
      void stop('SIGTERM');
    });
    process.once('SIGINT', () => {
      void stop('SIGINT');
    });
  });
}

/** The `finally` step every job that may stop Mattermost ends with. */
import type { EngineContext } from '../jobs/context';
import type { JobLock } from '../jobs/lock';
import type { Step } from '../jobs/runner';

/** Starts Mattermost again if this job stopped it and has not started it yet. */
export function ensureStartedStep(ec: EngineContext, lock: JobLock): Step {
  return {
    id: 'ensure-started',
    title: 'Make sure Mattermost is running again',
    skip: () => (lock.current.mattermostStopped ? undefined : 'Mattermost is running'),
    run: async (ctx) => {
      await ec.service.start(ctx.signal);
      await lock.update({ mattermostStopped: false });
      return 'Mattermost was started again';
    },
  };
}

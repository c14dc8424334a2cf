/**
 * Stops and starts Mattermost with the configured argv arrays, and waits until it is really
 * down or really healthy. The engine never assumes a stop/start command did what it says.
 */
import { BridgeError } from '../core/errors';
import { runProcess } from '../process/run_process';
import { waitDown, waitHealthy } from './health';

export interface ServiceControl {
  readonly canStop: boolean;
  stop(signal?: AbortSignal): Promise<void>;
  start(signal?: AbortSignal): Promise<void>;
}

export class CommandServiceControl implements ServiceControl {
  constructor(
    private readonly commands: { stop: string[] | null; start: string[] | null },
    private readonly url: string,
    private readonly timeouts: { stopMs: number; healthMs: number },
  ) {}

  get canStop(): boolean {
    return !!(this.commands.stop && this.commands.start);
  }

  async stop(signal?: AbortSignal): Promise<void> {
    const [cmd, ...args] = this.requireCommand('stop');
    await runProcess(cmd as string, args, { signal, stdout: 'ignore' });
    await waitDown(this.url, this.timeouts.stopMs, signal);
  }

  async start(signal?: AbortSignal): Promise<void> {
    const [cmd, ...args] = this.requireCommand('start');
    await runProcess(cmd as string, args, { signal, stdout: 'ignore' });
    await waitHealthy(this.url, this.timeouts.healthMs, signal);
  }

  private requireCommand(which: 'stop' | 'start'): string[] {
    const c = this.commands[which];
    if (!c) {
      throw new BridgeError(
        'PRECONDITION_FAILED',
        `no service.${which} command is configured (service preset "none")`,
        { hint: 'configure service.stop/start or a preset, or use --mode online' },
      );
    }
    return c;
  }
}

/**
 * What `connect` sets up and the service needs across restarts: the bot's id and token, and the
 * /backup command tokens per team. A 0600 file beside the repository; never returned by the API.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { registerSecret } from '../core/redact';

export interface SidecarState {
  bot_user_id?: string;
  bot_token?: string;
  commands: Record<string, { command_id: string; token: string; team_name: string }>;
  connected_at?: string;
}

export class StateStore {
  private constructor(private readonly file: string, private state: SidecarState) {}

  static async open(repositoryPath: string): Promise<StateStore> {
    const file = path.join(repositoryPath, 'sidecar-state.json');
    let state: SidecarState = { commands: {} };
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<SidecarState>;
      state = { ...parsed, commands: parsed.commands ?? {} };
    } catch { /* first start */ }
    registerSecret(state.bot_token);
    for (const c of Object.values(state.commands)) registerSecret(c.token);
    return new StateStore(file, state);
  }

  get(): SidecarState {
    return this.state;
  }

  async update(patch: Partial<SidecarState>): Promise<void> {
    this.state = { ...this.state, ...patch };
    registerSecret(this.state.bot_token);
    for (const c of Object.values(this.state.commands)) registerSecret(c.token);
    const tmp = `${this.file}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    await rename(tmp, this.file);
  }
}

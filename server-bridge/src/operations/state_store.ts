/**
 * What `connect` sets up and the service needs across restarts: the bot's id and token, and the
 * /backup command tokens per team. A 0600 file beside the repository; never returned by the API.
 * `connect` may run in another process (the CLI) while `serve` runs, so every read notices a
 * file that changed on disk and takes it: no restart is needed for new tokens.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { registerSecret } from '../core/redact';
import { replaceFile } from '../core/atomic_file';

export interface SidecarState {
  bot_user_id?: string;
  bot_token?: string;
  commands: Record<string, { command_id: string; token: string; team_name: string }>;
  connected_at?: string;
}

/** Identifies one version of the file: rename() gives a new inode, an edit a new mtime or size. */
type Stamp = string;

export class StateStore {
  private constructor(
    private readonly file: string,
    private state: SidecarState,
    private stamp: Stamp | undefined,
  ) {}

  /** Opens the state of the repository at `repositoryPath` (empty if there is none yet). */
  static open(repositoryPath: string): Promise<StateStore> {
    const file = path.join(repositoryPath, 'sidecar-state.json');
    const store = new StateStore(file, { commands: {} }, undefined);
    store.reloadIfChanged();
    return Promise.resolve(store);
  }

  /** The current state, re-read first if another process has replaced the file. */
  get(): SidecarState {
    this.reloadIfChanged();
    return this.state;
  }

  /** Merges `patch` and writes the file (0600; its directory 0700 and created if missing). */
  async update(patch: Partial<SidecarState>): Promise<void> {
    this.state = { ...this.get(), ...patch };
    remember(this.state);
    // `connect` may come before the first backup has created the repository (README order).
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await replaceFile(this.file, JSON.stringify(this.state, null, 2));
    this.stamp = stampOf(this.file);
  }

  private reloadIfChanged(): void {
    const stamp = stampOf(this.file);
    if (stamp === undefined || stamp === this.stamp) return;
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<SidecarState>;
      this.state = { ...parsed, commands: parsed.commands ?? {} };
      remember(this.state);
      this.stamp = stamp;
    } catch {
      // Unreadable or half-written by hand: keep what we had; the next read tries again.
    }
  }
}

function stampOf(file: string): Stamp | undefined {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/** Tokens read from the file are secrets from then on: redacted wherever they might be printed. */
function remember(s: SidecarState): void {
  registerSecret(s.bot_token);
  for (const c of Object.values(s.commands)) registerSecret(c.token);
}

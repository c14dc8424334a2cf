/**
 * What `pitr enable` changed, so that `pitr disable` undoes exactly that: per PostgreSQL setting,
 * what postgresql.auto.conf held before (null: nothing, so RESET), and the repository access we
 * granted. A 0600 file beside the repository, written after every change.
 */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { BridgeError } from '../core/errors';
import { MANAGED } from '../database/pgbackrest/settings';

const stateSchema = z.object({
  version: z.literal(1),
  /** enabling: started, or waiting for a restart; enabled: archiving checked; disabling: waiting for a restart. */
  phase: z.enum(['enabling', 'enabled', 'disabling']),
  stanza: z.string(),
  configDir: z.string(),
  repoPath: z.string(),
  dataDir: z.string(),
  changed: z.partialRecord(z.enum(MANAGED), z.object({ before: z.string().nullable(), value: z.string() })),
  /** The repository root's group and mode before we let postgres traverse it. */
  repositoryAccess: z.object({ path: z.string(), gid: z.number().int(), mode: z.number().int() }).optional(),
  updatedAt: z.string(),
});
export type PitrState = z.output<typeof stateSchema>;

export function pitrStateFile(repositoryPath: string): string {
  return path.join(repositoryPath, 'pitr-state.json');
}

/** The state, or undefined when physical mode was never enabled here. */
export async function loadPitrState(repositoryPath: string): Promise<PitrState | undefined> {
  let text: string;
  try {
    text = await readFile(pitrStateFile(repositoryPath), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = stateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new BridgeError(
      'INTERNAL',
      `${pitrStateFile(repositoryPath)} is damaged: ${parsed.error.issues[0]?.message ?? ''}`,
      {
        hint: 'compare the PostgreSQL settings with docs/pitr.md by hand, then remove the file',
      },
    );
  }
  return parsed.data;
}

export async function savePitrState(repositoryPath: string, state: PitrState): Promise<void> {
  const file = pitrStateFile(repositoryPath);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2), { mode: 0o600 });
  await rename(tmp, file);
}

export async function removePitrState(repositoryPath: string): Promise<void> {
  await unlink(pitrStateFile(repositoryPath)).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  });
}

/**
 * `mm-backup keygen [--output FILE]`: a new age identity for off-site encryption. The identity is
 * shown (or written) exactly once; mm-backup keeps no copy. Only the recipient (public key) belongs
 * in the server's config, so a compromised server cannot read its own off-site copies. With a
 * config file, the fingerprint of this server's snapshot signing key (made now if needed) is
 * written into the identity text: a new host restoring from the bucket needs both.
 */
import { open } from 'node:fs/promises';
import { UsageError } from '../../core/errors';
import { generateKeyPair } from '../../storage/age';
import { loadConfig } from '../../config/load';
import { SigningKey } from '../../repository/signing';
import { signingKeyFile } from '../../repository/trust';
import { createOutput } from '../render';
import type { GlobalOptions } from './shared';

export const KEY_WARNING =
  'Keep this identity OFF the Mattermost server (a password manager, a safe, the disaster-recovery host). ' +
  'Whoever has it can read every off-site backup; without it they cannot be restored. It is shown only once. ' +
  'Put only the public key in offsite.encryption.recipients on the server.';

export async function keygenCommand(globals: GlobalOptions, flags: { output?: string }): Promise<void> {
  const out = createOutput(!!globals.json);
  const { identity, recipient } = await generateKeyPair();
  const signing = await signingKey(globals);
  const text =
    `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n` +
    `${signing ? `# snapshot signing key fingerprint: ${signing.fingerprint} (mm-backup --trust)\n` : ''}${identity}\n`;
  const fp = signing ? { signing_fingerprint: signing.fingerprint } : {};
  if (flags.output) {
    if (!flags.output.startsWith('/')) throw new UsageError('--output must be an absolute path');
    let fh;
    try {
      fh = await open(flags.output, 'wx', 0o600);
    } catch (err) {
      throw new UsageError(
        `--output: cannot create ${flags.output}: ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'it already exists (never overwritten)' : String(err)}`,
      );
    }
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
    out.summary(
      { ok: true, recipient, ...fp, identity_file: flags.output, warning: KEY_WARNING },
      `Public key (recipient): ${recipient}\n${signing ? `Snapshot signing key fingerprint: ${signing.fingerprint}\n` : ''}Identity written to ${flags.output} (0600).\n\nWARNING: ${KEY_WARNING}`,
    );
    return;
  }
  process.stderr.write(`WARNING: ${KEY_WARNING}\n`);
  out.summary({ ok: true, recipient, ...fp, identity, warning: KEY_WARNING }, text.trimEnd());
}

/** This server's signing key (made if it does not exist yet), when a config file says where it lives. */
async function signingKey(globals: GlobalOptions): Promise<SigningKey | undefined> {
  const file = globals.config ?? process.env.MM_BACKUP_CONFIG;
  if (!file) return undefined;
  const keyFile = signingKeyFile(await loadConfig(file));
  return keyFile ? (await SigningKey.loadOrCreate(keyFile)).key : undefined;
}

/**
 * `mm-backup sign-snapshots`: run once on the host that made a repository before snapshot signing
 * existed. Each unsigned snapshot is verified first (checksums and dump, as `verify`) and signed
 * only if it passes; a snapshot signed by another key or with a bad signature is never re-signed
 * (that would launder a forgery). Signed snapshots reach the off-site copy with the next replicate.
 */
import { asBridgeError, VerificationError } from '../../core/errors';
import { verifyLoaded } from '../../operations/verify';
import { runCliJob, withLock } from '../run_with_lock';
import type { GlobalOptions } from './shared';
import { openSource } from './from_source';
import { plural } from '../../core/units';

export async function signSnapshotsCommand(globals: GlobalOptions, flags: { offsite?: boolean }): Promise<void> {
  const { ec, out } = await openSource(globals, { offsite: flags.offsite });
  const key = await ec.trust.signer();
  if (!key) {
    throw new VerificationError('this host has no signing key', [], {
      hint: 'run sign-snapshots with --config on the host that made the backups',
    });
  }
  await withLock(ec, 'sign', out, async (lock) => {
    const { manifests } = await ec.repo.listSnapshotSummaries();
    const signed: string[] = [];
    const already: string[] = [];
    const refused: Array<{ id: string; problem: string }> = [];
    for (const summary of manifests) {
      const verdict = await ec.trust.checkManifest(ec.repo, summary);
      if (verdict.state === 'signed') {
        already.push(summary.id);
        continue;
      }
      if (verdict.state === 'untrusted') {
        refused.push({ id: summary.id, problem: `not re-signed: ${verdict.reason}` });
        continue;
      }
      // Loaded whole again: what is signed is the digest of exactly the bytes this verification read.
      const m = await ec.repo.loadSnapshot(summary.id);
      out.info(`verifying unsigned snapshot ${m.id} before signing it`);
      const op = await verifyLoaded(ec, m, { deep: false, allowUnsigned: true });
      try {
        await runCliJob(op, lock, out);
      } catch (err) {
        refused.push({ id: m.id, problem: `failed verification, not signed: ${asBridgeError(err).message}` });
        continue;
      }
      await ec.repo.signLoaded(m);
      signed.push(m.id);
    }
    const text = [
      `${plural(signed.length, 'snapshot')} verified and signed, ${already.length} already signed; signing key ${key.fingerprint}.`,
      ...refused.map((r) => `${r.id}: ${r.problem}`),
    ].join('\n');
    if (refused.length) {
      throw new VerificationError(
        `${text}\n${plural(refused.length, 'snapshot was', 'snapshots were')} not signed`,
        refused.map((r) => ({ component: 'manifest', problem: `${r.id}: ${r.problem}` })),
        {
          hint: 'do not restore the snapshots that were not signed; see docs/security.md',
        },
      );
    }
    out.summary({ ok: true, signed, already_signed: already, fingerprint: key.fingerprint }, text);
  });
}

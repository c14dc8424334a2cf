/** Whether a storage chain's listed and stat'ed sizes are the stored objects' own. */
import { EncryptedStorage } from './encrypted_storage';
import { ForwardingStorage } from './forwarding_storage';
import type { Storage } from './storage';

/**
 * Whether the sizes `stat` and `list` report are the objects' own: an encrypted storage derives
 * them from the overhead of encrypting to the current recipients, which differs for objects
 * encrypted to other ones (before a key change), so there only presence can be checked.
 */
export function sizesComparable(storage: Storage): boolean {
  for (let s: Storage | undefined = storage; s; s = s instanceof ForwardingStorage ? s.inner : undefined) {
    if (s instanceof EncryptedStorage) return false;
  }
  return true;
}

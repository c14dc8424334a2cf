/** What a storage chain's encryption changes for its readers: sizes, and what a range costs. */
import { EncryptedStorage } from './encrypted_storage';
import { ForwardingStorage } from './forwarding_storage';
import type { Storage } from './storage';

/**
 * Whether `storage` or a storage it forwards to encrypts: then a range is read by decrypting the
 * object from its start (EncryptedStorage.loadRange), so it costs up to its end, not its length.
 */
export function encryptedChain(storage: Storage): boolean {
  for (let s: Storage | undefined = storage; s; s = s instanceof ForwardingStorage ? s.inner : undefined) {
    if (s instanceof EncryptedStorage) return true;
  }
  return false;
}

/**
 * Whether the sizes `stat` and `list` report are the objects' own: an encrypted storage derives
 * them from the overhead of encrypting to the current recipients, which differs for objects
 * encrypted to other ones (before a key change), so there only presence can be checked.
 */
export function sizesComparable(storage: Storage): boolean {
  return !encryptedChain(storage);
}

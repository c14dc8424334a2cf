/** Manifests with their file indexes in memory, for tests that read or edit entries directly. */
import type { Manifest } from '../../src/manifest/manifest';
import { manifestText } from '../../src/manifest/manifest_io';
import {
  wholeManifest,
  type WholeComponent as PlainComponent,
  type WholeManifest as PlainManifest,
} from '../../src/manifest/whole_manifest';

export type { PlainComponent, PlainManifest };

/** A copy of `m` whose entry streams are read into arrays. */
export function materialize(m: Manifest): Promise<PlainManifest> {
  return wholeManifest(m);
}

/** The exact text the repository writes for `m`. */
export async function manifestString(m: Manifest): Promise<string> {
  let out = '';
  for await (const s of manifestText(m)) out += s;
  return out;
}

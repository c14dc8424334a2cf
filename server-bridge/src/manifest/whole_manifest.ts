/** A manifest with its file indexes in memory, for output that is the whole manifest by definition. */
import { collectEntries } from './entry_list';
import type { ComponentRecord, Entry, Manifest } from './manifest';

export type WholeComponent = Omit<ComponentRecord, 'entries'> & { entries: Entry[] };
export type WholeManifest = Omit<Manifest, 'components'> & { components: WholeComponent[] };

/** A copy of `m` with every entry stream read into an array (`show --json`, GET …/manifest: the text is as large). */
export async function wholeManifest(m: Manifest): Promise<WholeManifest> {
  const components: WholeComponent[] = [];
  for (const c of m.components) components.push({ ...c, entries: await collectEntries(c.entries) });
  return { ...m, components };
}

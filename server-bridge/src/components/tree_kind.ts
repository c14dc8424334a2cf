/**
 * The file-tree kinds (config dir, application, file store, plugins, logs, Bleve, TLS, extra
 * paths...): one class, parameterised by the registry entry that says where the tree lives.
 * A record whose entries include the root ('') is a whole tree, mirrored on restore (files not
 * in the snapshot are removed); otherwise it is a list of single files and only those are written.
 */
import { collectEntries, isWholeTree } from '../manifest/entry_list';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DbTarget } from '../database/dsn';
import type { ComponentRecord } from '../manifest/manifest';
import { absoluteRootProblem, checkEntryList, unsafeSnapshot } from '../manifest/restore_safety';
import { VerificationError } from '../core/errors';
import { TreeComponent, restoreTreeRecord } from './tree_component';
import { SpecKind } from './component';
import type {
  BackupComponent,
  BackupDeps,
  ComponentKind,
  KindIdentity,
  ComponentPlan,
  ObjectRef,
  RestoreContext,
  RestoreTargets,
  Site,
  VerifyIssue,
} from './component';
import { plural } from '../core/units';

/** Where a tree lives on this server: a root (with an include list for single files), or the reason it is skipped. */
export type TreeLocation = { root: string; include?: string[]; fileInfo?: DbTarget } | { skip: string };

export interface TreeKindSpec extends KindIdentity {
  locate: (site: Site) => TreeLocation;
}

export class TreeKind extends SpecKind<TreeKindSpec> implements ComponentKind {
  readonly store = 'tree';
  constructor(spec: TreeKindSpec) {
    super(spec, 'files');
  }

  locate(site: Site): ComponentPlan {
    const base = { id: this.spec.id, title: this.spec.title, kind: 'tree' as const, exclude: [] };
    const where = this.spec.locate(site);
    if ('skip' in where) return { ...base, status: 'skipped', reason: where.skip };
    // A list of single files is included even when some are missing (they are reported then).
    if (!where.include && !existsSync(where.root)) {
      return { ...base, status: 'skipped', reason: `${where.root} does not exist` };
    }
    return { ...base, status: 'included', root: where.root, include: where.include, fileInfo: where.fileInfo };
  }

  backup(plan: ComponentPlan, deps: BackupDeps): BackupComponent {
    return new TreeComponent(plan, deps.installDir);
  }

  fits(r: ComponentRecord): boolean {
    return r.database === undefined && r.physical === undefined;
  }

  async *objects(r: ComponentRecord): AsyncGenerator<ObjectRef> {
    for await (const e of r.entries) if (e.sha256) yield { sha256: e.sha256, path: e.path, size: e.size };
  }

  restoreRoot(r: ComponentRecord, t: RestoreTargets): string {
    return t.root(r);
  }

  outsideInstall(r: ComponentRecord): boolean {
    return !r.rootInInstall;
  }

  /** The target root and the entry list exactly as restore() writes them. */
  async checkRestore(r: ComponentRecord, t: RestoreTargets): Promise<void> {
    const root = t.root(r);
    const mode = (await isWholeTree(r.entries)) ? 'mirror' : 'files';
    const bad = absoluteRootProblem(root, mode === 'mirror');
    if (bad) throw unsafeSnapshot(r.id, `the root ${JSON.stringify(root)}`, bad);
    await checkEntryList(r.id, r.entries, mode, r.exclude);
  }

  async restoreWarning(r: ComponentRecord, t: RestoreTargets): Promise<string> {
    const root = t.root(r);
    if (!(await isWholeTree(r.entries))) {
      // A component of single files (TLS keys, extra paths, the env file): every path it writes
      // at the top (a file, or a directory with what is under it) is named, none left to "…".
      // Such a component is a handful of paths: it is read whole.
      const entries = await collectEntries(r.entries);
      const paths = new Set(entries.map((e) => e.path));
      const tops = entries
        .filter((e) => ![...ancestors(e.path)].some((a) => paths.has(a)))
        .map((e) => path.join(root, e.path));
      return `${r.id}: ${plural(tops.length, 'path')} replaced (${tops.join(', ')}); nothing else there is touched`;
    }
    return `${r.id}: ${root} is made identical to the snapshot (${plural(r.files, 'file')}; files not in the snapshot are removed)`;
  }

  restore(r: ComponentRecord, ctx: RestoreContext): Promise<string> {
    return restoreTreeRecord(r, { repo: ctx.repo, step: ctx.step, root: ctx.targets.root(r), stats: ctx.stats });
  }

  verifyTitle(): undefined {
    return undefined; // its contents are its objects, re-hashed by the checksum pass, which runs verify() too
  }

  /** The file list is one a restore would accept (in place): a verified snapshot is one that restores. */
  async verify(r: ComponentRecord): Promise<VerifyIssue[]> {
    try {
      await this.checkRestore(r, inPlace);
      return [];
    } catch (err) {
      if (err instanceof VerificationError) return err.issues;
      throw err;
    }
  }
}

function* ancestors(p: string): Generator<string> {
  for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) yield p.slice(0, i);
}

/** Verify checks a record where it was taken; only root() is asked of it. */
const inPlace: RestoreTargets = {
  root: (r) => {
    if (r.root === undefined) throw unsafeSnapshot(r.id, 'the root', 'is missing');
    return r.root;
  },
  discovered: () => undefined,
  mainTarget: () => undefined,
  mainEngine: () => {
    throw new Error('a tree has no database');
  },
  engineFor: () => {
    throw new Error('a tree has no database');
  },
};

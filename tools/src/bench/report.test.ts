// node --test: the table's targets and what restic's absence leaves in it (run from tools/dist/bench).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pitrSkipReason } from './pitr_phase';
import { met, peakSteps, pitrLines, renderMarkdown, targetMet, targetText, type BenchRow } from './report';
import { buildRows, type Figures } from './rows';
import type { RunRecord, SizeSpec } from './world';

const row = (over: Partial<BenchRow>): BenchRow => ({ group: 'g', what: 'w', runs: 1, value: 8, unit: 's', ...over });

/** The head of a report without restic, as renderMarkdown takes it. */
const HEAD: Parameters<typeof renderMarkdown>[0] = {
  startedAt: 'now',
  totalSeconds: 1,
  size: { name: 'many' },
  machine: { cores: 2, memoryBytes: 1, loadAverageStart: [0], loadAverageEnd: [0] },
  memoryMethod: 'VmHWM',
  install: { generateSeconds: 1, files: 1, fileBytes: 1, counts: {}, databaseBytes: 1 },
  runsPlanned: {},
  restic: { note: 'restic is not installed' },
};

void describe('targets', () => {
  void it('≤ holds at the limit, < does not, ≥ restic compares with restic', () => {
    assert.equal(targetMet(row({ manual: 10 }), { on: 'manual', op: '≤', limit: 0.8 }), 'yes');
    assert.equal(targetMet(row({ value: 8.01, manual: 10 }), { on: 'manual', op: '≤', limit: 0.8 }), 'no');
    assert.equal(targetMet(row({ value: 0.5, manual: 10 }), { on: 'manual', op: '<', limit: 0.05 }), 'no');
    assert.equal(
      targetMet(row({ value: 1000, unit: 'files/s', restic: 1000 }), { on: 'restic', op: '≥', limit: 1 }),
      'yes',
    );
    assert.equal(
      targetMet(row({ value: 999, unit: 'files/s', restic: 1000 }), { on: 'restic', op: '≥', limit: 1 }),
      'no',
    );
    assert.equal(targetMet(row({ value: 199.9, unit: 'MB' }), { on: 'value', op: '<', limit: 200 }), 'yes');
  });

  void it('a target against restic is neither met nor missed when restic did not run', () => {
    const r = row({
      unit: 'MB',
      value: 150,
      targets: [
        { on: 'value', op: '<', limit: 200 },
        { on: 'restic', op: '≤', limit: 1 },
      ],
    });
    assert.equal(targetMet(r, { on: 'restic', op: '≤', limit: 1 }), '');
    assert.equal(met(r), 'yes; n/a');
  });

  void it('prints targets as ratios to what they compare with', () => {
    assert.equal(targetText({ on: 'manual', op: '≤', limit: 0.8 }, 's'), '≤ 0.8× manual');
    assert.equal(targetText({ on: 'restic', op: '≥', limit: 1 }, 'files/s'), '≥ restic');
    assert.equal(targetText({ on: 'value', op: '<', limit: 200 }, 'MB'), '< 200 MB');
    assert.equal(targetText({ on: 'value', op: '<', limit: 1.3 }, '×'), '< 1.3×');
  });
});

function run(what: string, wallS: number, more: Partial<RunRecord> = {}): RunRecord {
  return { what, wallMs: wallS * 1000, peakRssBytes: 100 * 1024 * 1024, ...more };
}

function figures(withRestic: boolean, many: boolean): Figures {
  const r = (what: string, s: number, more?: Partial<RunRecord>) => (withRestic ? [run(what, s, more)] : []);
  return {
    many,
    mainLabel: '20000 files',
    secondLabel: '1000 files',
    manualB: [run('manual backup', 10, { files: 20_000, downtimeMs: 9000 })],
    fullOff: [run('full off', 8, { files: 20_000, downtimeMs: 500 })],
    fullOn: [run('full on', 7, { files: 20_000, ping: { probes: 9, medianMs: 30, p99Ms: 90, maxMs: 100 } })],
    incrOff: [run('incr off', 2, { files: 20_000, downtimeMs: 800 })],
    incrOn: [run('incr on', 2, { files: 20_000 })],
    chOff: [run('ch off', 3)],
    chOn: [run('ch on', 3)],
    ver: [run('verify', 5)],
    verDeep: [],
    manualR: [run('manual restore', 10)],
    mmR: [run('restore', 9)],
    second: { full: run('second', 1), incremental: run('second incr', 1), resticFirst: r('restic second', 1) },
    restic: {
      first: r('restic first', 4, { files: 20_000, peakRssBytes: 80 * 1024 * 1024 }),
      unchanged: r('restic unchanged', 1, { files: 20_000 }),
      changed: r('restic changed', 1),
      check: r('restic check', 2),
      restore: r('restic restore', 3),
    },
    idle: { probes: 100, medianMs: 10, p99Ms: 20, maxMs: 30 },
    repo: { afterFullBytes: 1, fullBytes: 1, afterAllBytes: 1, snapshotBytes: [1], manualBytes: 1 },
    allRuns: [],
  };
}

void describe('buildRows', () => {
  void it("puts issue 12's targets on the rows and restic's figures next to mm-backup's", () => {
    const rows = buildRows(figures(true, true));
    const by = (what: string) => rows.find((x) => x.what.startsWith(what));
    assert.deepEqual(by('Full backup, offline (empty')?.targets, [{ on: 'manual', op: '≤', limit: 0.8 }]);
    assert.equal(by('Full backup, offline (empty')?.restic, 4);
    assert.deepEqual(by('mm-backup restore')?.targets, [{ on: 'manual', op: '≤', limit: 0.8 }]);
    assert.deepEqual(by('`verify`')?.targets, [{ on: 'manual', op: '≤', limit: 1 }]);
    const down = rows.find((x) => x.group === 'Downtime' && x.what === 'Incremental, nothing changed, offline');
    assert.deepEqual(down?.targets, [{ on: 'manual', op: '≤', limit: 0.1 }]);
    assert.equal(by('Growth')?.targets?.[0]?.limit, 1.3);
    // 20,000 files in 8 s against restic's 20,000 in 4 s
    const fps = by('Full backup, offline (restic: first backup)');
    assert.equal(fps?.unit, 'files/s');
    assert.equal(fps?.value, 2500);
    assert.equal(fps?.restic, 5000);
    assert.equal(fps && met(fps), 'no');
    assert.equal(by('During online full backups, median')?.manual, 10);
    assert.equal(by('During online full backups, median')?.value, 30);
    assert.equal(by('`verify --deep`'), undefined, 'a kind that did not run has no row');
  });

  void it('leaves restic columns empty when restic is absent, and renders', () => {
    const rows = buildRows(figures(false, true));
    assert.ok(rows.every((x) => x.restic === undefined));
    const md = renderMarkdown(HEAD, rows);
    assert.ok(
      md.includes(
        '| Full backup, offline (empty repository) | 1 | 8.00 s | 10.0 s | 0.80 |  |  | ≤ 0.8× manual | yes |',
      ),
      md,
    );
  });

  void it('names the steps that raised the peak, in the run with the highest peak', () => {
    const M = 1024 * 1024;
    const runs = [
      { peakRssBytes: 150 * M, stepPeaks: { preflight: 60 * M, precopy: 120 * M, data: 120.2 * M, commit: 150 * M } },
      { peakRssBytes: 140 * M, stepPeaks: { preflight: 140 * M, precopy: 140 * M, data: 140 * M, commit: 140 * M } },
    ];
    const names = ['preflight', 'precopy', 'data', 'commit'];
    assert.deepEqual(peakSteps(runs, names), [
      ['preflight', 60],
      ['precopy', 120],
      ['commit', 150],
    ]);
    assert.deepEqual(peakSteps([{ peakRssBytes: 1 }], names), [], 'runs from before steps carried their peak');
    const md = renderMarkdown(HEAD, buildRows(figures(false, true)), [
      {
        what: 'Full backup, offline',
        wallS: 2,
        startupS: 0.5,
        peakMB: [150, 140],
        steps: [['precopy', 1.5]],
        peakSteps: peakSteps(runs, names),
      },
    ]);
    assert.ok(md.includes('; peak 150, 140 MB (raised by preflight to 60, precopy to 120, commit to 150)'), md);
  });

  void it('says what the machine did during each run, in order, for the runs that measured it', () => {
    const system = {
      seconds: 10,
      cpus: 2,
      cpu: { user: 12, system: 4, iowait: 1, steal: 0, idle: 3 },
      disk: { device: 'vda', readMB: 10, writtenMB: 1200, busyShare: 0.5 },
    };
    const md = renderMarkdown(
      HEAD,
      buildRows(figures(false, false)),
      [],
      [
        { what: 'manual backup', wallMs: 10_000, system },
        { what: 'before the counters', wallMs: 5000 },
        { what: 'mm-backup backup offline full', wallMs: 8000, system: { ...system, disk: undefined } },
      ],
    );
    const at = md.indexOf('What the machine did during each run');
    assert.ok(at > 0, md);
    const lines = md
      .slice(at)
      .split('\n')
      .filter((l) => l.startsWith('- '));
    assert.deepEqual(lines, [
      '- manual backup: 10.0 s; CPUs busy 1.60 of 2 (user 1.20, system 0.40), waiting for I/O 0.10, stolen 0.00; disk vda: 10 MB read, 1200 MB written, busy 50 % of the time',
      '- mm-backup backup offline full: 8.0 s; CPUs busy 1.60 of 2 (user 1.20, system 0.40), waiting for I/O 0.10, stolen 0.00',
    ]);
    assert.equal(renderMarkdown(HEAD, []).includes('What the machine did'), false);
  });

  void it('shows files per second only for the many-files size', () => {
    assert.equal(
      buildRows(figures(true, false)).some((x) => x.unit === 'files/s'),
      false,
    );
  });
});

void describe('physical-mode rows', () => {
  const withPitr = (): Figures => {
    const f = figures(false, false);
    f.manualR = [run('manual restore', 10, { extra: { pgRestoreMs: 6000 } })];
    f.pitr = {
      enable: run('enable', 3),
      fullPhysical: run('pitr backup full', 12),
      off: [run('off', 0.4, { downtimeMs: 300 }), run('off', 0.6, { downtimeMs: 500 })],
      on: [run('on', 0.5)],
      restoreAt: [{ ...run('restore --at', 20), dbMs: 5000 }],
      rpo: {
        samples: 150,
        commits: 1500,
        medianS: 29.5,
        p95S: 58,
        maxS: 61,
        unarchivedMedianBytes: 1,
        unarchivedMaxBytes: 2,
        seconds: 150,
        postsPerSecond: 10,
        archiveTimeoutSeconds: 60,
      },
    };
    return f;
  };

  void it("puts issue 13's targets on them: nothing changed ≤ 0.05× manual, restore --at's database part ≤ 1× pg_restore", () => {
    const rows = buildRows(withPitr());
    const pitr = rows.filter((x) => x.group.startsWith('Physical mode'));
    const by = (what: string) => pitr.find((x) => x.what.startsWith(what));
    const off = by('Backup with nothing changed, offline');
    // the median of 0.4 and 0.6 s against the manual procedure's 10 s: 0.05×, met at the limit
    assert.equal(off?.value, 0.5);
    assert.equal(off?.manual, 10);
    assert.deepEqual(off?.targets, [{ on: 'manual', op: '≤', limit: 0.05 }]);
    assert.equal(off && met(off), 'yes');
    const on = by('Backup with nothing changed, online');
    assert.equal(on && met(on), 'yes');
    assert.equal(by('Downtime, backup with nothing changed, offline')?.value, 0.4);
    const db = by('`restore --at T` in place, database part');
    // its database steps (5 s) against pg_restore alone (6 s), not pg_restore + cp -ra (10 s)
    assert.equal(db?.value, 5);
    assert.equal(db?.manual, 6);
    assert.deepEqual(db?.targets, [{ on: 'manual', op: '≤', limit: 1 }]);
    assert.equal(db && met(db), 'yes');
    const whole = by('`restore --at T` in place, whole job');
    assert.equal(whole?.value, 20);
    assert.equal(whole?.manual, 10);
    assert.equal(whole?.targets, undefined);
    const rpo = pitr.filter((x) => x.what.startsWith('RPO'));
    assert.deepEqual(
      rpo.map((x) => [x.value, x.absolute, x.targets]),
      [
        [29.5, true, undefined],
        [58, true, undefined],
        [61, true, undefined],
      ],
    );
    assert.match(rpo[0]?.what ?? '', /10 posts\/s for 150 s, archive_timeout 60 s/);
  });

  void it('misses a target that is over, and has no pg_restore figure when the manual restore did not record it', () => {
    const f = withPitr();
    f.pitr!.off = [run('off', 0.51)];
    f.pitr!.restoreAt = [{ ...run('restore --at', 20), dbMs: 6100 }];
    const rows = buildRows(f);
    assert.equal(met(rows.find((x) => x.what === 'Backup with nothing changed, offline')!), 'no');
    assert.equal(met(rows.find((x) => x.what.startsWith('`restore --at T` in place, database part'))!), 'no');
    f.manualR = [run('manual restore', 10)];
    const db = buildRows(f).find((x) => x.what.startsWith('`restore --at T` in place, database part'))!;
    assert.equal(db.manual, undefined);
    assert.equal(met(db), 'n/a');
  });

  void it('are absent when the phase did not run, and the report says why', () => {
    assert.equal(
      buildRows(figures(true, false)).some((x) => x.group.startsWith('Physical mode')),
      false,
    );
    assert.deepEqual(pitrLines({ pitr: { note: 'left out (--no-pitr)' } }), ['- Physical mode: left out (--no-pitr).']);
    const lines = pitrLines({ pitr: { note: 'measured', rpo: withPitr().pitr!.rpo } });
    assert.equal(lines.length, 2);
    assert.match(lines[1] ?? '', /10 posts a second for 150 s/);
  });

  void it('is left out without root or pgBackRest, and at the many-files size', () => {
    const spec: SizeSpec = {
      name: 'small',
      gb: 0.1,
      users: 50,
      teams: 2,
      channels: 10,
      posts: 50_000,
      attachments: 1250,
      attachmentBytes: 100 * 1024 * 1024,
      largeFileRatio: 0.05,
    };
    assert.equal(pitrSkipReason(spec, false, 0, true), undefined);
    assert.match(pitrSkipReason(spec, false, 1000, true) ?? '', /not running as root/);
    assert.match(pitrSkipReason(spec, false, 0, false) ?? '', /pgbackrest is not installed/);
    assert.match(pitrSkipReason(spec, true, 0, true) ?? '', /--no-pitr/);
    assert.match(pitrSkipReason({ ...spec, manyFiles: 1000 }, false, 0, true) ?? '', /many-files/);
  });
});

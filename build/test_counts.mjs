// Counting for build/run_tests.mjs: passed, failed and skipped tests from jest's --json report
// and node --test's TAP output, and which skips are explained by the allow-list. Pure functions
// (no I/O besides loadAllowList) so the counting itself is tested in build/test/.

/**
 * Counts of a jest --json report. A file that fails without a failing test (it did not load, or
 * a beforeAll/afterAll hook threw, e.g. the stand-in's spec-violation check) counts as one
 * failure, so it is not lost; skipped, todo and disabled tests are listed by full name.
 */
export function jestCounts(report) {
    const skippedNames = [];
    let failedFiles = 0;
    for (const file of report.testResults ?? []) {
        const results = file.assertionResults ?? [];
        for (const a of results) {
            if (a.status === 'pending' || a.status === 'skipped' || a.status === 'todo' || a.status === 'disabled') {
                skippedNames.push(a.fullName ?? [...(a.ancestorTitles ?? []), a.title].join(' '));
            }
        }
        if (file.status === 'failed' && !results.some((a) => a.status === 'failed')) failedFiles += 1;
    }
    let failed = (report.numFailedTests ?? 0) + Math.max(failedFiles, report.numRuntimeErrorTestSuites ?? 0);
    if (report.success === false && failed === 0) failed = 1;
    return {
        passed: report.numPassedTests ?? 0,
        failed,
        skipped: Math.max((report.numPendingTests ?? 0) + (report.numTodoTests ?? 0), skippedNames.length),
        skippedNames,
    };
}

/**
 * Counts of node --test's TAP output (`# pass`, `# fail`, `# cancelled`, `# skipped`, `# todo`
 * totals). Skipped and todo tests are named like jest's full names: the enclosing suites' names,
 * then the test's, joined by spaces. A non-zero exit without a failing test (a crash before or
 * after the tests) counts as one failure, and so does output without a summary.
 */
export function tapCounts(tap, exitStatus) {
    const total = (label) => Number(new RegExp(`^# ${label} (\\d+)`, 'm').exec(tap)?.[1] ?? 0);
    const unescape = (name) => name.replace(/\\#/g, '#').trim();
    const skippedNames = [];
    const parents = [];
    for (const line of tap.split('\n')) {
        const sub = /^(\s*)# Subtest: (.*)$/.exec(line);
        if (sub) {
            const depth = Math.floor(sub[1].length / 4);
            parents.length = depth;
            parents[depth] = unescape(sub[2]);
            continue;
        }
        const m = /^(\s*)(?:not )?ok \d+ - (.*?)\s+#\s+(SKIP|TODO)\b/i.exec(line);
        if (m) skippedNames.push([...parents.slice(0, Math.floor(m[1].length / 4)), unescape(m[2])].join(' '));
    }
    const sawSummary = /^# pass \d+/m.test(tap);
    const failCount = total('fail') + total('cancelled');
    return {
        passed: total('pass'),
        failed: failCount + ((exitStatus !== 0 || !sawSummary) && failCount === 0 ? 1 : 0),
        skipped: Math.max(total('skipped') + total('todo'), skippedNames.length),
        skippedNames,
    };
}

/**
 * Parses the allow-list: {"allowed": [{"test": "<full name>", "why": "<reason>"}]}. Every entry
 * must name a test and say why; a bad file throws (a silent empty list would hide the problem).
 */
export function parseAllowList(text, source = 'allow-list') {
    let doc;
    try {
        doc = JSON.parse(text);
    } catch (err) {
        throw new Error(`${source}: not valid JSON (${err.message})`);
    }
    if (!doc || !Array.isArray(doc.allowed)) throw new Error(`${source}: "allowed" must be an array`);
    const out = new Map();
    doc.allowed.forEach((e, i) => {
        if (typeof e?.test !== 'string' || !e.test.trim()) {
            throw new Error(`${source}: allowed[${i}].test must name a test`);
        }
        if (typeof e?.why !== 'string' || !e.why.trim()) {
            throw new Error(`${source}: allowed[${i}] ("${e.test}") must say why it may be skipped`);
        }
        out.set(e.test, e.why);
    });
    return out;
}

/** Skipped tests the allow-list does not explain (a name skipped twice is reported twice). */
export function unexplainedSkips(skippedNames, allowed) {
    return skippedNames.filter((n) => !allowed.has(n));
}

/**
 * The closing line, "N passed, N failed, N skipped", and the exit status: non-zero on any
 * failure, on any skip the allow-list does not explain, and when skips were counted without names
 * (nothing could be checked against the list).
 */
export function verdict(totals, allowed) {
    const unexplained = unexplainedSkips(totals.skippedNames, allowed);
    const unnamed = Math.max(0, totals.skipped - totals.skippedNames.length);
    return {
        line: `${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`,
        unexplained,
        unnamed,
        exitCode: totals.failed > 0 || unexplained.length > 0 || unnamed > 0 ? 1 : 0,
    };
}

#!/usr/bin/env node
// Checks which way imports point (build/dependency_rules.cjs, docs/architecture.md "Rooms"):
// no import cycles between files, none between rooms (folders), and no import from a lower room
// to a higher one. Run by the test command (build/run_tests.mjs); exits non-zero on a violation.
import {existsSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {cruise} from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
process.chdir(root);
const rules = require('./dependency_rules.cjs');

// Every workspace's sources that exist (the test kit, the tools and the API schema are workspaces too).
const sources = ['server-bridge/src', 'webapp/src', 'testkit/src', 'tools/src', 'api/src'].filter((d) => existsSync(d));
const result = await cruise(sources, {validate: true, ruleSet: rules, ...rules.options, outputType: 'json'});
const report = typeof result.output === 'string' ? JSON.parse(result.output) : result.output;
const problems = report.summary.violations.map((v) => {
    const cycle = v.cycle?.length ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name ?? c)].join(' → ')})` : '';
    return `${v.rule.name}: ${v.from} → ${v.to}${cycle}`;
});

// Rooms: a cycle between two folders is a cycle of rooms even when no two files form one.
const roomOf = (file) => /^(server-bridge|webapp|testkit|tools|api)\/src\/([^/]+)\//.exec(file)?.slice(1, 3).join('/');
const edges = new Map();
const why = new Map();
for (const m of report.modules) {
    const from = roomOf(m.source);
    if (!from) continue;
    for (const d of m.dependencies) {
        const to = roomOf(d.resolved);
        if (!to || to === from) continue;
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from).add(to);
        if (!why.has(`${from}>${to}`)) why.set(`${from}>${to}`, `${m.source} → ${d.resolved}`);
    }
}
const seen = new Set();
for (const start of edges.keys()) {
    // Depth-first search for a path back to `start`.
    const stack = [[start, [start]]];
    const visited = new Set();
    while (stack.length) {
        const [node, trail] = stack.pop();
        for (const next of edges.get(node) ?? []) {
            if (next === start) {
                const key = [...trail].sort().join(',');
                if (!seen.has(key)) {
                    seen.add(key);
                    const hops = [...trail, start]
                        .map((r, i, a) => (i ? why.get(`${a[i - 1]}>${r}`) : null))
                        .filter(Boolean);
                    problems.push(`room-cycle: ${[...trail, start].join(' → ')}\n    ${hops.join('\n    ')}`);
                }
            } else if (!visited.has(next)) {
                visited.add(next);
                stack.push([next, [...trail, next]]);
            }
        }
    }
}

if (problems.length) {
    process.stdout.write(`dependency check: ${problems.length} problems\n  ${problems.join('\n  ')}\n`);
    process.exitCode = 1;
} else {
    process.stdout.write(
        `dependency check: ${report.summary.totalCruised} modules, no cycles, every import points down (build/dependency_rules.cjs)\n`,
    );
}

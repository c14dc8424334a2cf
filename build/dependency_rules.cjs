/**
 * Which way imports may point (docs/architecture.md, "Rooms"), checked by dependency-cruiser from
 * the test command (build/run_tests.mjs). Rules name folders, never files, so a file added to a
 * room is covered the day it is written. A lower room never imports a higher one, rooms of one
 * level may import each other only without cycles, and the front ends (cli, http, slash) never
 * import each other or the sidecar's wiring (service), which alone may import them all.
 */
const SRC = '^server-bridge/src/';
const room = (...names) => `${SRC}(${names.join('|')})/`;

// Lowest first. A room may import its own level and the levels below it.
const LEVELS = [
    ['core'],
    ['storage', 'database', 'manifest', 'mattermost', 'process', 'config'],
    ['jobs', 'components', 'repository', 'status', 'discovery', 'offsite'],
    ['operations'],
    ['cli', 'http', 'slash', 'service'],
];

const upward = LEVELS.slice(0, -1).map((names, i) => ({
    name: `no-upward-from-${names.join('-')}`,
    comment: `${names.join(', ')} must not import a higher room (${LEVELS.slice(i + 1)
        .flat()
        .join(', ')})`,
    severity: 'error',
    from: {path: room(...names)},
    to: {path: room(...LEVELS.slice(i + 1).flat())},
}));

// The CLI is the process's entry point: `serve` starts the sidecar (service) and `connect` runs
// its set-up, so cli may import service. http and slash are served BY the sidecar: they see it
// only through the interfaces they declare (http/sidecar_api.ts, slash/handler.ts SlashDeps).
const FRONT_ENDS = ['cli', 'http', 'slash'];
const sideways = FRONT_ENDS.map((name) => ({
    name: `no-front-end-crossing-from-${name}`,
    comment: `${name} is a front end: it goes through operations, never through another front end${name === 'cli' ? '' : " or the sidecar's wiring (service)"}`,
    severity: 'error',
    from: {path: room(name)},
    to: {path: room(...FRONT_ENDS.filter((n) => n !== name), ...(name === 'cli' ? [] : ['service']))},
}));

module.exports = {
    forbidden: [
        {
            name: 'no-circular',
            comment:
                'import cycles between files: neither can be loaded, read or tested without the other. ' +
                'A type-only import back (a file naming the type of the thing that uses it) is no cycle at run time and is allowed inside a room; ' +
                'between rooms every import counts (build/check_dependencies.mjs checks cycles of rooms)',
            severity: 'error',
            from: {path: '^(server-bridge|webapp|testkit|tools|api)/src/'},
            to: {circular: true, viaOnly: {dependencyTypesNot: ['type-only']}},
        },
        ...upward,
        ...sideways,
        {
            name: 'product-not-on-test-kit',
            comment:
                'the shipped code never imports the test kit or the tools (benchmark, sandbox): private workspaces, never shipped',
            severity: 'error',
            from: {path: SRC},
            to: {path: '(^|/)(testkit|tools)/|@mm-backup/(testkit|tools)'},
        },
    ],
    options: {
        doNotFollow: {path: 'node_modules'},
        // Type-only imports count: a type from a higher room still ties the rooms together.
        tsPreCompilationDeps: true,
        exclude: {path: '(^|/)(dist|node_modules)/'},
    },
};

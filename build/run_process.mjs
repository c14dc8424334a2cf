// Runs a child process for the build scripts: argv arrays only, never a shell string,
// so paths with spaces or shell characters cannot change the command.

import {spawnSync} from 'node:child_process';

/**
 * Runs `command` with `args`, streaming its output, and throws when it cannot start
 * or exits non-zero. Returns nothing; callers that need output should not use it.
 */
export function runProcess(command, args, {cwd} = {}) {
    const result = spawnSync(command, args, {cwd, stdio: 'inherit', shell: false});
    if (result.error) {
        throw new Error(`could not start ${command}: ${result.error.message}`, {cause: result.error});
    }
    if (result.status !== 0) {
        const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.status}`;
        throw new Error(`${command} ${args.join(' ')} ${how}`);
    }
}

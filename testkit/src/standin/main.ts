#!/usr/bin/env node
/**
 * The Mattermost stand-in's command line (run from dist/):
 *   start  --state DIR --install DIR [--port N] [--writer] [--writer-interval-ms N] [--version V] [--db-wait-ms N]
 *   stop   --state DIR      status --state DIR      run (foreground; same options as start)
 * Exit codes follow systemctl: 0 ok, 1 failure, 2 usage, 3 (status) not running.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  cliStart,
  cliStatus,
  cliStop,
  standinStateFiles,
  type StandinCliOptions,
  type StandinStateFile,
} from './control';
import { log } from './http_api';
import { runStandin } from './server';

const USAGE =
  'usage: main.js start|stop|status|run --state DIR [--install DIR] [--port N] [--writer] [--writer-interval-ms N] [--version V] [--db-wait-ms N]';

/** Parses argv after the command name; throws on unknown or malformed options. */
export function parseStandinArgs(argv: readonly string[]): StandinCliOptions {
  const o: StandinCliOptions = {};
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case '--state':
        o.state = next();
        break;
      case '--install':
        o.install = next();
        break;
      case '--port':
        o.port = num(a, next());
        break;
      case '--writer':
        o.writer = true;
        break;
      case '--writer-interval-ms':
        o.writerIntervalMs = num(a, next());
        break;
      case '--version':
        o.version = next();
        break;
      case '--db-wait-ms':
        o.dbWaitMs = num(a, next());
        break;
      case '--start-timeout-ms':
        o.startTimeoutMs = num(a, next());
        break;
      case '--stop-timeout-ms':
        o.stopTimeoutMs = num(a, next());
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

async function cliRun(o: StandinCliOptions): Promise<number> {
  if (!o.install) throw new Error('run needs --install DIR');
  const installDir = resolve(o.install);
  process.chdir(installDir); // like systemd's WorkingDirectory=/opt/mattermost
  const files = o.state ? standinStateFiles(o.state) : undefined;
  let running;
  try {
    if (o.state) mkdirSync(o.state, { recursive: true });
    running = await runStandin({
      installDir,
      port: o.port,
      version: o.version,
      writer: o.writer,
      writerIntervalMs: o.writerIntervalMs,
      dbWaitMs: o.dbWaitMs,
      violationsFile: files?.violations,
    });
  } catch (err) {
    log(`startup failed: ${(err as Error).message}`);
    return 1;
  }
  if (files && o.state) {
    mkdirSync(o.state, { recursive: true });
    writeFileSync(files.pid, `${process.pid}\n`);
    const st: StandinStateFile = {
      pid: process.pid,
      port: running.port,
      url: running.url,
      installDir,
      version: running.settings.version,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(files.state, `${JSON.stringify(st)}\n`);
  }
  const r = running;
  await new Promise<void>((done) => {
    const shutdown = (sig: string) => {
      log(`${sig}: shutting down`);
      void r.close().then(done, (e: unknown) => {
        log(`shutdown error: ${(e as Error).message}`);
        done();
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  if (files) {
    // Only remove state files that still describe this process.
    for (const f of [files.pid, files.state]) {
      try {
        const text = readFileSync(f, 'utf8');
        if (text.includes(String(process.pid))) rmSync(f, { force: true });
      } catch {
        // already gone
      }
    }
  }
  log('stopped');
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  let o: StandinCliOptions;
  try {
    o = parseStandinArgs(rest);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  try {
    switch (cmd) {
      case 'start':
        return await cliStart(o);
      case 'stop':
        return await cliStop(o);
      case 'status':
        return cliStatus(o);
      case 'run':
        return await cliRun(o);
      default:
        process.stderr.write(`${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    process.stderr.write(`stand-in ${cmd}: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  // Exit explicitly: fetch keep-alive sockets or a pending timer must not delay `start` returning.
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}

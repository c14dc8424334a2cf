/** Parses the text after `/backup`. Anything unknown or malformed becomes `help` with a reason. */
import { canonicalAt } from '../operations/restore_at_describe';
import { SNAPSHOT_ID } from '../manifest/manifest';

export type SlashCommand =
  /** logical: in physical mode, a logical dump of the database now (`backup --logical`). */
  | { cmd: 'now'; mode?: 'online' | 'offline'; logical: boolean }
  | { cmd: 'status' }
  | { cmd: 'list' }
  | { cmd: 'verify'; snapshot: string; deep: boolean }
  | { cmd: 'restore'; snapshot: string; confirm?: string }
  /** `at`: `latest` or the time in UTC, read by restore --at's own parser (offset required). */
  | { cmd: 'restore-at'; at: string; confirm?: string }
  | { cmd: 'prune' }
  | { cmd: 'help'; problem?: string };

export function parseSlash(text: string): SlashCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [head, ...rest] = words;
  const bad = (problem: string): SlashCommand => ({ cmd: 'help', problem });
  const isSnap = (w: string | undefined) => w === 'latest' || (!!w && SNAPSHOT_ID.test(w));
  switch (head?.toLowerCase()) {
    case undefined:
    case 'help':
      return { cmd: 'help' };
    case 'now': {
      const flags = rest.map((w) => w.toLowerCase());
      const modes = flags.filter((f) => f === '--online' || f === '--offline');
      const logical = flags.filter((f) => f === '--logical');
      if (modes.length > 1 || logical.length > 1 || modes.length + logical.length !== flags.length) {
        return bad(`\`now\` takes --online or --offline, and --logical, not "${rest.join(' ')}"`);
      }
      return {
        cmd: 'now',
        mode: modes[0] === '--online' ? 'online' : modes[0] === '--offline' ? 'offline' : undefined,
        logical: logical.length === 1,
      };
    }
    case 'status':
    case 'list':
    case 'prune':
      return rest.length
        ? bad(`\`${head}\` takes no arguments`)
        : { cmd: head.toLowerCase() as 'status' | 'list' | 'prune' };
    case 'verify': {
      const [id, flag, ...extra] = rest;
      if (!isSnap(id) || extra.length || (flag && flag !== '--deep')) {
        return bad('usage: `verify <snapshot-id|latest> [--deep]`');
      }
      return { cmd: 'verify', snapshot: id as string, deep: flag === '--deep' };
    }
    case 'restore': {
      if (rest[0]?.toLowerCase() === '--at') return parseRestoreAt(rest.slice(1));
      const [id, word, code, ...extra] = rest;
      if (!id || !SNAPSHOT_ID.test(id) || extra.length) {
        return bad('usage: `restore <snapshot-id>` (the full id, as `list` shows it)');
      }
      if (word === undefined) return { cmd: 'restore', snapshot: id };
      if (word !== 'confirm' || !code || !/^[a-f0-9]{8}$/.test(code)) {
        return bad('usage: `restore <snapshot-id> confirm <code>`');
      }
      return { cmd: 'restore', snapshot: id, confirm: code };
    }
    default:
      return bad(`unknown subcommand "${head}"`);
  }
}

const AT_USAGE =
  'usage: `restore --at <time with offset|latest>`, e.g. `restore --at 2026-12-01 14:31:00+01:00` (then `… confirm <code>`)';

/** `--at <time…> [confirm <code>]`: the time may hold a space (`2026-12-01 14:31:00+01:00`). */
function parseRestoreAt(words: string[]): SlashCommand {
  const bad = (problem: string): SlashCommand => ({ cmd: 'help', problem });
  const i = words.findIndex((w) => w.toLowerCase() === 'confirm');
  const timeWords = i < 0 ? words : words.slice(0, i);
  const tail = i < 0 ? [] : words.slice(i + 1);
  if (!timeWords.length || timeWords.length > 2) return bad(AT_USAGE);
  if (i >= 0 && (tail.length !== 1 || !/^[a-f0-9]{8}$/.test(tail[0] as string))) {
    return bad('usage: `restore --at <time> confirm <code>`');
  }
  let at: string;
  try {
    at = canonicalAt(timeWords.join(' '));
  } catch (err) {
    return bad(`${(err as Error).message}. ${AT_USAGE}`);
  }
  return i < 0 ? { cmd: 'restore-at', at } : { cmd: 'restore-at', at, confirm: tail[0] };
}

export const HELP = [
  '**/backup** manages Mattermost backups (system admins only):',
  '- `/backup now [--online|--offline] [--logical]`: take a backup now (--logical: in physical mode, with a logical dump of the database)',
  '- `/backup status`: last and next backup, running job, disk',
  '- `/backup list`: recent snapshots',
  '- `/backup verify <id|latest> [--deep]`: check a snapshot (deep = restore drill)',
  '- `/backup restore <id>`: restore a snapshot (asks for confirmation)',
  '- `/backup restore --at <time with offset|latest>`: the database to a point in time (physical mode; asks for confirmation)',
  '- `/backup prune`: apply the retention policy',
].join('\n');

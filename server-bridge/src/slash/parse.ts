/** Parses the text after `/backup`. Anything unknown or malformed becomes `help` with a reason. */
import { SNAPSHOT_ID } from '../manifest/manifest';

export type SlashCommand =
  | { cmd: 'now'; mode?: 'online' | 'offline' }
  | { cmd: 'status' }
  | { cmd: 'list' }
  | { cmd: 'verify'; snapshot: string; deep: boolean }
  | { cmd: 'restore'; snapshot: string; confirm?: string }
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
      if (rest.length > 1 || (rest[0] && !['--online', '--offline'].includes(rest[0]))) {
        return bad(`\`now\` takes --online or --offline, not "${rest.join(' ')}"`);
      }
      return { cmd: 'now', mode: rest[0] === '--online' ? 'online' : rest[0] === '--offline' ? 'offline' : undefined };
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

export const HELP = [
  '**/backup** manages Mattermost backups (system admins only):',
  '- `/backup now [--online|--offline]`: take a backup now',
  '- `/backup status`: last and next backup, running job, disk',
  '- `/backup list`: recent snapshots',
  '- `/backup verify <id|latest> [--deep]`: check a snapshot (deep = restore drill)',
  '- `/backup restore <id>`: restore a snapshot (asks for confirmation)',
  '- `/backup prune`: apply the retention policy',
].join('\n');

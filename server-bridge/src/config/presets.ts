/** Turns the service presets into the argv arrays the engine runs. `none` never stops Mattermost. */
import type { ParsedConfig } from './schema';

export function serviceCommands(service: ParsedConfig['service']): { stop: string[] | null; start: string[] | null } {
  switch (service.preset) {
    case 'systemd':
      return {
        stop: service.stop ?? ['systemctl', 'stop', service.unit],
        start: service.start ?? ['systemctl', 'start', service.unit],
      };
    case 'docker-compose': {
      const base = ['docker', 'compose', '-f', service.composeFile ?? 'docker-compose.yml'];
      return {
        stop: service.stop ?? [...base, 'stop', service.composeService],
        start: service.start ?? [...base, 'start', service.composeService],
      };
    }
    case 'none':
      return { stop: null, start: null };
    case 'custom':
    default:
      return { stop: service.stop ?? null, start: service.start ?? null };
  }
}

// Number, size and duration formatting shared by the dashboard's components. Dates use
// the browser's Intl through react-intl; these helpers cover what Intl does not.

/**
 * 1536 → "1.5 KB". One convention on the whole page: the sidecar's (server-bridge
 * core/units.ts), whose job summaries, status posts and CLI write KB, MB, GB for 1024,
 * 1024², 1024³ bytes; the page shows both side by side, so it writes sizes the same way.
 */
export function formatBytes(bytes: number | null | undefined): string {
    if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
        return '–';
    }
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** 3723000 → "1h 2m 3s"; 4200 → "4.2s"; sub-second values → "0.3s". */
export function formatDuration(ms: number | null | undefined): string {
    if (ms === null || ms === undefined || !Number.isFinite(ms)) {
        return '–';
    }
    if (ms < 60_000) {
        return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
    }
    const total = Math.round(ms / 1000);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    return [h ? `${h}h` : '', m || h ? `${m}m` : '', `${s}s`].filter(Boolean).join(' ');
}

// Scales for the snapshot plots: a "nice" upper bound for an axis (1, 2 or 5 times a power of
// ten, or of 1024 for bytes) so the axis label is a round number, and bar heights within it.

/** The smallest round number ≥ `max` (bytes: 1, 2 or 5 × a power of 1024 steps; else of ten). */
export function niceMax(max: number, bytes = false): number {
    if (!Number.isFinite(max) || max <= 0) {
        return 1;
    }
    const base = bytes ? 1024 ** Math.floor(Math.log(max) / Math.log(1024)) : 1;
    const scaled = max / base;
    const pow = 10 ** Math.floor(Math.log10(scaled));
    for (const step of [1, 2, 5, 10]) {
        if (step * pow >= scaled) {
            return step * pow * base;
        }
    }
    return 10 * pow * base;
}

/** A bar's height in pixels for `value` on an axis from 0 to `top` drawn `height` pixels tall (never below 1 px for a value > 0). */
export function barHeight(value: number, top: number, height: number): number {
    if (!(value > 0) || !(top > 0)) {
        return 0;
    }
    return Math.max(1, Math.min(height, (value / top) * height));
}

// Poll and retry intervals. Tests shorten them with setTiming(); nothing else changes them.

export const timing = {
    /** How often a running job is polled. */
    jobPollMs: 1000,

    /** First retry delay while Mattermost restarts; doubles up to retryMaxMs. */
    retryBaseMs: 1000,
    retryMaxMs: 15_000,
};

export function setTiming(t: Partial<typeof timing>): void {
    Object.assign(timing, t);
}

/** The delay before retry number `attempt` (0-based): base, 2×base, 4×base … capped. */
export function backoffMs(attempt: number): number {
    return Math.min(timing.retryMaxMs, timing.retryBaseMs * 2 ** attempt);
}

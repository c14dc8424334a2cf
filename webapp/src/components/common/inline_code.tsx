// The sidecar's messages mark commands and paths with backticks (markdown, as in its posts);
// on the page those parts are shown as code instead of with literal backticks.

import React from 'react';

/** `text` with each `...` part as a <code> element. */
export function InlineCode({text}: {text: string}) {
    const parts = text.split(/`([^`]+)`/);
    return (
        <>
            {parts.map((p, i) =>
                // The parts of one fixed text, never reordered: their place is their identity.
                // eslint-disable-next-line react/no-array-index-key
                i % 2 === 1 ? <code key={i}>{p}</code> : p,
            )}
        </>
    );
}

/**
 * True for a status problem whose fix is `mm-backup connect` (server-bridge service/sidecar.ts
 * words them "…: run `mm-backup connect` …"); the page's Connect does the same from here.
 */
export function isConnectProblem(problem: string): boolean {
    return problem.includes('`mm-backup connect`');
}

/** The problem without its "run `mm-backup connect` …" advice, which a Connect button replaces. */
export function withoutConnectCommand(problem: string): string {
    return problem.replace(/[\s:;,.]*\b[Rr]un `mm-backup connect`[\s\S]*$/, '');
}

/** True for the status problem that says the sidecar has no bot (sidecar.ts `not connected: …`). */
export function isNotConnectedProblem(problem: string): boolean {
    return /^not connected\b/i.test(problem);
}

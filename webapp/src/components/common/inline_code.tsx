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

/** True for the status problem that says the sidecar has no bot (sidecar.ts `not connected: …`). */
export function isNotConnectedProblem(problem: string): boolean {
    return /^not connected\b/i.test(problem);
}

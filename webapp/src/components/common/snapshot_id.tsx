// A snapshot (or job) id as the page shows it: monospace and never broken across lines, so
// it can be read and compared whole (a table cell scrolls instead).

import React from 'react';

export const ID_STYLE: React.CSSProperties = {whiteSpace: 'nowrap', wordBreak: 'keep-all', overflowWrap: 'normal'};

export default function SnapshotId({id}: {id: string}) {
    return (
        <code className="mattermost-backup-id" style={ID_STYLE}>
            {id}
        </code>
    );
}

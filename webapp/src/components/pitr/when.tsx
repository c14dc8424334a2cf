// An instant as the recovery-window panel and its picker show it: in this browser's zone, as
// the picker reads its input (the host's IntlProvider may pin another zone), to the second.

import React from 'react';
import {FormattedDate, FormattedTime} from 'react-intl';

import {browserTimeZone} from 'src/local_time';

/** `iso` (or epoch milliseconds) as "Dec 02, 2026 11:15:30 AM" in the browser's zone. */
export default function When({iso}: {iso: string | number}) {
    const d = new Date(iso);
    const zone = browserTimeZone();
    return (
        <>
            <FormattedDate value={d} timeZone={zone} year="numeric" month="short" day="2-digit" />{' '}
            <FormattedTime value={d} timeZone={zone} hour="2-digit" minute="2-digit" second="2-digit" />
        </>
    );
}

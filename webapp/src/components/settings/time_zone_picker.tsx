// A searchable time-zone picker (an ARIA combobox): typing filters the IANA zones the browser
// knows, matching any part of the name with spaces for underscores ("new york" finds
// America/New_York); a click, or Enter on the highlighted one, picks it. The value stays
// free text, so a zone this browser does not list can still be typed; the sidecar validates it.

import React, {useId, useMemo, useState} from 'react';

/**
 * Zones ICU still lists by a name IANA has since replaced (CLDR keeps the old id stable):
 * the picker offers the current name, which every engine accepts as well.
 */
const RENAMED: Record<string, string> = {
    'Asia/Calcutta': 'Asia/Kolkata',
    'Asia/Katmandu': 'Asia/Kathmandu',
    'Asia/Rangoon': 'Asia/Yangon',
    'Asia/Saigon': 'Asia/Ho_Chi_Minh',
    'Europe/Kiev': 'Europe/Kyiv',
    'America/Godthab': 'America/Nuuk',
    'Atlantic/Faeroe': 'Atlantic/Faroe',
    'Pacific/Enderbury': 'Pacific/Kanton',
};

/** The IANA zones the browser knows, by their current names, with UTC first (some engines leave it out). */
export function knownTimeZones(): string[] {
    const zones = Intl.supportedValuesOf('timeZone').map((z) => RENAMED[z] ?? z);
    return ['UTC', ...[...new Set(zones)].filter((z) => z !== 'UTC').sort()];
}

const norm = (s: string) => s.toLowerCase().replace(/[_\s]+/g, ' ');

/** Zones whose name contains every word of `query`, at most `limit` of them. */
export function searchTimeZones(zones: string[], query: string, limit = 50): string[] {
    const words = norm(query)
        .split(/[\s/]+/)
        .filter(Boolean);
    return zones.filter((z) => words.every((w) => norm(z).includes(w))).slice(0, limit);
}

type Props = {
    id: string;
    value: string;
    invalid?: boolean;
    onChange: (zone: string) => void;
};

export default function TimeZonePicker({id, value, invalid, onChange}: Props) {
    const zones = useMemo(() => knownTimeZones(), []);
    const [open, setOpen] = useState(false);
    const [active, setActive] = useState(0);
    const listId = `${useId()}-zones`;
    // The list filters by what is typed, except right after opening on a chosen zone.
    const [query, setQuery] = useState<string | null>(null);
    const matches = useMemo(() => searchTimeZones(zones, query ?? ''), [zones, query]);

    const pick = (zone: string) => {
        onChange(zone);
        setOpen(false);
        setQuery(null);
    };
    const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
        if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            setOpen(true);
            const step = e.key === 'ArrowDown' ? 1 : -1;
            setActive((a) => Math.min(Math.max(a + step, 0), Math.max(matches.length - 1, 0)));
        } else if (e.key === 'Enter' && open) {
            // Enter picks the highlighted zone; it never submits the Console's form.
            e.preventDefault();
            const zone = matches[active];
            if (zone) {
                pick(zone);
            }
        } else if (e.key === 'Escape') {
            setOpen(false);
        }
    };

    return (
        <div className="mattermost-backup-tz" style={{position: 'relative'}}>
            <input
                id={id}
                className="form-control"
                role="combobox"
                aria-expanded={open}
                aria-controls={listId}
                aria-autocomplete="list"
                aria-activedescendant={open && matches[active] ? `${listId}-${active}` : undefined}
                aria-invalid={invalid}
                autoComplete="off"
                // A format example (an IANA time zone name), not words: it stays literal.
                placeholder="UTC"
                value={value}
                onChange={(e) => {
                    onChange(e.target.value);
                    setQuery(e.target.value);
                    setActive(0);
                    setOpen(true);
                }}
                onFocus={() => setOpen(true)}
                onBlur={() => setOpen(false)}
                onKeyDown={onKeyDown}
            />
            {open && matches.length > 0 && (
                <ul
                    id={listId}
                    role="listbox"
                    className="dropdown-menu"
                    style={{display: 'block', maxHeight: 240, overflowY: 'auto', width: '100%'}}
                >
                    {matches.map((z, i) => (
                        <li
                            key={z}
                            id={`${listId}-${i}`}
                            role="option"
                            aria-selected={i === active}
                            className={i === active ? 'active' : undefined}
                            // mousedown, not click: it comes before the input's blur closes the list.
                            onMouseDown={(e) => {
                                e.preventDefault();
                                pick(z);
                            }}
                            style={{padding: '4px 12px', cursor: 'pointer'}}
                        >
                            {z}
                        </li>
                    ))}
                </ul>
            )}
        </div>
    );
}

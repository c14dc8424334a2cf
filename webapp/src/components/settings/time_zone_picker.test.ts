// The time-zone search: any part of the name, spaces for underscores, current names for
// zones ICU lists by an old one.

import {knownTimeZones, searchTimeZones} from './time_zone_picker';

describe('time-zone search', () => {
    const zones = knownTimeZones();

    it('lists UTC first and zones by their current IANA names', () => {
        expect(zones[0]).toBe('UTC');
        expect(zones).toEqual(expect.arrayContaining(['Asia/Kolkata', 'Europe/Kyiv', 'America/New_York']));
        expect(zones).not.toContain('Asia/Calcutta');
        expect(new Set(zones).size).toBe(zones.length);
    });

    it('finds zones by any part of their name, case and underscores aside', () => {
        expect(searchTimeZones(zones, 'kolk')).toEqual(['Asia/Kolkata']);
        expect(searchTimeZones(zones, 'NEW york')).toEqual(['America/New_York']);
        expect(searchTimeZones(zones, 'america/new_y')).toEqual(['America/New_York']);
        expect(searchTimeZones(zones, 'europe').every((z) => z.startsWith('Europe/'))).toBe(true);
        expect(searchTimeZones(zones, 'no such place')).toEqual([]);
        expect(searchTimeZones(zones, '', 5)).toHaveLength(5);
    });
});

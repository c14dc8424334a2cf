import {siteSubpath} from './site_url';

describe('siteSubpath', () => {
    it.each([
        ['https://chat.example.com', ''],
        ['https://chat.example.com/', ''],
        ['https://example.com/mattermost', '/mattermost'],
        ['https://example.com/team/chat/', '/team/chat'],
        ['', ''],
        ['not a url', ''],
    ])('%j → %j', (siteURL, expected) => {
        expect(siteSubpath({entities: {general: {config: {SiteURL: siteURL}}}})).toBe(expected);
    });

    it('is empty before the webapp has loaded its config', () => {
        expect(siteSubpath({})).toBe('');
    });
});

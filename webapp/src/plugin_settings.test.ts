import {adminConfigWith} from '../tests/support/admin_config';

import {manifestDefault, readPluginSetting, sidecarUrlFromConfig} from './plugin_settings';

describe('plugin settings', () => {
    it('falls back to the manifest default while nothing is saved', () => {
        expect(manifestDefault('SidecarURL')).toBe('/mm-backup');
        expect(sidecarUrlFromConfig(undefined)).toBe('/mm-backup');
        expect(sidecarUrlFromConfig({})).toBe('/mm-backup');
        expect(sidecarUrlFromConfig(adminConfigWith({sidecarurl: ''}))).toBe('/mm-backup');
    });

    it('reads the lower-cased key the System Console writes', () => {
        expect(sidecarUrlFromConfig(adminConfigWith({sidecarurl: 'http://backup.example:8066'}))).toBe(
            'http://backup.example:8066',
        );
    });

    it('reads a key whose case was kept (written through the API or by hand)', () => {
        expect(readPluginSetting(adminConfigWith({SidecarURL: '/custom'}), 'sidecarurl')).toBe('/custom');
    });

    it('drops trailing slashes and whitespace so paths join cleanly', () => {
        expect(sidecarUrlFromConfig(adminConfigWith({sidecarurl: ' http://host:8066// '}))).toBe('http://host:8066');
    });

    it("ignores other plugins' settings", () => {
        const config = {PluginSettings: {Plugins: {'other-plugin': {sidecarurl: 'http://wrong'}}}};
        expect(sidecarUrlFromConfig(config)).toBe('/mm-backup');
    });
});

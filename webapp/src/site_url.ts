// The path part of the host webapp's SiteURL (entities.general.config), so /api/v4 calls made
// by the plugin work when Mattermost is served under a subpath ('' at the root path).
export function siteSubpath(state: unknown): string {
    const url =
        (state as {entities?: {general?: {config?: {SiteURL?: string}}}}).entities?.general?.config?.SiteURL ?? '';
    try {
        return new URL(url).pathname.replace(/\/+$/, '');
    } catch {
        return '';
    }
}

// Navigation inside the Mattermost webapp from plugin code.

/**
 * Goes to a webapp route such as `/admin_console/...` without reloading. Uses the
 * webapp's own history (window.WebappUtils.browserHistory), which knows the subpath
 * Mattermost is served under; falls back to a full page load outside the webapp.
 */
export function navigateTo(path: string): void {
    const history = window.WebappUtils?.browserHistory;
    if (history) {
        history.push(path);
        return;
    }
    window.location.assign(path);
}

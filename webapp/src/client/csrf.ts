// Mattermost's CSRF token for state-changing requests: the readable MMCSRF cookie, which
// Mattermost sets at login next to the HttpOnly MMAUTHTOKEN (Client4 reads it the same way).

/** The MMCSRF cookie's value, or '' when there is none (e.g. outside Mattermost). */
export function csrfToken(cookies: string = document.cookie): string {
    for (const part of cookies.split(';')) {
        const [name, ...value] = part.trim().split('=');
        if (name === 'MMCSRF') {
            return decodeURIComponent(value.join('='));
        }
    }
    return '';
}

/** Headers every request from the page sends; non-GET requests also carry the CSRF token. */
export function mattermostHeaders(method: string): Record<string, string> {
    const headers: Record<string, string> = {Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest'};
    if (method !== 'GET' && method !== 'HEAD') {
        headers['X-CSRF-Token'] = csrfToken();
    }
    return headers;
}

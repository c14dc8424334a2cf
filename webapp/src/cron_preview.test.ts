import {describeCron, looksLikeCron} from './cron_preview';

describe('describeCron', () => {
    it.each([
        ['0 3 * * *', 'UTC', 'every day at 03:00 UTC'],
        ['30 23 * * *', 'Europe/Berlin', 'every day at 23:30 Europe/Berlin'],
        ['0 5 * * 0', 'UTC', 'every week on Sunday at 05:00 UTC'],
        ['0 5 * * 7', 'UTC', 'every week on Sunday at 05:00 UTC'],
        ['15 1 * * 1,3,5', 'UTC', 'every week on Monday, Wednesday, Friday at 01:15 UTC'],
        ['0 2 * * 1-5', 'UTC', 'every week on weekdays at 02:00 UTC'],
        ['0 4 1 * *', 'UTC', 'every month on day 1 at 04:00 UTC'],
        ['10 * * * *', 'UTC', 'every hour at minute 10'],
        ['0 */6 * * *', 'UTC', 'every 6 hours at minute 0 (UTC)'],
    ])('%s → %s', (expr, tz, text) => {
        expect(describeCron(expr, tz)).toBe(text);
    });

    it('falls back to the raw expression for anything else', () => {
        for (const expr of ['*/5 1,2 * * *', '0 3 1 1 *', '0 3 * * MON', '0 3 1 * 1', '0 25 * * *', 'nonsense']) {
            expect(describeCron(expr)).toBe(expr);
        }
    });

    it('recognises the shape of a 5-field expression', () => {
        expect(looksLikeCron('0 3 * * *')).toBe(true);
        expect(looksLikeCron('0 3 * *')).toBe(false);
        expect(looksLikeCron('0 3 * * * *')).toBe(false);
        expect(looksLikeCron('daily')).toBe(false);
    });
});

import {createIntl} from 'react-intl';

import {describeCron, looksLikeCron} from './cron_preview';
import {getTranslations, intlFor} from './i18n';

// The English messages, as Mattermost's IntlProvider has them after registerTranslations.
const {formatMessage} = intlFor('en');

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
        expect(describeCron(expr, tz, formatMessage)).toBe(text);
    });

    it('falls back to the raw expression for anything else', () => {
        for (const expr of ['*/5 1,2 * * *', '0 3 1 1 *', '0 3 * * MON', '0 3 1 * 1', '0 25 * * *', 'nonsense']) {
            expect(describeCron(expr, 'UTC', formatMessage)).toBe(expr);
        }
    });

    it("words the description with the formatMessage it is given (the user's language)", () => {
        const de = createIntl({
            locale: 'de',
            messages: {
                ...getTranslations('en'),
                'mattermost-backup.cron.weekly': 'jede Woche am {days} um {time} {tz}',
                'mattermost-backup.cron.weekday': '{day, select, 1 {Montag} 3 {Mittwoch} other {?}}',
            },
        });
        expect(describeCron('0 5 * * 1,3', 'UTC', de.formatMessage)).toBe(
            'jede Woche am Montag, Mittwoch um 05:00 UTC',
        );
    });

    it('recognises the shape of a 5-field expression', () => {
        expect(looksLikeCron('0 3 * * *')).toBe(true);
        expect(looksLikeCron('0 3 * *')).toBe(false);
        expect(looksLikeCron('0 3 * * * *')).toBe(false);
        expect(looksLikeCron('daily')).toBe(false);
    });
});

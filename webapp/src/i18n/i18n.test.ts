// Keeps every visible string going through react-intl: the messages in the sources must
// be exactly those of en.json (what registerTranslations gives Mattermost), each id must
// have one text, and no literal text may sit in JSX, aria-label/title & co. or message values.
//
// After adding or changing a message, regenerate en.json with
//   UPDATE_I18N=1 npx jest src/i18n
// and review the diff.

import fs from 'node:fs';
import path from 'node:path';

import {createIntl} from 'react-intl';

import {scanSource, scanSources} from '../../tests/support/i18n_scan';
import type {FoundMessage} from '../../tests/support/i18n_scan';

import en from './en.json';

import {formatText, getTranslations, intlFor, LocalizedError, localeFromState} from '.';

const SRC = path.resolve(__dirname, '..');
const EN_JSON = path.join(__dirname, 'en.json');

/** id → every distinct defaultMessage the sources give it, with where. */
function byId(messages: FoundMessage[]): Map<string, Map<string, string[]>> {
    const map = new Map<string, Map<string, string[]>>();
    for (const m of messages) {
        const texts = map.get(m.id) ?? new Map<string, string[]>();
        texts.set(m.defaultMessage, [...(texts.get(m.defaultMessage) ?? []), m.where]);
        map.set(m.id, texts);
    }
    return map;
}

/** The catalogue the sources define: id → defaultMessage, sorted by id. */
function catalogue(messages: FoundMessage[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, texts] of [...byId(messages)].sort(([a], [b]) => a.localeCompare(b))) {
        out[id] = [...texts.keys()][0]!;
    }
    return out;
}

/** Problems of (a) and (c) for a set of messages against a catalogue. */
function catalogueProblems(messages: FoundMessage[], json: Record<string, string>): string[] {
    const problems: string[] = [];
    for (const [id, texts] of byId(messages)) {
        if (texts.size > 1) {
            problems.push(
                `${id} has ${texts.size} different defaultMessages: ${[...texts].map(([t, w]) => `"${t}" (${w.join(', ')})`).join(' vs ')}`,
            );
        }
    }
    const inSources = catalogue(messages);
    for (const [id, text] of Object.entries(inSources)) {
        if (!(id in json)) {
            problems.push(`${id} is missing from en.json`);
        } else if (json[id] !== text) {
            problems.push(`${id}: en.json says "${json[id]}", the source says "${text}"`);
        }
    }
    for (const id of Object.keys(json)) {
        if (!(id in inSources)) {
            problems.push(`${id} is in en.json but no source uses it`);
        }
    }
    return problems;
}

describe('messages and en.json', () => {
    const scan = scanSources(SRC);

    if (process.env.UPDATE_I18N === '1') {
        fs.writeFileSync(EN_JSON, `${JSON.stringify(catalogue(scan.messages), null, 4)}\n`);
    }
    const json = JSON.parse(fs.readFileSync(EN_JSON, 'utf8')) as Record<string, string>;

    it('finds the messages of the sources (sanity check of the scanner)', () => {
        expect(scan.messages.length).toBeGreaterThan(100);
        expect(scan.messages.map((m) => m.id)).toEqual(
            expect.arrayContaining([
                'mattermost-backup.now.button',
                'mattermost-backup.modal.close',
                'mattermost-backup.slash.no_backup',
                'mattermost-backup.settings.error.whole_number',
            ]),
        );
    });

    it('(a) en.json has exactly the ids and texts of the sources, and (c) each id has one text', () => {
        expect(catalogueProblems(scan.messages, json)).toEqual([]);
    });

    it('(b) no visible text bypasses react-intl (JSX text, aria-label/title/alt/label, placeholders, message values)', () => {
        expect(scan.problems).toEqual([]);
    });

    it('every message is valid ICU MessageFormat', () => {
        const intl = createIntl({locale: 'en', messages: json});
        const invalid = Object.entries(json).filter(([, text]) => {
            try {
                intl.formatters.getMessageFormat(text, 'en');
                return false;
            } catch {
                return true;
            }
        });
        expect(invalid).toEqual([]);
    });
});

// The checks above must be able to fail: each is run here on a small broken example.
describe('the checks catch mistakes', () => {
    const ok = {id: 'mattermost-backup.x.a', defaultMessage: 'A', where: 'f.tsx:1'};

    it('(a) an id missing from en.json, an extra one, and a changed text', () => {
        expect(catalogueProblems([ok], {})).toEqual(['mattermost-backup.x.a is missing from en.json']);
        expect(catalogueProblems([ok], {'mattermost-backup.x.a': 'A', 'mattermost-backup.x.b': 'B'})).toEqual([
            'mattermost-backup.x.b is in en.json but no source uses it',
        ]);
        expect(catalogueProblems([ok], {'mattermost-backup.x.a': 'Changed'})).toEqual([
            'mattermost-backup.x.a: en.json says "Changed", the source says "A"',
        ]);
    });

    it('(c) one id with two texts', () => {
        const problems = catalogueProblems([ok, {...ok, defaultMessage: 'B', where: 'g.tsx:2'}], {
            'mattermost-backup.x.a': 'A',
        });
        expect(problems).toEqual([
            'mattermost-backup.x.a has 2 different defaultMessages: "A" (f.tsx:1) vs "B" (g.tsx:2)',
        ]);
    });

    it('(a) extracts FormattedMessage, formatMessage and descriptor constants', () => {
        const src = `
            const M = {x: {id: 'mattermost-backup.a.one', defaultMessage: 'One'}};
            const el = <FormattedMessage id='mattermost-backup.a.two' defaultMessage="It's two {n}" values={{n: 2}}/>;
            formatMessage({id: 'mattermost-backup.a.three', defaultMessage: 'Three\\'s'});
            throw new ConnectBlockedError('X', {id: 'mattermost-backup.a.four', defaultMessage: 'Four {v}', values: {v}});
        `;
        const r = scanSource('f.tsx', src);
        expect(r.problems).toEqual([]);
        expect(r.messages.map((m) => [m.id, m.defaultMessage])).toEqual([
            ['mattermost-backup.a.one', 'One'],
            ['mattermost-backup.a.two', "It's two {n}"],
            ['mattermost-backup.a.three', "Three's"],
            ['mattermost-backup.a.four', 'Four {v}'],
        ]);
    });

    it('(a) rejects ids and texts that are not literals', () => {
        const r = scanSource(
            'f.tsx',
            `
            const t = (id, d) => formatMessage({id: \`mattermost-backup.a.\${id}\`, defaultMessage: d});
            formatMessage({id: name});
            const el = <FormattedMessage id={name} defaultMessage='x'/>;
        `,
        );
        expect(r.problems).toHaveLength(4); // template id, non-literal descriptor, JSX id, the stray template head
    });

    it('(b) literal aria-label, title, JSX text and English message values', () => {
        const r = scanSource(
            'f.tsx',
            `
            const a = <button aria-label='Close' title="Job progress">Close me</button>;
            const b = <input placeholder='UTC'/>;
            const c = <input
                // A format example, so it stays literal.
                placeholder='UTC'
            />;
            const d = <p>{busy ? 'Saving' : '…'}</p>;
            const e = <FormattedMessage id='mattermost-backup.a.b' defaultMessage='{x}' values={{x: ok ? 'reachable' : \`not \${y}\`, n: '?'}}/>;
            const f = <span aria-label='×'>{' '}{'—'}</span>;
        `,
        );
        expect(r.problems.map((p) => p.replace(/^f\.tsx:\d+: /, ''))).toEqual([
            'aria-label=Close is literal text; use formatMessage',
            'title=Job progress is literal text; use formatMessage',
            'JSX text "Close me" bypasses react-intl',
            'placeholder=UTC is literal text; use formatMessage, or say in a comment on it that it is a format example',
            'JSX child Saving bypasses react-intl',
            'text reachable passed as a message value; make it a message too',
            // eslint-disable-next-line no-template-curly-in-string -- the scanner's message quotes the source's template literal
            'text `not ${y}` passed as a message value; make it a message too',
        ]);
    });
});

describe('getTranslations (registerTranslations)', () => {
    it('gives en.json for English and for locales without their own file', () => {
        expect(getTranslations('en')).toEqual(en);
        expect(getTranslations('de')).toEqual(en);
        expect(getTranslations('pt-BR')).toEqual(en);
        expect(Object.keys(en).length).toBeGreaterThan(100);
    });
});

describe('messages outside React', () => {
    it("reads the user's locale the way the webapp does", () => {
        const state = (locale?: string, fallback?: string) => ({
            entities: {
                users: {currentUserId: 'u1', profiles: {u1: {locale}}},
                general: {config: {DefaultClientLocale: fallback}},
            },
        });
        expect(localeFromState(state('de'))).toBe('de');
        expect(localeFromState(state(undefined, 'fr'))).toBe('fr');
        expect(localeFromState(state(''))).toBe('en');
        expect(localeFromState({})).toBe('en');
        expect(localeFromState(undefined)).toBe('en');
    });

    it('formats LocalMessages and strings, and keeps English in Error.message', () => {
        const {formatMessage} = intlFor('en');
        const msg = {
            id: 'mattermost-backup.settings.error.range',
            defaultMessage: 'Enter a number from {min} to {max}.',
            values: {min: 1, max: 1000},
        };
        expect(formatText(formatMessage, msg)).toBe('Enter a number from 1 to 1000.');
        expect(formatText(formatMessage, 'from the server')).toBe('from the server');
        const err = new LocalizedError(msg);
        expect(err.message).toBe('Enter a number from 1 to 1000.');
        expect(err.local).toBe(msg);

        const de = createIntl({
            locale: 'de',
            messages: {'mattermost-backup.settings.error.range': 'Eine Zahl von {min} bis {max}.'},
        });
        expect(formatText(de.formatMessage, msg)).toBe('Eine Zahl von 1 bis 1000.');
    });
});

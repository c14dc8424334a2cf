// The plugin's translations, registered with registry.registerTranslations: Mattermost
// calls getTranslations with the user's locale when the plugin loads and again whenever
// the language changes, and merges the result into the host IntlProvider's messages.
// To add a language, add e.g. `de.json` (same ids; missing ids fall back to English) and
// one line to LOCALES below.

import {createIntl} from 'react-intl';
import type {IntlShape, MessageDescriptor} from 'react-intl';

import en from './en.json';

/** Translations by locale, other than English. Example: `import de from './de.json';` and `de,` here. */
const LOCALES: Record<string, Record<string, string>> = {};

/**
 * The messages for `locale` (Mattermost locales look like `en`, `de`, `pt-BR`, `zh-CN`):
 * the exact locale's file, else its language's, always on top of English so an id that
 * is not translated yet still shows its English text.
 */
export function getTranslations(locale: string): Record<string, string> {
    const own = LOCALES[locale] ?? LOCALES[locale.split(/[-_]/)[0]?.toLowerCase() ?? ''];
    return own ? {...en, ...own} : en;
}

/** Values for a message's placeholders. */
export type MessageValues = Record<string, string | number | boolean | Date | null | undefined>;

/** react-intl's formatMessage as non-React code needs it (IntlShape['formatMessage'] fits). */
export type FormatMessage = (descriptor: MessageDescriptor, values?: MessageValues) => string;

/**
 * A message produced outside React (an error, a validation result), rendered later by
 * a component with formatMessage or FormattedMessage. Plain data, so it can be stored in
 * Redux. `id`/`defaultMessage` must be literals where the object is written (i18n.test.ts).
 */
export type LocalMessage = {id: string; defaultMessage: string; values?: MessageValues};

/** Text to show: a LocalMessage, or a string that arrived translated or untranslatable (a server's message). */
export type Text = string | LocalMessage;

export function isLocalMessage(value: unknown): value is LocalMessage {
    const v = value as Partial<LocalMessage> | null;
    return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.defaultMessage === 'string';
}

/** Renders a Text in the user's language. */
export function formatText(formatMessage: FormatMessage, text: Text): string {
    return typeof text === 'string' ? text : formatMessage(text, text.values);
}

const intls = new Map<string, IntlShape>();

/** An IntlShape with this plugin's messages for `locale`, for code that runs outside the host's IntlProvider. */
export function intlFor(locale: string): IntlShape {
    let intl = intls.get(locale);
    if (!intl) {
        intl = createIntl({locale, defaultLocale: 'en', messages: getTranslations(locale)});
        intls.set(locale, intl);
    }
    return intl;
}

/** English rendering, for Error.message (logs) where no user locale is at hand. */
export function inEnglish(text: Text): string {
    return formatText(intlFor('en').formatMessage, text);
}

/** An error whose text is a LocalMessage; `message` holds the English rendering. */
export class LocalizedError extends Error {
    constructor(readonly local: LocalMessage) {
        super(inEnglish(local));
        this.name = 'LocalizedError';
    }
}

/**
 * The user's locale as the webapp keeps it: the current user's profile `locale`, else
 * the server's DefaultClientLocale, else 'en' (mattermost-redux getCurrentUserLocale;
 * the webapp's getCurrentLocale passes DefaultClientLocale as the default).
 */
export function localeFromState(state: unknown): string {
    const s = state as
        | {
              entities?: {
                  users?: {currentUserId?: string; profiles?: Record<string, {locale?: string} | undefined>};
                  general?: {config?: {DefaultClientLocale?: string}};
              };
          }
        | undefined;
    const users = s?.entities?.users;
    const id = users?.currentUserId;
    const locale = id ? users.profiles?.[id]?.locale : undefined;
    return locale || s?.entities?.general?.config?.DefaultClientLocale || 'en';
}

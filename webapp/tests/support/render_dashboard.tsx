// Renders a component the way Mattermost does for a plugin: inside the host's Redux
// Provider (a real store holding the plugin's reducer under its state key) and an
// IntlProvider in English with the messages registerTranslations gives the webapp.

import {render} from '@testing-library/react';
import React from 'react';
import {IntlProvider} from 'react-intl';
import {Provider} from 'react-redux';
import {combineReducers, legacy_createStore as createStore} from 'redux';
import type {Store} from 'redux';

import {getTranslations} from 'src/i18n';
import reducer from 'src/state/reducer';
import {STATE_KEY} from 'src/state/selectors';

export function makeStore(): Store {
    return createStore(combineReducers({[STATE_KEY]: reducer}));
}

/** `intl` stands in for another language: its locale, and messages replacing some English ones. */
export function renderWithStore(
    ui: React.ReactElement,
    store: Store = makeStore(),
    intl: {locale: string; messages: Record<string, string>} = {locale: 'en', messages: {}},
) {
    const result = render(
        <Provider store={store}>
            <IntlProvider
                locale={intl.locale}
                defaultLocale="en"
                timeZone="UTC"
                messages={{...getTranslations(intl.locale), ...intl.messages}}
            >
                {ui}
            </IntlProvider>
        </Provider>,
    );
    return {...result, store};
}

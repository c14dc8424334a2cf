// Renders a component the way Mattermost does for a plugin: inside the host's Redux
// Provider (a real store holding the plugin's reducer under its state key) and an
// IntlProvider in English.

import {render} from '@testing-library/react';
import React from 'react';
import {IntlProvider} from 'react-intl';
import {Provider} from 'react-redux';
import {combineReducers, createStore} from 'redux';
import type {Store} from 'redux';

import reducer from 'src/state/reducer';
import {STATE_KEY} from 'src/state/selectors';

export function makeStore(): Store {
    return createStore(combineReducers({[STATE_KEY]: reducer}));
}

export function renderWithStore(ui: React.ReactElement, store: Store = makeStore()) {
    const result = render(
        <Provider store={store}>
            <IntlProvider locale='en' defaultLocale='en' timeZone='UTC'>
                {ui}
            </IntlProvider>
        </Provider>,
    );
    return {...result, store};
}

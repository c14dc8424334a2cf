// Webpack entry of the harness's "host": the libraries Mattermost's webapp puts on window
// for plugins, besides React and ReactDOM (loaded from their UMD builds). react-redux and
// react-intl ship no UMD build, so the harness bundles them with React as an external.
import PropTypes from 'prop-types';
import * as ReactIntl from 'react-intl';
import * as ReactRedux from 'react-redux';
import * as Redux from 'redux';

window.Redux = Redux;
window.ReactRedux = ReactRedux;
window.ReactIntl = ReactIntl;
window.PropTypes = PropTypes;

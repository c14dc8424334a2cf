// Builds webapp/dist/main.js, the file plugin.json names in webapp.bundle_path.
const path = require('path');

const PLUGIN_ID = require('../plugin.json').id;

module.exports = (env, argv) => ({
    entry: ['./src/index.tsx'],
    resolve: {
        // Lets sources import 'src/...' like Playbooks does; Jest maps the same prefix.
        alias: {src: path.resolve(__dirname, 'src')},
        extensions: ['.js', '.jsx', '.ts', '.tsx'],
    },
    module: {
        rules: [
            {
                test: /\.(js|jsx|ts|tsx)$/,
                exclude: /node_modules/,
                use: {
                    loader: 'babel-loader',

                    // Options live in babel.config.js, which Jest reads too.
                    options: {cacheDirectory: true},
                },
            },
        ],
    },

    // The host webapp sets these libraries on window; using its copies keeps one React
    // (hooks break with two) and one set of Redux/router contexts. The first seven are
    // the starter template's list. react-intl is added because components must read the
    // host's IntlProvider (locale and translations), which a bundled copy cannot see.
    externals: {
        react: 'React',
        'react-dom': 'ReactDOM',
        redux: 'Redux',
        'react-redux': 'ReactRedux',
        'prop-types': 'PropTypes',
        'react-bootstrap': 'ReactBootstrap',
        'react-router-dom': 'ReactRouterDom',
        'react-intl': 'ReactIntl',
    },
    output: {
        devtoolNamespace: PLUGIN_ID,
        path: path.join(__dirname, 'dist'),
        publicPath: '/',
        filename: 'main.js',
        clean: true,
    },

    // The plugin bundle ships only main.js, so production builds carry no source map.
    devtool: argv.mode === 'production' ? false : 'eval-cheap-module-source-map',
    mode: argv.mode ?? 'production',
});

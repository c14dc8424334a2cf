// One Babel configuration for webpack (babel-loader) and Jest (babel-jest), as in the
// Mattermost starter template: Babel only strips types and transpiles; `tsc --noEmit`
// does the type checking.
module.exports = (api) => {
    const isTest = api.env('test');
    return {
        presets: [
            [
                '@babel/preset-env',
                {
                    // Browsers that run current Mattermost releases all support ES2020 syntax,
                    // so async/await stays native and no regenerator runtime is needed.
                    targets: isTest ? {node: 'current'} : {chrome: '110', firefox: '115', safari: '16', edge: '110'},

                    // "auto": ES modules for webpack (tree shaking), CommonJS under Jest.
                    modules: 'auto',
                },
            ],

            // Classic runtime (React.createElement): `react` is an external bound to the
            // host's window.React, while the automatic runtime would bundle our own copy
            // of react/jsx-runtime, which reaches into the internals of one React version.
            ['@babel/preset-react', {runtime: 'classic'}],
            ['@babel/preset-typescript', {allExtensions: true, isTSX: true}],
        ],
    };
};

// Runs in the browser after the plugin bundle: plays the Mattermost webapp's part. It
// builds a store whose reducers the plugin extends through registerReducer, calls the
// plugin's initialize() with a registry that records registrations, and renders the
// registered Dashboard custom setting and root components like the System Console does.
(function boot() {
  const { React, ReactDOM, Redux, ReactRedux, ReactIntl } = window;
  const pluginId = window.HARNESS.pluginId;
  const reducers = { entities: (s = window.HARNESS.entities) => s };
  const store = Redux.createStore(Redux.combineReducers(reducers));
  const registrations = [];
  const registry = new Proxy(
    {},
    {
      get:
        (_t, method) =>
        (...args) => {
          registrations.push({ method: String(method), args });
          if (method === 'registerReducer') {
            reducers[`plugins-${pluginId}`] = args[0];
            store.replaceReducer(Redux.combineReducers(reducers));
          }
          return `registration-${registrations.length}`;
        },
    },
  );
  window.harnessRegistrations = registrations;
  window.harnessStore = store;
  const plugin = window.registeredPlugins[pluginId];
  plugin.initialize(registry, store);

  const setting = registrations.find((r) => r.method === 'registerAdminConsoleCustomSetting');
  const roots = registrations.filter((r) => r.method === 'registerRootComponent').map((r) => r.args[0]);
  const Dashboard = setting.args[1];
  const config = { PluginSettings: { Plugins: { [pluginId]: { sidecarurl: '/mm-backup' } } } };
  const h = React.createElement;
  const page = h(
    'div',
    { className: 'admin-console' },
    h(
      'div',
      { className: 'admin-console__wrapper' },
      h(
        'div',
        { className: 'admin-console__content' },
        h('h3', { className: 'admin-console__header' }, 'Backup & Disaster Recovery'),
        h(
          'div',
          { className: 'form-group', id: `PluginSettings.Plugins.${pluginId}.dashboard` },
          h(Dashboard, {
            id: `PluginSettings.Plugins.${pluginId}.dashboard`,
            config,
            value: undefined,
            disabled: false,
            setByEnv: false,
            onChange: () => undefined,
          }),
        ),
      ),
    ),
    ...roots.map((Root, i) => h(Root, { key: i })),
  );
  ReactDOM.createRoot(document.getElementById('root')).render(
    h(
      ReactRedux.Provider,
      { store },
      h(ReactIntl.IntlProvider, { locale: 'en', defaultLocale: 'en', timeZone: 'UTC' }, page),
    ),
  );
})();

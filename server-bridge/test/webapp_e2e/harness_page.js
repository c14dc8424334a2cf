// Runs in the browser after the plugin bundle: plays the Mattermost webapp's part. It
// builds a store whose reducers the plugin extends through registerReducer, calls the
// plugin's initialize() with a registry that records registrations, and renders the
// registered Dashboard custom setting and root components like the System Console does: in
// the Console's markup (schema_admin_settings.tsx render(): header, wrapper, content, the
// form.form-horizontal of settings, and the admin-console-save bar with its Save button).
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

  // The Console's save hooks (schema_admin_settings.tsx): setSaveNeeded enables Save, Save runs
  // the registered actions after the (here: nothing to patch) config save; an error keeps it on.
  const saveActions = [];
  const consoleSave = { needed: 0, saves: 0 };
  window.harnessConsole = consoleSave;
  function ConsolePage() {
    const [saveNeeded, setSaveNeeded] = React.useState(false);
    const [saving, setSaving] = React.useState(false);
    const [error, setError] = React.useState('');
    const hooks = React.useMemo(
      () => ({
        setSaveNeeded: () => {
          consoleSave.needed++;
          setSaveNeeded(true);
        },
        registerSaveAction: (fn) => saveActions.push(fn),
        unRegisterSaveAction: (fn) => saveActions.splice(saveActions.indexOf(fn), 1),
      }),
      [],
    );
    const save = async () => {
      setSaving(true);
      consoleSave.saves++;
      const results = await Promise.all(saveActions.map((a) => a()));
      const failed = results.find((r) => r.error && r.error.message);
      setError(failed ? failed.error.message : '');
      setSaveNeeded(Boolean(failed));
      setSaving(false);
    };
    const settingId = `PluginSettings.Plugins.${pluginId}.sidecarurl`;
    // The markup of admin_console/text_setting.tsx through setting.tsx, for the plain setting above ours.
    const sidecarRow = h(
      'div',
      { className: 'form-group', 'data-testid': settingId },
      h('label', { className: 'control-label col-sm-4', htmlFor: settingId }, 'Sidecar URL:'),
      h(
        'div',
        { className: 'col-sm-8' },
        h('input', { id: settingId, className: 'form-control', type: 'text', defaultValue: '/mm-backup' }),
        h('div', { className: 'help-text' }, 'Where the browser reaches the mm-backup sidecar.'),
      ),
    );
    return h(
      'div',
      { className: 'wrapper--fixed' },
      h('div', { className: 'admin-console__header' }, 'Backup & Disaster Recovery'),
      h(
        'div',
        { className: 'admin-console__wrapper' },
        h(
          'div',
          { className: 'admin-console__content' },
          h(
            'form',
            { className: 'form-horizontal', role: 'form', onSubmit: (e) => e.preventDefault() },
            sidecarRow,
            h(Dashboard, {
              id: `PluginSettings.Plugins.${pluginId}.dashboard`,
              label: 'Backups:',
              helpText: 'Sidecar status and backups.',
              config,
              value: undefined,
              disabled: false,
              setByEnv: false,
              onChange: () => undefined,
              ...hooks,
            }),
          ),
        ),
      ),
      h(
        'div',
        { className: 'admin-console-save' },
        h(
          'button',
          {
            type: 'button',
            className: `btn save-button${saveNeeded ? ' btn-primary' : ''}`,
            disabled: !saveNeeded || saving,
            'data-testid': 'console-save',
            onClick: () => {
              save().catch(() => undefined);
            },
          },
          saving ? 'Saving Config...' : 'Save',
        ),
        h('div', { className: 'error-message', 'data-testid': 'errorMessage' }, error),
      ),
    );
  }
  const page = h('div', { className: 'admin-console' }, h(ConsolePage), ...roots.map((Root, i) => h(Root, { key: i })));
  ReactDOM.createRoot(document.getElementById('root')).render(
    h(
      ReactRedux.Provider,
      { store },
      h(ReactIntl.IntlProvider, { locale: 'en', defaultLocale: 'en', timeZone: 'UTC' }, page),
    ),
  );
})();

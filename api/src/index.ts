/** The HTTP API between the mm-backup sidecar and the System Console plugin. */
export * from './version';
export * from './common';
export * from './jobs';
export * from './status';
export * from './snapshots';
export * from './browse';
export * from './restore';
export * from './settings';
export * from './connect';
export * from './components';
export * from './pitr';
export * from './routes';

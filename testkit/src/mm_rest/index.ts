/**
 * In-memory Mattermost REST stand-in for tests: behaves like the real server for the routes the
 * sidecar uses and checks all traffic against the official API description (openapi-subset.yaml).
 */
export { createMattermostRest, type MattermostRest, type MattermostRestOptions, type Violation } from './server';
export { MmStore, type LoginResult } from './state';
export { RELAXATIONS, UNSPECIFIED_ROUTES, specPath, loadSpec } from './openapi_check';
export { FAKE_SETTING } from './config';
export { seedBot, world, type Call, type World } from './world';
export type {
  CommandResponse,
  MmAccessTokenRecord,
  MmBotRecord,
  MmChannelRecord,
  MmCommandHook,
  MmCommandRecord,
  MmConfigInput,
  MmConfigSubset,
  MmPostRecord,
  MmSession,
  MmTeamRecord,
  MmUserRecord,
  SeenPost,
} from './types';

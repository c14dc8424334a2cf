export const API_VERSION = 2;

/**
 * Mattermost's file store drivers and the keys that say where a store keeps its files, as
 * Mattermost's own source names them (read at mattermost/mattermost):
 * - server/platform/shared/filestore/filesstore.go @ 095d44d3ed01ba2874af52e0fb633bc66093f3bc:
 *   `driverS3 = "amazons3"`, `driverLocal = "local"`, `driverAzure = "azureblob"`; the Azure
 *   backend is built from FileSettings.AzureStorageAccount, AzureContainer, AzurePathPrefix.
 * - server/public/model/config.go @ 004a635ec62b9de56a34b845132892520e9f6da8 (FileSettings):
 *   DedicatedExportStore (default false), ExportDriverName (default "local"), ExportDirectory
 *   (default "./data/", the same default as Directory), ExportAmazonS3Bucket, ExportAmazonS3PathPrefix.
 * - server/config/utils.go (desanitize) and the export backend settings name the Azure export
 *   keys ExportAzureStorageAccount, ExportAzureContainer (ExportAzurePathPrefix by the same rule).
 * Only local stores are on this disk; S3 and Azure stores are named and left where they are.
 */
import type { MmConfig } from './mm_config';

export const DRIVER_LOCAL = 'local';
export const DRIVER_S3 = 'amazons3';
export const DRIVER_AZURE = 'azureblob';

/** `prefix` is '' for the file store, 'Export' for the dedicated export store (FileSettings.Export*). */
export function describeRemoteStore(mm: MmConfig, driver: string, prefix: '' | 'Export'): string {
  const fs = mm.FileSettings ?? {};
  const str = (key: string): string | undefined => {
    const v = fs[`${prefix}${key}`];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const under = (p: string | undefined) => (p ? ` under ${JSON.stringify(p)}` : '');
  if (driver === DRIVER_S3) {
    const bucket = str('AmazonS3Bucket');
    return `S3${bucket ? ` bucket ${JSON.stringify(bucket)}` : ''}${under(str('AmazonS3PathPrefix'))}`;
  }
  if (driver === DRIVER_AZURE) {
    const container = str('AzureContainer');
    const account = str('AzureStorageAccount');
    return (
      `Azure Blob Storage${container ? ` container ${JSON.stringify(container)}` : ''}` +
      `${account ? ` of account ${JSON.stringify(account)}` : ''}${under(str('AzurePathPrefix'))}`
    );
  }
  return `a store this version does not know (driver ${JSON.stringify(driver)})`;
}

/** FileSettings.DedicatedExportStore: a JSON boolean, or the string an MM_ override leaves when the key was absent. */
export function flagSetting(mm: MmConfig, section: string, field: string): boolean {
  const v = mm[section]?.[field];
  return v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
}

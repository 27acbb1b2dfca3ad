/** @module MAAS event-type catalogue and levels (spec maas-events.md §1.3, §3.3). */

// AUDIT sits below DEBUG numerically but is not a threshold level: a level=AUDIT query matches only level 0 (§1.3).
export const MAAS_LEVELS = { AUDIT: 0, DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 } as const;

export type MaasLevelName = keyof typeof MAAS_LEVELS;

const LEVEL_NAME_BY_NUMBER: ReadonlyMap<number, MaasLevelName> = new Map(
  (Object.entries(MAAS_LEVELS) as [MaasLevelName, number][]).map(([name, n]) => [n, name]),
);

/** The level name for an exact MAAS level number (e.g. 30 → 'WARNING'); undefined for numbers MAAS does not define. */
export function maasLevelName(n: number): MaasLevelName | undefined {
  return LEVEL_NAME_BY_NUMBER.get(n);
}

export interface MaasEventType {
  readonly name: string;
  readonly level: MaasLevelName;
  readonly description: string;
}

// Table order and descriptions are kept verbatim (typos included) because the v2 API shows the description as the
// event's `type`, so clients match on these exact strings.
const ROWS: readonly (readonly [string, MaasLevelName, string])[] = [
  ['NODE_POWERED_ON', 'DEBUG', 'Node powered on'],
  ['NODE_POWERED_OFF', 'DEBUG', 'Node powered off'],
  ['NODE_POWER_ON_FAILED', 'ERROR', 'Failed to power on node'],
  ['NODE_POWER_OFF_FAILED', 'ERROR', 'Failed to power off node'],
  ['NODE_POWER_CYCLE_FAILED', 'ERROR', 'Failed to power cycle node'],
  ['NODE_POWER_QUERY_FAILED', 'WARNING', "Failed to query node's BMC"],
  ['NODE_TFTP_REQUEST', 'DEBUG', 'TFTP Request'],
  ['NODE_HTTP_REQUEST', 'DEBUG', 'HTTP Request'],
  ['NODE_PXE_REQUEST', 'DEBUG', 'PXE Request'],
  ['NODE_INSTALLATION_FINISHED', 'DEBUG', 'Installation complete'],
  ['NODE_DISKS_ERASED', 'INFO', 'Disks erased'],
  ['NODE_CHANGED_STATUS', 'DEBUG', 'Node changed status'],
  ['NODE_STATUS_EVENT', 'DEBUG', 'Node status event'],
  ['NODE_COMMISSIONING_EVENT', 'DEBUG', 'Node commissioning'],
  ['NODE_COMMISSIONING_EVENT_FAILED', 'ERROR', 'Node commissioning failure'],
  ['NODE_INSTALL_EVENT', 'DEBUG', 'Node installation'],
  ['NODE_INSTALL_EVENT_FAILED', 'ERROR', 'Node installation failure'],
  ['NODE_POST_INSTALL_EVENT_FAILED', 'ERROR', 'Node post-installation failure'],
  ['NODE_ENTERING_RESCUE_MODE_EVENT', 'DEBUG', 'Node entering rescue mode'],
  ['NODE_ENTERING_RESCUE_MODE_EVENT_FAILED', 'ERROR', 'Node entering rescue mode failure'],
  ['NODE_EXITING_RESCUE_MODE_EVENT', 'DEBUG', 'Node exiting rescue mode'],
  ['NODE_EXITING_RESCUE_MODE_EVENT_FAILED', 'ERROR', 'Node exiting rescue mode failure'],
  ['NODE_HARDWARE_SYNC_BMC', 'INFO', 'Node BMC hardware sync state change'],
  ['NODE_HARDWARE_SYNC_BLOCK_DEVICE', 'INFO', 'Node Block Device hardware sync state change'],
  ['NODE_HARDWARE_SYNC_CPU', 'INFO', 'Node CPU hardware sync state change'],
  ['NODE_HARDWARE_SYNC_INTERFACE', 'INFO', 'Node Interface hardware sync state change'],
  ['NODE_HARDWARE_SYNC_MEMORY', 'INFO', 'Node Memory hardware sync state change'],
  ['NODE_HARDWARE_SYNC_PCI_DEVICE', 'INFO', 'Node PCI Device hardware sync state change'],
  ['NODE_HARDWARE_SYNC_USB_DEVICE', 'INFO', 'Node USB Device hardware sync state chage'],
  ['NODE_RELEASE_SCRIPTS_OK', 'INFO', 'Release scripts executed successfully.'],
  ['REQUEST_NODE_START_COMMISSIONING', 'DEBUG', 'User starting node commissioning'],
  ['REQUEST_NODE_ABORT_COMMISSIONING', 'DEBUG', 'User aborting node commissioning'],
  ['REQUEST_NODE_START_TESTING', 'DEBUG', 'User starting node testing'],
  ['REQUEST_NODE_ABORT_TESTING', 'DEBUG', 'User aborting node testing'],
  ['REQUEST_NODE_OVERRIDE_FAILED_TESTING', 'DEBUG', "User overrode 'Failed testing' status"],
  ['REQUEST_NODE_ABORT_DEPLOYMENT', 'DEBUG', 'User aborting deployment'],
  ['REQUEST_NODE_ACQUIRE', 'DEBUG', 'User acquiring node'],
  ['REQUEST_NODE_ERASE_DISK', 'DEBUG', 'User erasing disk'],
  ['REQUEST_NODE_ABORT_ERASE_DISK', 'DEBUG', 'User aborting disk erase'],
  ['REQUEST_NODE_RELEASE', 'DEBUG', 'User releasing node'],
  ['REQUEST_NODE_MARK_FAILED', 'DEBUG', 'User marking node failed'],
  ['REQUEST_NODE_MARK_FAILED_SYSTEM', 'ERROR', 'Marking node failed'],
  ['REQUEST_NODE_MARK_BROKEN', 'DEBUG', 'User marking node broken'],
  ['REQUEST_NODE_MARK_BROKEN_SYSTEM', 'ERROR', 'Marking node broken'],
  ['REQUEST_NODE_MARK_FIXED', 'DEBUG', 'User marking node fixed'],
  ['REQUEST_NODE_MARK_FIXED_SYSTEM', 'DEBUG', 'Marking node fixed'],
  ['REQUEST_NODE_LOCK', 'DEBUG', 'User locking node'],
  ['REQUEST_NODE_UNLOCK', 'DEBUG', 'User unlocking node'],
  ['REQUEST_NODE_START_DEPLOYMENT', 'DEBUG', 'User starting deployment'],
  ['REQUEST_NODE_START', 'DEBUG', 'User powering up node'],
  ['REQUEST_NODE_STOP', 'DEBUG', 'User powering down node'],
  ['REQUEST_NODE_START_RESCUE_MODE', 'DEBUG', 'User starting rescue mode'],
  ['REQUEST_NODE_STOP_RESCUE_MODE', 'DEBUG', 'User stopping rescue mode'],
  ['REQUEST_CONTROLLER_REFRESH', 'DEBUG', 'Starting refresh of controller hardware and networking information'],
  ['REQUEST_RACK_CONTROLLER_ADD_CHASSIS', 'DEBUG', 'Querying chassis and enlisting all machines'],
  ['RACK_IMPORT_WARNING', 'WARNING', 'Rack import warning'],
  ['RACK_IMPORT_ERROR', 'ERROR', 'Rack import error'],
  ['RACK_IMPORT_INFO', 'DEBUG', 'Rack import info'],
  ['REGION_IMPORT_WARNING', 'WARNING', 'Region import warning'],
  ['REGION_IMPORT_ERROR', 'ERROR', 'Region import error'],
  ['REGION_IMPORT_INFO', 'DEBUG', 'Region import info'],
  ['SCRIPT_RESULT_ERROR', 'ERROR', 'Script result lookup or storage error'],
  ['AUTHORISATION', 'AUDIT', 'Authorisation'],
  ['SETTINGS', 'AUDIT', 'Settings'],
  ['NODE', 'AUDIT', 'Node'],
  ['IMAGES', 'AUDIT', 'Images'],
  ['POD', 'AUDIT', 'Pod'],
  ['TAG', 'AUDIT', 'Tag'],
  ['NETWORKING', 'AUDIT', 'Networking'],
  ['ZONES', 'AUDIT', 'Zones'],
  ['CONFIGURING_STORAGE', 'INFO', 'Configuring storage'],
  ['INSTALLING_OS', 'INFO', 'Installing OS'],
  ['CONFIGURING_OS', 'INFO', 'Configuring OS'],
  ['REBOOTING', 'INFO', 'Rebooting'],
  ['PERFORMING_PXE_BOOT', 'INFO', 'Performing PXE boot'],
  ['LOADING_EPHEMERAL', 'INFO', 'Loading ephemeral'],
  ['NEW', 'INFO', 'New'],
  ['COMMISSIONING', 'INFO', 'Commissioning'],
  ['FAILED_COMMISSIONING', 'INFO', 'Failed commissioning'],
  ['TESTING', 'INFO', 'Testing'],
  ['FAILED_TESTING', 'INFO', 'Failed testing'],
  ['READY', 'INFO', 'Ready'],
  ['DEPLOYING', 'INFO', 'Deploying'],
  ['DEPLOYED', 'INFO', 'Deployed'],
  ['IMAGE_DEPLOYED', 'INFO', 'Image Deployed'],
  ['RELEASING', 'INFO', 'Releasing'],
  ['RELEASED', 'INFO', 'Released'],
  ['ENTERING_RESCUE_MODE', 'INFO', 'Entering rescue mode'],
  ['RESCUE_MODE', 'INFO', 'Rescue mode'],
  ['FAILED_EXITING_RESCUE_MODE', 'INFO', 'Failed exiting rescue mode'],
  ['EXITED_RESCUE_MODE', 'INFO', 'Exited rescue mode'],
  ['GATHERING_INFO', 'INFO', 'Gathering information'],
  ['RUNNING_TEST', 'INFO', 'Running test'],
  ['SCRIPT_DID_NOT_COMPLETE', 'INFO', 'Script'],
  ['SCRIPT_RESULT_CHANGED_STATUS', 'DEBUG', 'Script result'],
  ['ABORTED_DISK_ERASING', 'INFO', 'Aborted disk erasing'],
  ['ABORTED_COMMISSIONING', 'INFO', 'Aborted commissioning'],
  ['ABORTED_DEPLOYMENT', 'INFO', 'Aborted deployment'],
  ['ABORTED_TESTING', 'INFO', 'Aborted testing'],
  ['BOOT_SOURCE', 'INFO', 'Boot source'],
  ['BOOT_SOURCE_SELECTION', 'INFO', 'Boot source selection'],
];

export const MAAS_EVENT_TYPES: readonly MaasEventType[] = Object.freeze(
  ROWS.map(([name, level, description]) => Object.freeze({ name, level, description })),
);

const MAAS_EVENT_TYPE_BY_NAME: ReadonlyMap<string, MaasEventType> = new Map(MAAS_EVENT_TYPES.map((t) => [t.name, t]));

export function maasEventType(name: string): MaasEventType | undefined {
  return MAAS_EVENT_TYPE_BY_NAME.get(name);
}

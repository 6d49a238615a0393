// The starter lives in scripts/servers/ so bench/ (built by tsconfig.build.json) can start RGW too.
export { startRgw, RGW_HELP, type RgwServer } from '../../scripts/servers/rgw.js';

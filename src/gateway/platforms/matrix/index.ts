/**
 * Front door of the Matrix adapter: the composition root builds a `MatrixPlatform` when a homeserver
 * and credentials are configured. Nothing else in the folder is meant to be imported from outside.
 */
export { countMatrixLength } from './matrix-limits.ts';
export {
  ENCRYPTION_NOTICE,
  type MatrixConfig,
  MatrixPlatform,
  type MatrixPlatformOptions,
} from './matrix-platform.ts';

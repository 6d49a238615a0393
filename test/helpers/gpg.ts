export * from '../../scripts/world/gpg.js';

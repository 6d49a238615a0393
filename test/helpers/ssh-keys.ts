export * from '../../scripts/world/ssh-keys.js';

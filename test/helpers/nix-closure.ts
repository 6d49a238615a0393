export * from '../../scripts/world/nix-closure.js';

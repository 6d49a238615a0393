export * from '../../scripts/world/service-package.js';

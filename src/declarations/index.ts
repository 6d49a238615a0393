// Public API of src/declarations: YAML → schema → normalised types → named rules. Errors are data.
export { loadDeclarations } from './load-declarations.js';
export { loadAgentConfig, loadAgentConfigText } from './load-agent-config.js';
export { setsForMachine, setAppliesTo, effectiveLabels, servicePathConflicts, type SelectingMachine } from './select-sets.js';
export { formatIssue, sortIssues, type DeclarationIssue, type Result } from './result.js';
export { parseDuration, formatDuration } from '../util/duration.js';
export { isValidTimeZone, timeZoneOffsetMinutes } from './time-zone.js';
export { AGENT_DEFAULTS, detectPlatform } from './agent-config-defaults.js';
export { BUILTIN_DEFAULTS } from './normalise-set.js';
export { RULES } from './rules.js';
export type * from './types.js';

// The rule lives in core/ so that training/ and review/ schemas apply the same one.
export { isWellFormed } from '../core/well-formed.js';

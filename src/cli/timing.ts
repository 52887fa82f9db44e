// the helper lives at the root: the provider and the catalog mark their phases too
export {timing} from '../timing.js';

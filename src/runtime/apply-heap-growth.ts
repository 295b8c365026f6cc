// Imported for its side effect, as the first import of main.ts.
import { applyHeapGrowth } from './heap-growth.js';

applyHeapGrowth();

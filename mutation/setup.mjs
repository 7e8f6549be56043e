// Loaded into every test file that Stryker runs (stryker.config.mjs). A property that fails under a mutant has
// killed it: shrinking the counterexample to a small one only costs time, seconds per mutant on a busy machine.
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), endOnFailure: true });

// Package flaketest holds the tests of the repository's flake.nix and
// flake.lock: they parse with Nix, the lock matches the inputs, the pinned
// revisions carry real hashes, the vendorHash matches go.mod, and the
// module and lib outputs behave as documented. It has no non-test code.
package flaketest

// Package archtest holds the test that keeps presage's package graph as
// docs/architecture.md draws it: which of presage's packages each package
// may import. It has no code of its own.
package archtest

// Package metrics holds what presage reads: a Sample of a Signal, the
// Snapshot of the latest sample of every signal of every service, and the
// Source contract that the Prometheus source (metrics/prom) and the
// simulator (sim) implement. Grid is a series on a regular step (a load
// trace, say); package metrics/file reads and writes presage's CSV files.
//
// Missing data is never zero: a signal that was not read, or read as NaN or
// ±Inf, is absent from the Snapshot (Snapshot.Get reports false), and a
// sample older than the stale limit is not Usable. The controller takes no
// action and no revert on data it does not have.
package metrics

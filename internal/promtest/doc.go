// Package promtest starts a real Prometheus server for tests: the
// `prometheus` binary (Debian's package; scripts/test.sh installs it) on a
// free loopback port, with a temporary storage folder and a generated
// configuration that scrapes the given targets every second. It touches
// nothing outside the test's temporary folders and the loopback interface.
//
// Tests skip, with a message saying how to install it, only when the
// binary is absent; CI always has it.
package promtest

package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// NASAMinutes returns the path of the NASA-HTTP requests-per-minute trace
// in the shared data folder named by $PRESAGE_DATA, and skips the test with
// a message saying what to set when it is not there.
func NASAMinutes(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PRESAGE_DATA")
	if dir == "" {
		t.Skip("PRESAGE_DATA is not set: set it to the shared data folder (with nasa-http/) to read the real trace")
	}
	path := filepath.Join(dir, "nasa-http", "nasa_requests_per_minute.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("PRESAGE_DATA=%s has no NASA trace: %v", dir, err)
	}
	return path
}

package replay

import "io"

// Result is what both kinds of replay give besides their JSON form: Report
// (Replay) and SignalsReport (ReplaySignals). `presage replay` writes
// either the same way.
type Result interface {
	// WriteTable writes the comparison table.
	WriteTable(io.Writer) error
	// WriteDecisions writes the decision log: one line per action.
	WriteDecisions(io.Writer) error
	// WriteHTML writes a self-contained HTML report with charts.
	WriteHTML(io.Writer) error
}

var (
	_ Result = (*Report)(nil)
	_ Result = (*SignalsReport)(nil)
)

package config

import (
	"errors"

	"github.com/prometheus/prometheus/promql/parser"
)

// promql parses the signals' queries as Prometheus would, with its
// experimental functions, fill modifiers and unquoted UTF-8 names allowed:
// check rejects what no Prometheus accepts, not what one accepts only
// behind a feature flag.
var promql = parser.NewParser(parser.Options{
	EnableExperimentalFunctions: true,
	EnableBinopFillModifiers:    true,
	EnableUnquotedUTF8Names:     true,
})

// checkPromQL returns why q does not parse as a PromQL expression, nil when
// it does: the first of the parser's errors, with its position in q
// ("1:9: parse error: unclosed left parenthesis").
func checkPromQL(q string) error {
	_, err := promql.ParseExpr(q)
	if errs, ok := errors.AsType[parser.ParseErrors](err); ok && len(errs) > 0 {
		return &errs[0]
	}
	return err
}

package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

// SweepParam is one axis of a sweep: a configuration field, by its YAML
// path, and the values to try, as YAML.
//
// A path is keys separated by dots, each key optionally followed by an
// index, "[2]", or "[*]" for every element: "services[0].forecast.trigger",
// "services[*].playbook[1].warmup", "global.interval". A path whose first
// key is not a top-level key of the configuration (global, source,
// services) is a shorthand for every service: "forecast.trigger" is
// "services[*].forecast.trigger".
type SweepParam struct {
	Path   string
	Values []string
}

// ErrSweep is wrapped by the errors of a malformed -sweep.
var ErrSweep = errors.New("replay: sweep")

// topLevel holds the top-level keys of a configuration.
var topLevel = map[string]bool{"global": true, "source": true, "services": true}

// ParseSweep parses "path=v1,v2,...". Values are split at commas outside
// brackets, braces and quotes, so "a=[1,2],[3]" tries two lists; a quote or
// bracket left open is an error.
func ParseSweep(s string) (SweepParam, error) {
	path, vals, ok := strings.Cut(s, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" || strings.TrimSpace(vals) == "" {
		return SweepParam{}, fmt.Errorf("%w %q: want path=v1,v2,... (e.g. forecast.trigger=0.3,0.5,0.7)", ErrSweep, s)
	}
	if _, err := splitPath(path); err != nil {
		return SweepParam{}, err
	}
	p := SweepParam{Path: path}
	depth, quote, start := 0, rune(0), 0
	for i, r := range vals + "," {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '{':
			depth++
		case r == ']' || r == '}':
			depth--
		case r == ',' && depth == 0:
			v := strings.TrimSpace(vals[start:i])
			if v == "" {
				return SweepParam{}, fmt.Errorf("%w %q: empty value", ErrSweep, s)
			}
			p.Values = append(p.Values, v)
			start = i + 1
		}
	}
	if quote != 0 || depth != 0 {
		return SweepParam{}, fmt.Errorf("%w %q: a quote or bracket is not closed", ErrSweep, s)
	}
	return p, nil
}

// pathKey is one key of a sweep path; index is -1 without an index, -2
// for [*].
type pathKey struct {
	key   string
	index int
}

func splitPath(path string) ([]pathKey, error) {
	var out []pathKey
	for _, part := range strings.Split(path, ".") {
		k := pathKey{key: part, index: -1}
		if i := strings.IndexByte(part, '['); i >= 0 {
			if !strings.HasSuffix(part, "]") {
				return nil, fmt.Errorf("%w: path %q: %q has no closing ]", ErrSweep, path, part)
			}
			k.key = part[:i]
			switch idx := part[i+1 : len(part)-1]; idx {
			case "*":
				k.index = -2
			default:
				n, err := strconv.Atoi(idx)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("%w: path %q: index %q is not a number ≥ 0 or *", ErrSweep, path, idx)
				}
				k.index = n
			}
		}
		if k.key == "" {
			return nil, fmt.Errorf("%w: path %q: empty key", ErrSweep, path)
		}
		out = append(out, k)
	}
	if !topLevel[out[0].key] {
		out = append([]pathKey{{key: "services", index: -2}}, out...)
	}
	return out, nil
}

// SweepPoint is one point of a sweep's grid: a value for each parameter
// and the configuration with those values set.
type SweepPoint struct {
	Values []string
	Config *config.Config
}

// SweepConfigs returns the grid of params (their product, the first
// parameter varying slowest) over the configuration file data (named
// file): each point sets its values in the YAML tree, then decodes and
// validates the result with config.Load, so a bad value is reported as
// config reports it, by its YAML path. Relative file paths are relative
// to file's directory, as config.LoadFile makes them. Every problem of
// every point is returned, joined.
func SweepConfigs(data []byte, file string, params []SweepParam) ([]SweepPoint, error) {
	var paths [][]pathKey
	for _, p := range params {
		ks, err := splitPath(p.Path)
		if err != nil {
			return nil, err
		}
		if len(p.Values) == 0 {
			return nil, fmt.Errorf("%w: %s has no value", ErrSweep, p.Path)
		}
		paths = append(paths, ks)
	}
	var points []SweepPoint
	var errs []error
	seen := map[string]bool{}
	report := func(err error) {
		if !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	idx := make([]int, len(params))
	for {
		values := make([]string, len(params))
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		ok := true
		for i, p := range params {
			values[i] = p.Values[idx[i]]
			if err := setPath(&root, paths[i], values[i]); err != nil {
				report(fmt.Errorf("-sweep %s=%s: %w", p.Path, values[i], err))
				ok = false
			}
		}
		if ok {
			out, err := yaml.Marshal(&root)
			if err != nil {
				return nil, err
			}
			cfg, err := config.Load(out, "")
			if err != nil {
				// The lines are those of the edited tree, not of the
				// file: name the point and the path instead.
				for _, e := range configErrors(err) {
					report(fmt.Errorf("-sweep %s: %s", pointLabel(params, values), e))
				}
			} else {
				cfg.SetDirectory(filepath.Dir(file))
				points = append(points, SweepPoint{Values: values, Config: cfg})
			}
		}
		// Next point: the last parameter varies fastest.
		k := len(idx) - 1
		for ; k >= 0; k-- {
			if idx[k]++; idx[k] < len(params[k].Values) {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return points, nil
}

// configErrors formats config's errors as "path: message", without the
// line.
func configErrors(err error) []string {
	es := config.Errors(err)
	if len(es) == 0 {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range es {
		c := *e
		c.File, c.Line = "", 0
		out = append(out, c.Error())
	}
	return out
}

// setPath sets the node at path in the document root to value (parsed as
// YAML; a value that does not parse is a string), creating missing mapping
// keys on the way.
func setPath(root *yaml.Node, path []pathKey, value string) error {
	doc := root
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
		}
		doc = doc.Content[0]
	}
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil || len(v.Content) == 0 {
		v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	} else {
		v = *v.Content[0]
	}
	return setIn(doc, path, "", &v)
}

func setIn(n *yaml.Node, path []pathKey, at string, v *yaml.Node) error {
	k := path[0]
	name := k.key
	if at != "" {
		name = at + "." + k.key
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: %s is not a mapping", name, orRoot(at))
	}
	var child *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k.key {
			child = n.Content[i+1]
		}
	}
	last := len(path) == 1
	if child == nil {
		if k.index != -1 {
			return fmt.Errorf("%s: no such list", name)
		}
		child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if last {
			child = v
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.key}, child)
		if last {
			return nil
		}
		return setIn(child, path[1:], name, v)
	}
	if k.index == -1 {
		if last {
			*child = *v
			return nil
		}
		return setIn(child, path[1:], name, v)
	}
	if child.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s: not a list", name)
	}
	items := child.Content
	first, end := k.index, k.index+1
	if k.index == -2 {
		first, end = 0, len(items)
	} else if k.index >= len(items) {
		return fmt.Errorf("%s[%d]: the list has %d elements", name, k.index, len(items))
	}
	for i := first; i < end; i++ {
		at := fmt.Sprintf("%s[%d]", name, i)
		if last {
			*items[i] = *v
			continue
		}
		if err := setIn(items[i], path[1:], at, v); err != nil {
			return err
		}
	}
	return nil
}

func orRoot(at string) string {
	if at == "" {
		return "the document"
	}
	return at
}

// SweepRow is one policy's result at one point of a sweep.
type SweepRow struct {
	// Values holds the point's value of each parameter, in order.
	Values []string `json:"values"`
	PolicyResult
	// Pareto reports a row on the Pareto front of incidents against total
	// cost: no other row has fewer incidents at no more cost, or less
	// cost with no more incidents.
	Pareto bool `json:"pareto"`
}

// SweepResult is a sweep: the parameters and one row per point and policy,
// in grid order. Its JSON form is what `presage replay -sweep -json`
// writes.
type SweepResult struct {
	Kind   string     `json:"kind"` // "sweep"
	Params []string   `json:"params"`
	Rows   []SweepRow `json:"rows"`
}

// Sweep replays every point with the options o (o.Config is replaced by
// the point's) and marks the Pareto front of incidents against cost over
// all rows. The points run one after the other, each replay's policies
// concurrently.
func Sweep(ctx context.Context, params []SweepParam, points []SweepPoint, o ReplayOptions) (*SweepResult, error) {
	res := &SweepResult{Kind: "sweep"}
	for _, p := range params {
		res.Params = append(res.Params, p.Path)
	}
	for _, pt := range points {
		o.Config = pt.Config
		rep, err := Replay(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("sweep %s: %w", pointLabel(params, pt.Values), err)
		}
		for _, p := range rep.Policies {
			res.Rows = append(res.Rows, SweepRow{Values: pt.Values, PolicyResult: p})
		}
	}
	for i := range res.Rows {
		a := &res.Rows[i]
		a.Pareto = true
		for j := range res.Rows {
			b := &res.Rows[j]
			if b.Incidents <= a.Incidents && b.Cost.Total <= a.Cost.Total &&
				(b.Incidents < a.Incidents || b.Cost.Total < a.Cost.Total) {
				a.Pareto = false
				break
			}
		}
	}
	return res, nil
}

func pointLabel(params []SweepParam, values []string) string {
	var parts []string
	for i, p := range params {
		parts = append(parts, p.Path+"="+values[i])
	}
	return strings.Join(parts, " ")
}

// WriteTable writes one line per point and policy: the values, incidents,
// breach minutes, actions, cost, lead time and precision, and a * on the
// Pareto front of incidents against cost.
func (r *SweepResult) WriteTable(w io.Writer) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, p := range r.Params {
		fmt.Fprintf(tw, "%s\t", p)
	}
	fmt.Fprintln(tw, "policy\tincidents\tbreach min\tactions\tcost total\tlead median\tprecision\tpareto\t")
	for _, row := range r.Rows {
		for _, v := range row.Values {
			fmt.Fprintf(tw, "%s\t", v)
		}
		front := ""
		if row.Pareto {
			front = "*"
		}
		lead := "-"
		if row.Name != policy.None.String() {
			lead = minutes(row.LeadTimeMinutes.Median)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%d\t%.0f\t%s\t%s\t%s\t\n", row.Name, row.Incidents, row.BreachMinutes, row.Actions,
			row.Cost.Total, lead, pct(row.Precision), front)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\npareto *: no other row has fewer incidents at no more cost, or less cost with no more incidents.\n")
	_, err := w.Write(b.Bytes())
	return err
}

package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// validator gathers the problems Validate and CheckFiles find, each with
// its YAML path.
type validator struct{ errs []*Error }

func (v *validator) add(path, msg string) {
	v.errs = append(v.errs, &Error{Path: path, Msg: clipN(msg, maxMsg)})
}

// addf formats the problem, quoting at most maxEcho characters of each
// string argument (the values from the file), so that a 50 MB field is not
// echoed whole; choices (oneOf) are kept whole.
func (v *validator) addf(path, format string, args ...any) {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s)
		}
	}
	v.add(path, fmt.Sprintf(format, args...))
}

// maxEcho is how many characters of a value from the file an error quotes;
// maxMsg bounds a whole message (one from a library, quoting what it will).
const (
	maxEcho = 80
	maxMsg  = 500
)

// clip returns s cut to maxEcho characters, with an ellipsis when it was
// longer.
func clip(s string) string { return clipN(s, maxEcho) }

func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return joinErrors(v.errs)
}

// positive reports x unless it is a finite number > 0.
func (v *validator) positive(path string, x float64) {
	if !(x > 0) || math.IsInf(x, 0) {
		v.addf(path, "%s must be > 0", num(x))
	}
}

// nonNegative reports x unless it is a finite number ≥ 0.
func (v *validator) nonNegative(path string, x float64) {
	if !(x >= 0) || math.IsInf(x, 0) {
		v.addf(path, "%s must be >= 0", num(x))
	}
}

// fraction reports x unless it is within [0, 1].
func (v *validator) fraction(path string, x float64) {
	if !(x >= 0 && x <= 1) {
		v.addf(path, "%s must be within [0, 1]", num(x))
	}
}

// finite reports x if it is NaN or infinite.
func (v *validator) finite(path string, x float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		v.addf(path, "%s must be a finite number", num(x))
		return false
	}
	return true
}

func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// oneOf formats a list of choices: "a, b or c".
func oneOf(choices ...string) choiceList {
	if len(choices) == 1 {
		return choiceList(choices[0])
	}
	return choiceList(strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1])
}

// choiceList is a list of the valid values, which addf does not clip.
type choiceList string

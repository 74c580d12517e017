package controller

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/atomicfile"
	"github.com/presage-dev/presage/policy"
)

// The state file (global.state_file) keeps the policy state of every
// service across restarts: what Controller.State returns, by service name.
// A controller starts from it (Options.State) and rewrites it after every
// change (Options.OnStateChange).
//
// It is JSON, version 2 (StateVersion):
//
//	{
//	  "version": 2,
//	  "services": {
//	    "checkout": {
//	      "engaged": [
//	        {"action": "async-queue", "fingerprint": "5f0c…", "from": 0, "to": 1, "at": "2026-01-05T10:00:00Z"}
//	      ],
//	      "prewarmed": [ … as engaged … ],
//	      "changed": {"async-queue": "2026-01-05T10:00:00Z"},
//	      "clear_since": "…",
//	      "prewarm_clear_since": "…"
//	    }
//	  }
//	}
//
// Every engagement names its service and action, and carries the action's
// fingerprint (ActionFingerprint: its actuator kind, target and bounds when
// it was saved). The policy keeps playbook indexes in memory; SaveState and
// LoadState translate. Every time in it is wall-clock time (see Run).
//
// LoadState checks every record against the configuration. A record of an
// unknown service or action, with a value out of the action's [min, max], a
// duplicate of an earlier record of the same action, a fingerprint that no
// longer matches (the action now changes something else, or within other
// bounds) or a change that goes away from the action's engaged value is
// set aside: never applied, logged, counted by New
// (presage_state_records_rejected_total{reason}) and listed by
// presage check -state. Engagements that remain are stacked in playbook
// order; a gap below an engaged action is filled with an engagement that
// changed nothing, as Reconcile does, so the engaged ones are still
// reverted in order. A time more than one interval in the future (a wall
// clock stepped back, or a file an older presage wrote under -speed in step
// time) is clamped to the load's time, with a warning.
//
// The unversioned file of earlier presage versions (version 1: a map of
// service name to policy.State, engagements by playbook index) is migrated,
// since losing it would leave every engaged change in force with no one to
// revert it. An index cannot be mapped with certainty (the playbook it
// referred to is gone), so each record is migrated to the action at its
// index only when that is plausible: the index is in the playbook, from and
// to lie within that action's bounds, and the change goes the way the
// action engages (towards its engaged value, away from its baseline). A
// reorder that would revert an action to another's value (a CPU factor of
// 0 below its min of 0.4) fails those checks and is set aside. Each
// migrated record is logged as a warning naming the action it was mapped
// to, so that an operator can check it; who reordered the playbook since,
// and between actions of the same bounds and direction, should start with
// -state-reset instead. The next save writes version 2.

// StateVersion is the version of the state file SaveState writes.
const StateVersion = 2

// The reasons a load sets a record aside: the reason label of
// presage_state_records_rejected_total.
const (
	RejectUnknownService = "unknown_service" // no configured service has the name
	RejectUnknownAction  = "unknown_action"  // the service has no such action (or index, version 1)
	RejectOutOfBounds    = "out_of_bounds"   // from or to outside the action's [min, max]
	RejectDuplicate      = "duplicate"       // a second record of the same action
	RejectFingerprint    = "fingerprint"     // the action's kind, target or bounds changed
	RejectDirection      = "direction"       // the change goes away from the action's engaged value
)

// RejectReasons lists every rejection reason.
var RejectReasons = []string{RejectUnknownService, RejectUnknownAction, RejectOutOfBounds, RejectDuplicate,
	RejectFingerprint, RejectDirection}

// StateRejection is one record of the state file that a load set aside.
type StateRejection struct {
	Service string // the service the record is under
	Record  string // where it is in the file, e.g. engaged[1]
	Action  string // the action it names; "" for a whole service
	Reason  string // one of RejectReasons
	Detail  string
}

func (r StateRejection) String() string {
	what := "services." + r.Service
	if r.Record != "" {
		what += "." + r.Record
	}
	if r.Action != "" {
		what += fmt.Sprintf(" (%s)", r.Action)
	}
	return fmt.Sprintf("%s: set aside (%s): %s", what, r.Reason, r.Detail)
}

// LoadedState is what LoadState restored.
type LoadedState struct {
	// State is the policy state by service, for Options.State; nil
	// without a file.
	State map[string]policy.State
	// Version is the file's format version (1 for the unversioned format);
	// 0 without a file.
	Version int
	// Rejected lists the records set aside, for Options.StateRejected.
	Rejected []StateRejection
	// Warnings are the records restored with a change: migrated from
	// version 1, a time clamped, a gap filled.
	Warnings []string
}

// stateFile is version 2 of the state file.
type stateFile struct {
	Version  int                     `json:"version"`
	Services map[string]stateService `json:"services"`
}

type stateService struct {
	Engaged           []stateEngagement    `json:"engaged"`
	Prewarmed         []stateEngagement    `json:"prewarmed,omitempty"`
	Changed           map[string]time.Time `json:"changed,omitempty"`
	ClearSince        time.Time            `json:"clear_since,omitzero"`
	PrewarmClearSince time.Time            `json:"prewarm_clear_since,omitzero"`
}

type stateEngagement struct {
	Action      string    `json:"action"`
	Fingerprint string    `json:"fingerprint"`
	From        float64   `json:"from"`
	To          float64   `json:"to"`
	At          time.Time `json:"at"`
	NoChange    bool      `json:"no_change,omitempty"`
}

// ActionFingerprint returns a short stable hash of what a playbook action
// changes and within which bounds: its actuator kind, its target (the
// simulator knob, the webhook URL, or the Kubernetes object: target,
// namespace, name, API resource, selector, containers and key) and its min
// and max. A hash, not the fields: the state file holds no webhook URL.
func ActionFingerprint(a config.Action) string {
	parts := []string{a.Actuator.Kind}
	switch a.Actuator.Kind {
	case config.ActuatorSim:
		parts = append(parts, a.Actuator.Knob)
	case config.ActuatorWebhook:
		parts = append(parts, a.Actuator.Webhook.URL)
	case config.ActuatorKube:
		k := a.Actuator.Kube
		parts = append(parts, k.Target, k.Namespace, k.Name, k.Group, k.Version, k.Resource, k.Selector,
			strings.Join(k.Containers, ","), k.Key)
	}
	parts = append(parts, strconv.FormatFloat(a.Min, 'g', -1, 64), strconv.FormatFloat(a.Max, 'g', -1, 64))
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// LoadState reads the state file an earlier run wrote and checks it
// against cfg, at now (wall-clock): see the comment above StateVersion. A
// missing file, or no file (path ""), is no state. A file that cannot be
// parsed as a state (not JSON, null, {}, an unknown version) is an error
// that names it. Rejections and warnings are logged on log (nil discards)
// and returned.
func LoadState(path string, cfg *config.Config, now time.Time, log *slog.Logger) (LoadedState, error) {
	if path == "" {
		return LoadedState{}, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return LoadedState{}, nil
	}
	if err != nil {
		return LoadedState{}, fmt.Errorf("state file: %w", err)
	}
	l, err := DecodeState(b, cfg, now)
	if err != nil {
		return LoadedState{}, fmt.Errorf("state file %s: %w (start with -state-reset to start afresh)", path, err)
	}
	if log != nil {
		for _, w := range l.Warnings {
			log.Warn("state file: "+w, "file", path)
		}
		for _, r := range l.Rejected {
			log.Warn("state file: record set aside, not applied", "file", path, "service", r.Service, "record", r.Record,
				"action", r.Action, "reason", r.Reason, "detail", r.Detail)
		}
	}
	return l, nil
}

// DecodeState parses a state file's content and checks it against cfg at
// now, as LoadState does.
func DecodeState(b []byte, cfg *config.Config, now time.Time) (LoadedState, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return LoadedState{}, err
	}
	if top == nil {
		return LoadedState{}, errors.New("holds null, not a state")
	}
	if len(top) == 0 {
		return LoadedState{}, errors.New("holds {}: no version and no service, not a state presage wrote")
	}
	r := restorer{cfg: cfg, now: now, interval: time.Duration(cfg.Global.Interval), out: map[string]policy.State{}}
	if v, ok := top["version"]; ok && len(v) > 0 && v[0] != '{' {
		var f stateFile
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return LoadedState{}, err
		}
		if f.Version != StateVersion {
			return LoadedState{}, fmt.Errorf("version %d is not one this presage reads (%d, or the unversioned format)", f.Version, StateVersion)
		}
		for _, name := range sortedKeys(f.Services) {
			r.service(name, f.Services[name])
		}
		return LoadedState{State: r.out, Version: StateVersion, Rejected: r.rejected, Warnings: r.warnings}, nil
	}
	var old map[string]policy.State
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&old); err != nil {
		return LoadedState{}, fmt.Errorf("unversioned format: %w", err)
	}
	r.v1 = true
	for _, name := range sortedKeys(old) {
		r.service(name, fromV1(old[name]))
	}
	return LoadedState{State: r.out, Version: 1, Rejected: r.rejected, Warnings: r.warnings}, nil
}

// fromV1 carries a version 1 state into version 2's shape, each
// engagement naming its playbook index ("#2") in place of an action.
func fromV1(st policy.State) stateService {
	conv := func(es []policy.Engagement) []stateEngagement {
		var out []stateEngagement
		for _, e := range es {
			out = append(out, stateEngagement{Action: "#" + strconv.Itoa(e.Step), From: e.From, To: e.To, At: e.At, NoChange: e.NoChange})
		}
		return out
	}
	return stateService{Engaged: conv(st.Engaged), Prewarmed: conv(st.Prewarmed), Changed: st.Changed,
		ClearSince: st.ClearSince, PrewarmClearSince: st.PrewarmClearSince}
}

// restorer checks a file's records against the configuration.
type restorer struct {
	cfg      *config.Config
	now      time.Time
	interval time.Duration
	v1       bool // records name playbook indexes
	out      map[string]policy.State
	rejected []StateRejection
	warnings []string
}

func (r *restorer) reject(service, record, action, reason, format string, args ...any) {
	r.rejected = append(r.rejected, StateRejection{Service: service, Record: record, Action: action, Reason: reason,
		Detail: fmt.Sprintf(format, args...)})
}

// clamp returns t, or now when t is more than one interval ahead of now.
func (r *restorer) clamp(t time.Time, service, what string) time.Time {
	if t.After(r.now.Add(r.interval)) {
		r.warnings = append(r.warnings, fmt.Sprintf("services.%s.%s: %s is in the future (now %s): clamped to now",
			service, what, t.UTC().Format(time.RFC3339), r.now.UTC().Format(time.RFC3339)))
		return r.now
	}
	return t
}

func (r *restorer) service(name string, in stateService) {
	sc := r.cfg.Service(name)
	if sc == nil {
		n := 0
		for _, list := range []struct {
			name string
			es   []stateEngagement
		}{{"engaged", in.Engaged}, {"prewarmed", in.Prewarmed}} {
			for k, e := range list.es {
				r.reject(name, fmt.Sprintf("%s[%d]", list.name, k), e.Action, RejectUnknownService,
					"no service %q in the configuration (renamed or removed?): %s %g → %g not reverted", name, e.Action, e.From, e.To)
				n++
			}
		}
		if n == 0 {
			r.reject(name, "", "", RejectUnknownService, "no service %q in the configuration (renamed or removed?); nothing engaged in it", name)
		}
		return
	}
	seen := map[int]bool{}
	engaged := map[int]policy.Engagement{}
	top := -1
	for k, e := range in.Engaged {
		if i, ok := r.engagement(sc, seen, fmt.Sprintf("engaged[%d]", k), e); ok {
			engaged[i] = r.policyEngagement(name, fmt.Sprintf("engaged[%d].at", k), i, e)
			top = max(top, i)
		}
	}
	var warm []policy.Engagement
	for k, e := range in.Prewarmed {
		if i, ok := r.engagement(sc, seen, fmt.Sprintf("prewarmed[%d]", k), e); ok {
			warm = append(warm, r.policyEngagement(name, fmt.Sprintf("prewarmed[%d].at", k), i, e))
		}
	}
	var st policy.State
	for i := 0; i <= top; i++ {
		e, ok := engaged[i]
		if !ok {
			// A gap below an engaged action: a prewarm of it is taken over
			// by the stack, as the policy does; else it changed nothing.
			b := sc.Playbook[i].BaselineValue()
			e = policy.Engagement{Step: i, From: b, To: b, At: r.now, NoChange: true}
			for k, w := range warm {
				if w.Step == i {
					e = w
					warm = slices.Delete(warm, k, k+1)
					break
				}
			}
			r.warnings = append(r.warnings, fmt.Sprintf("services.%s: %s, below an engaged action, has no engaged record: engaged at %g, so that the stack reverts in order",
				name, sc.Playbook[i].Name, e.To))
		}
		st.Engaged = append(st.Engaged, e)
	}
	st.Prewarmed = warm
	for _, a := range sortedKeys(in.Changed) {
		if sc.Action(a) == nil {
			r.reject(name, "changed", a, RejectUnknownAction, "no action %q in the service's playbook: its last change time is dropped", a)
			continue
		}
		if st.Changed == nil {
			st.Changed = map[string]time.Time{}
		}
		st.Changed[a] = r.clamp(in.Changed[a], name, "changed."+a)
	}
	st.ClearSince = r.clamp(in.ClearSince, name, "clear_since")
	if len(st.Prewarmed) > 0 {
		st.PrewarmClearSince = r.clamp(in.PrewarmClearSince, name, "prewarm_clear_since")
	}
	r.out[name] = st
}

func (r *restorer) policyEngagement(service, what string, i int, e stateEngagement) policy.Engagement {
	return policy.Engagement{Step: i, From: e.From, To: e.To, At: r.clamp(e.At, service, what), NoChange: e.NoChange}
}

// engagement checks one engagement record of service sc and returns the
// playbook index of its action; ok is false when it is set aside.
func (r *restorer) engagement(sc *config.Service, seen map[int]bool, record string, e stateEngagement) (int, bool) {
	name := sc.Name
	i := -1
	if r.v1 {
		n, err := strconv.Atoi(strings.TrimPrefix(e.Action, "#"))
		if err != nil || n < 0 || n >= len(sc.Playbook) {
			r.reject(name, record, e.Action, RejectUnknownAction, "index %s is not in the playbook of %d actions: %g → %g not reverted",
				strings.TrimPrefix(e.Action, "#"), len(sc.Playbook), e.From, e.To)
			return 0, false
		}
		i = n
	} else {
		for k := range sc.Playbook {
			if sc.Playbook[k].Name == e.Action {
				i = k
			}
		}
		if i < 0 {
			r.reject(name, record, e.Action, RejectUnknownAction, "no action %q in the service's playbook (renamed or removed?): %g → %g not reverted",
				e.Action, e.From, e.To)
			return 0, false
		}
	}
	a := sc.Playbook[i]
	switch {
	case seen[i]:
		r.reject(name, record, a.Name, RejectDuplicate, "a second record of %s (%g → %g): the first one is kept", a.Name, e.From, e.To)
		return 0, false
	case !r.v1 && e.Fingerprint != ActionFingerprint(a):
		r.reject(name, record, a.Name, RejectFingerprint, "%s's fingerprint is %s, the record's %q: its kind, target or bounds changed since; %g → %g not reverted",
			a.Name, ActionFingerprint(a), e.Fingerprint, e.From, e.To)
		return 0, false
	case !within(e.From, a) || !within(e.To, a):
		r.reject(name, record, a.Name, RejectOutOfBounds, "%g → %g is outside %s's bounds [%g, %g]: not reverted", e.From, e.To, a.Name, a.Min, a.Max)
		return 0, false
	case r.v1 && !e.NoChange && !towardsEngaged(e, a):
		r.reject(name, record, a.Name, RejectDirection, "%g → %g goes away from %s's engaged value %g: the index no longer names the action it did",
			e.From, e.To, a.Name, a.EngagedValue())
		return 0, false
	}
	seen[i] = true
	if r.v1 {
		r.warnings = append(r.warnings, fmt.Sprintf("services.%s.%s: unversioned record of playbook index %d migrated to action %s (%g → %g); if the playbook was reordered since it was written, stop and start with -state-reset",
			name, record, i, a.Name, e.From, e.To))
	}
	return i, true
}

// within reports whether v is a finite value within the action's bounds.
func within(v float64, a config.Action) bool {
	return !math.IsNaN(v) && v >= a.Min && v <= a.Max
}

// towardsEngaged reports whether an engagement's change goes the way the
// action engages: up when its engaged value is above its baseline, else
// down.
func towardsEngaged(e stateEngagement, a config.Action) bool {
	if a.EngagedValue() < a.BaselineValue() {
		return e.To <= e.From
	}
	return e.To >= e.From
}

// SaveState writes the state file atomically: a reader, or a controller
// that starts after a crash, finds the previous state or the new one.
// Engagements are written by action name with the action's fingerprint; a
// service or a playbook index that cfg does not have is left out.
func SaveState(path string, cfg *config.Config, st map[string]policy.State) error {
	return atomicfile.Write(path, func(w io.Writer) error { return EncodeState(w, cfg, st) })
}

// EncodeState writes st as a version 2 state file.
func EncodeState(w io.Writer, cfg *config.Config, st map[string]policy.State) error {
	f := stateFile{Version: StateVersion, Services: map[string]stateService{}}
	for name, s := range st {
		sc := cfg.Service(name)
		if sc == nil {
			continue
		}
		conv := func(es []policy.Engagement) []stateEngagement {
			out := []stateEngagement{}
			for _, e := range es {
				if e.Step < 0 || e.Step >= len(sc.Playbook) {
					continue
				}
				a := sc.Playbook[e.Step]
				out = append(out, stateEngagement{Action: a.Name, Fingerprint: ActionFingerprint(a), From: e.From, To: e.To, At: e.At, NoChange: e.NoChange})
			}
			return out
		}
		ss := stateService{Engaged: conv(s.Engaged), Changed: s.Changed, ClearSince: s.ClearSince, PrewarmClearSince: s.PrewarmClearSince}
		if len(s.Prewarmed) > 0 {
			ss.Prewarmed = conv(s.Prewarmed)
		}
		f.Services[name] = ss
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

var (
	_ actuators.Actuator = (*Flag)(nil)
	_ actuators.Reader   = (*Flag)(nil)
	_ actuators.Planner  = (*Flag)(nil)
	_ actuators.Tracker  = (*Flag)(nil)
)

// Flag sets a key of a ConfigMap: 1 writes on, 0 writes off. The value and
// its record (the annotation FlagPrefix+key) change in one update, so
// there is no moment when one exists without the other.
type Flag struct {
	base
	name    string
	key     string
	on, off string
}

func newFlag(b base, k config.Kube) (*Flag, error) {
	if k.Name == "" || k.Key == "" {
		return nil, fmt.Errorf("kube: flag: name and key are required")
	}
	if k.On == k.Off {
		return nil, fmt.Errorf("kube: flag: on and off are both %q", k.On)
	}
	f := &Flag{base: b, name: k.Name, key: k.Key, on: k.On, off: k.Off}
	f.log = f.log.With("object", f.what())
	return f, nil
}

func (f *Flag) what() string { return fmt.Sprintf("configmap %s/%s key %s", f.ns, f.name, f.key) }

func (f *Flag) annotation() string { return FlagPrefix + f.key }

// flagRecord is the JSON of a flag's annotation. Original is nil when the
// key was absent.
type flagRecord struct {
	Original *string   `json:"original"`
	Set      string    `json:"set"`
	At       time.Time `json:"at,omitzero"`
}

// flagLive is the ConfigMap as read and how it stands against the record.
type flagLive struct {
	cm  *corev1.ConfigMap
	rec flagRecord
	st  state
}

func (f *Flag) read(ctx context.Context) (flagLive, error) {
	cm, err := f.c.core.CoreV1().ConfigMaps(f.ns).Get(ctx, f.name, metav1.GetOptions{})
	if err != nil {
		return flagLive{}, fmt.Errorf("kube: get %s: %w", f.what(), err)
	}
	l := flagLive{cm: cm}
	raw, recorded := cm.Annotations[f.annotation()]
	if !recorded {
		return l, nil
	}
	if err := json.Unmarshal([]byte(raw), &l.rec); err != nil {
		l.st = overridden // a broken record is not presage's to keep
		return l, nil
	}
	live, present := cm.Data[f.key]
	switch {
	case present && live == l.rec.Set:
		l.st = engaged
	case !present && l.rec.Original == nil, present && l.rec.Original != nil && live == *l.rec.Original:
		l.st = stale
	default:
		l.st = overridden
	}
	return l, nil
}

// value maps a ConfigMap value onto the knob: on is 1, off or absent 0.
func (f *Flag) value(v string, present bool) (float64, error) {
	switch {
	case !present || v == f.off:
		return 0, nil
	case v == f.on:
		return 1, nil
	}
	return 0, fmt.Errorf("kube: %s is %q, neither on (%q) nor off (%q)", f.what(), v, f.on, f.off)
}

// Current returns 1 when the key is on, 0 when it is off or absent.
func (f *Flag) Current(ctx context.Context) (float64, error) {
	l, err := f.read(ctx)
	if err != nil {
		return 0, err
	}
	v, ok := l.cm.Data[f.key]
	return f.value(v, ok)
}

// Tracked returns the change an earlier presage recorded and that is in
// force.
func (f *Flag) Tracked(ctx context.Context) (actuators.Tracked, bool, error) {
	l, err := f.read(ctx)
	if err != nil || l.st != engaged {
		return actuators.Tracked{}, false, err
	}
	from := 0.0
	if o := l.rec.Original; o != nil {
		if from, err = f.value(*o, true); err != nil {
			from = 0 // an original neither on nor off: restored as it was on revert
		}
	}
	to, err := f.value(l.rec.Set, true)
	if err != nil {
		return actuators.Tracked{}, false, err
	}
	return actuators.Tracked{From: from, To: to, At: l.rec.At}, true, nil
}

// Plan reads the ConfigMap: a value someone else changed since presage
// set it is left as it is (reason Overridden).
func (f *Flag) Plan(ctx context.Context, a actuators.Action) (actuators.Action, string, string, error) {
	l, err := f.read(ctx)
	if err != nil {
		return a, "", "", err
	}
	if l.st != overridden || a.Op != actuators.Revert {
		return a, "", "", nil
	}
	p := a
	v, ok := l.cm.Data[f.key]
	if cur, err := f.value(v, ok); err == nil {
		p.From, p.To = cur, cur
	} else {
		p.To = p.From
	}
	return p, actuators.Overridden, fmt.Sprintf("%s is %q, presage set %q: someone else changed it; presage leaves it", f.what(), v, l.rec.Set), nil
}

// Apply writes on (a.To 1) or off (0); a revert restores the recorded
// original, the key's absence included. The value and its record change in
// one update, retried on conflicts.
func (f *Flag) Apply(ctx context.Context, a actuators.Action) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	want := f.off
	if a.To >= 0.5 {
		want = f.on
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := f.read(ctx)
		if err != nil {
			return err
		}
		cm := l.cm.DeepCopy()
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		live, present := cm.Data[f.key]
		if l.st == overridden {
			f.yield(f.what(), l.rec.Set, live)
			delete(cm.Annotations, f.annotation())
			if a.Op == actuators.Engage {
				// A new engagement (after a restart) starts afresh.
				l.st = untracked
			}
		}
		switch {
		case l.st == overridden:
			// A revert leaves the value: only the record goes.
		case a.Op == actuators.Revert && l.st == engaged:
			if o := l.rec.Original; o != nil {
				cm.Data[f.key] = *o
			} else {
				delete(cm.Data, f.key)
			}
			delete(cm.Annotations, f.annotation())
		case a.Op == actuators.Revert || present && live == want:
			if l.st == stale {
				delete(cm.Annotations, f.annotation())
			}
		default:
			rec := flagRecord{Set: want, At: a.At.UTC()}
			if l.st == engaged {
				rec.Original = l.rec.Original
			} else if present {
				rec.Original = &live
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			cm.Data[f.key] = want
			cm.Annotations[f.annotation()] = string(b)
		}
		if maps.Equal(cm.Data, l.cm.Data) && maps.Equal(cm.Annotations, l.cm.Annotations) {
			return nil
		}
		if _, err := f.c.core.CoreV1().ConfigMaps(f.ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
			return err
		}
		f.log.Info("flag set", "op", a.Op, "from", live, "to", cm.Data[f.key])
		return f.at(pointChanged)
	})
	if err != nil {
		return fmt.Errorf("kube: %s %s: %w", a.Op, f.what(), err)
	}
	return nil
}

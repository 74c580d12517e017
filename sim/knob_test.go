package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

func TestKnob(t *testing.T) {
	ctx := context.Background()
	p := NewPlant(config.Plant{}, 1)
	for _, tt := range []struct {
		knob    string
		to      float64
		initial float64
	}{
		{KnobQueue, 1, 0},
		{KnobReplicas, 2, 0},
		{KnobCPULimit, 0.4, 1},
	} {
		t.Run(tt.knob, func(t *testing.T) {
			k := NewKnob(p, tt.knob)
			if k.Name() != tt.knob {
				t.Errorf("Name() = %q", k.Name())
			}
			if v, err := k.Current(ctx); err != nil || v != tt.initial {
				t.Errorf("Current() = %v, %v; want %v", v, err, tt.initial)
			}
			a := actuators.Action{Service: "web", Action: tt.knob, Op: actuators.Engage, From: tt.initial, To: tt.to}
			for range 2 { // idempotent
				if err := k.Apply(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			if v, err := k.Current(ctx); err != nil || v != tt.to {
				t.Errorf("Current() after Apply = %v, %v; want %v", v, err, tt.to)
			}
		})
	}
	p.Step(10, time.Minute)
	if st := p.State(); st.Queue != 1 || st.Replicas != 2 || st.CPULimit != 0.4 {
		t.Errorf("plant state %+v after the knobs", st)
	}

	bad := NewKnob(p, "disk")
	if err := bad.Apply(ctx, actuators.Action{To: 1}); !errors.Is(err, ErrUnknownKnob) {
		t.Errorf("Apply on an unknown knob: %v", err)
	}
	if _, err := bad.Current(ctx); !errors.Is(err, ErrUnknownKnob) {
		t.Errorf("Current on an unknown knob: %v", err)
	}
	if err := NewKnob(p, KnobQueue).Apply(ctx, actuators.Action{To: 0.5}); err == nil {
		t.Error("Apply of queue 0.5 succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := NewKnob(p, KnobQueue).Apply(cctx, actuators.Action{To: 0}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with a cancelled context: %v", err)
	}
}

func TestSourceKnob(t *testing.T) {
	svc := &Service{Name: "web", Plant: NewPlant(config.Plant{}, 1), Load: flat(1)}
	src, err := NewSource([]*Service{svc}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Knob("api", KnobQueue); err == nil {
		t.Error("knob of an unknown service")
	}
	if _, err := src.Knob("web", "disk"); !errors.Is(err, ErrUnknownKnob) {
		t.Errorf("unknown knob: %v", err)
	}
	k, err := src.Knob("web", KnobCPULimit)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Apply(context.Background(), actuators.Action{To: 0.5}); err != nil {
		t.Fatal(err)
	}
	if v, _ := svc.Plant.Get(KnobCPULimit); v != 0.5 {
		t.Errorf("cpu_limit %v, want 0.5", v)
	}
	if src.Plant("web") != svc.Plant || src.Plant("api") != nil {
		t.Error("Plant lookup")
	}
}

func TestNewKnobNilPlant(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	NewKnob(nil, KnobQueue)
}

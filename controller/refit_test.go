package controller

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

// TestSteadyRefitsBackOff: on a load the model forecasts exactly, every
// warm refit leaves the forecast where it was, and the hourly schedule is
// passed over once, then three times, then seven times in a row, and no
// more than seven (refitBackoffMax).
func TestSteadyRefitsBackOff(t *testing.T) {
	n := 26 * 60
	load := make([]float64, n)
	for i := range load {
		load[i] = 50 + 20*math.Sin(2*math.Pi*float64(i)/60)
	}
	cfg, err := config.Load([]byte(strings.Replace(testConfig, "period: 0s", "period: 1h", 1)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rec := actuators.NewRecorder(nil)
	ctl, err := New(Options{Config: cfg, Source: &script{lat: repeat(0.1, n), load: load}, Mode: policy.Predictive,
		Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}})
	if err != nil {
		t.Fatal(err)
	}
	s := ctl.services[0]
	var fits []int // steps at which a Holt-Winters model was fitted
	for i := range n {
		before := s.fc
		if err := ctl.Step(t.Context(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.fc.(*model.HoltWinters); ok && s.fc != before {
			fits = append(fits, i)
		}
	}
	// 02:00 the first fit (two periods of history), 03:00 the first warm
	// refit, steady: 04:00 passed over, 05:00 steady again: three passed,
	// 09:00 steady again: seven passed, 17:00 steady again: seven again.
	if want := []int{120, 180, 300, 540, 1020, 1500}; !slices.Equal(fits, want) {
		t.Errorf("Holt-Winters fits at steps %v, want %v", fits, want)
	}
}

func TestSteady(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []float64
		want bool
	}{
		{name: "same", a: []float64{100, 50}, b: []float64{100, 50}, want: true},
		{name: "within 2%", a: []float64{100, 50}, b: []float64{101.9, 49.1}, want: true},
		{name: "one step moved", a: []float64{100, 50}, b: []float64{100, 52}, want: false},
		{name: "NaN", a: []float64{100, 50}, b: []float64{100, math.NaN()}, want: false},
		{name: "lengths differ", a: []float64{100}, b: []float64{100, 50}, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := steady(tc.a, tc.b); got != tc.want {
				t.Errorf("steady(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

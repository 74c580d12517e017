package controller

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

// TestConfigModelsMatchModelNames keeps config's list of forecast.model
// values (config imports nothing of ours) in step with package model.
func TestConfigModelsMatchModelNames(t *testing.T) {
	got, want := slices.Clone(config.Models), model.Names()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("config.Models = %v, model.Names() = %v", got, want)
	}
}

// TestCombinationModelInTheLoop: forecast.model combination runs the
// backtest selection on the forecast horizon inside the controller.
func TestCombinationModelInTheLoop(t *testing.T) {
	cfg := loadConfig(t)
	cfg.Services[0].Forecast.Model = config.ModelCombination
	cfg.Services[0].Forecast.Period = config.Duration(60 * time.Minute)
	n := 5 * 60
	load := make([]float64, n)
	for i := range load {
		load[i] = 50 + 20*math.Sin(2*math.Pi*float64(i)/60)
	}
	src := &script{lat: repeat(0.1, n), load: load}
	ctl, err := New(Options{Config: cfg, Source: src, Mode: policy.Predictive,
		Actuators: map[string][]actuators.Actuator{"web": {actuators.NewRecorder(nil), actuators.NewRecorder(nil)}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute))
	}
	fc := ctl.services[0].fc
	if fc == nil {
		t.Fatal("no model")
	}
	t.Logf("model in the loop: %s (%T)", fc.Name(), fc)
	f := fc.Forecast(10)
	for h, v := range f {
		want := 50 + 20*math.Sin(2*math.Pi*float64(n+h)/60)
		if math.Abs(v-want) > 3 {
			t.Fatalf("%s forecast step %d = %.2f, want about %.2f", fc.Name(), h+1, v, want)
		}
	}
}

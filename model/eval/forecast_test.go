package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/presage-dev/presage/model"
)

// sines returns n series of hours with a daily cycle, each a little
// higher than the one before.
func sines(n, hours int) []Series {
	out := make([]Series, n)
	for k := range out {
		v := make([]float64, hours)
		for i := range v {
			v[i] = 100 + 10*float64(k) + 30*math.Sin(2*math.Pi*float64(i)/24) + float64(i%7)
		}
		out[k] = Series{ID: fmt.Sprintf("s%d", k), Values: v}
	}
	return out
}

func TestForecastAll(t *testing.T) {
	series := sines(5, 24*14)
	o := ForecastOptions{Settings: model.Settings{Model: model.NameHoltWinters, Seed: 1}, Horizon: 6,
		Periods: []int{24}, Level: 0.8, Paths: 200, Workers: 1}
	one, err := ForecastAll(context.Background(), series, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Workers = 4
	four, err := ForecastAll(context.Background(), series, o)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, four) {
		t.Error("the forecasts depend on the number of workers")
	}
	for i, f := range one {
		if f.ID != series[i].ID || len(f.Values) != 6 || len(f.Lo) != 6 || len(f.Hi) != 6 {
			t.Fatalf("forecast %d: %+v", i, f)
		}
		for j := range f.Values {
			if !(f.Lo[j] <= f.Values[j]+1e-9 && f.Values[j] <= f.Hi[j]+1e-9) {
				t.Errorf("%s step %d: %v not within [%v, %v]", f.ID, j+1, f.Values[j], f.Lo[j], f.Hi[j])
			}
		}
	}

	short := append(sines(1, 100), Series{ID: "short", Values: []float64{1, 2}})
	if _, err := ForecastAll(context.Background(), short, o); err == nil || !strings.Contains(err.Error(), `series "short"`) {
		t.Errorf("a series too short: %v, want an error naming it", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ForecastAll(ctx, series, o); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestParsePeriods(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{in: "0", want: nil},
		{in: "24", want: []int{24}},
		{in: "24,168", want: []int{24, 168}},
		{in: "1", want: nil},
		{in: "-3", err: true},
		{in: "a", err: true},
		{in: "2,3,4", err: true},
	} {
		got, err := ParsePeriods(tc.in)
		if (err != nil) != tc.err || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParsePeriods(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// BenchmarkForecastAllM4Hourly forecasts all 414 M4 Hourly series 48 hours
// ahead in auto mode with 500 paths each, on every core: what presage
// forecast does after reading its input.
func BenchmarkForecastAllM4Hourly(b *testing.B) {
	m4, err := LoadM4Hourly(dataDir(b))
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	o := ForecastOptions{Settings: model.Settings{Model: model.NameAuto, Seed: 1}, Horizon: 48,
		Periods: []int{24, 168}, Level: 0.8, Paths: 500}
	for b.Loop() {
		if _, err := ForecastAll(context.Background(), m4, o); err != nil {
			b.Fatal(err)
		}
	}
}

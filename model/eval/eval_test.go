package eval

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"

	"github.com/presage-dev/presage/model"
)

func equal(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.IsNaN(a[i]) && math.IsNaN(b[i]) {
			continue
		}
		if !scalar.EqualWithinAbsOrRel(a[i], b[i], tol, tol) {
			return false
		}
	}
	return true
}

func TestSMAPE(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		y, f []float64
		want []float64
	}{
		{name: "exact", y: []float64{1, 2}, f: []float64{1, 2}, want: []float64{0, 0}},
		{name: "double", y: []float64{100}, f: []float64{200}, want: []float64{200.0 / 3}},
		{name: "zero forecast", y: []float64{5}, f: []float64{0}, want: []float64{200}},
		{name: "both zero", y: []float64{0}, f: []float64{0}, want: []float64{0}},
		{name: "missing", y: []float64{nan, 4}, f: []float64{1, 2}, want: []float64{nan, 200 * 2.0 / 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SMAPE(tc.y, tc.f); !equal(got, tc.want, 1e-12) {
				t.Errorf("SMAPE = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMASE(t *testing.T) {
	x := []float64{1, 2, 3, 5, 4, 6} // lag 2 differences: 2, 3, 1, 1 → mean 1.75
	if got := MASEScale(x, 2); !scalar.EqualWithinAbs(got, 1.75, 1e-12) {
		t.Errorf("MASEScale = %v, want 1.75", got)
	}
	if got := MASEScale([]float64{1, math.NaN(), 3, 4}, 1); !scalar.EqualWithinAbs(got, 1, 1e-12) {
		t.Errorf("MASEScale with a gap = %v, want 1", got)
	}
	if got := MASEScale([]float64{1}, 24); !math.IsNaN(got) {
		t.Errorf("MASEScale of one value = %v, want NaN", got)
	}
	if got := MASE([]float64{3, 7}, []float64{4, 4}, 2); !equal(got, []float64{0.5, 1.5}, 1e-12) {
		t.Errorf("MASE = %v", got)
	}
	if got := OWA(10, 1, 20, 2); got != 0.5 {
		t.Errorf("OWA = %v, want 0.5", got)
	}
}

func TestNaive2(t *testing.T) {
	// A seasonal series with a constant level: the adjusted series is flat,
	// so Naive2 repeats the season exactly.
	s := []float64{1.5, 0.5, 1.25, 0.75}
	x := make([]float64, 40)
	for i := range x {
		x[i] = 100 * s[i%4]
	}
	for _, tc := range []struct {
		name string
		x    []float64
		h, m int
		want []float64
	}{
		{name: "seasonal", x: x, h: 6, m: 4, want: []float64{150, 50, 125, 75, 150, 50}},
		{name: "phase after an odd length", x: x[:39], h: 2, m: 4, want: []float64{75, 150}},
		{name: "not seasonal: naive", x: []float64{3, 1, 4, 1, 5, 9, 2, 6}, h: 3, m: 2, want: []float64{6, 6, 6}},
		{name: "too short for the test", x: x[:11], h: 2, m: 4, want: []float64{125, 125}},
		{name: "last missing", x: []float64{1, 2, 3, math.NaN()}, h: 1, m: 1, want: []float64{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Naive2(tc.x, tc.h, tc.m); !equal(got, tc.want, 1e-9) {
				t.Errorf("Naive2 = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadM4(t *testing.T) {
	in := `"V1","V2","V3","V4","V5"
"H1",1,2,3,4
"H2",5,6,,
`
	got, err := ReadM4(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "H1" || len(got[0].Values) != 4 || len(got[1].Values) != 2 || got[1].Values[1] != 6 {
		t.Errorf("ReadM4 = %+v", got)
	}
	if _, err := ReadM4(strings.NewReader("V1,V2\nH1,x\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad value: error %v, want one naming line 2", err)
	}
}

func TestReadNASA(t *testing.T) {
	in := `timestamp_edt,requests
1995-08-31 23:45:00,10
1995-08-31 23:50:00,12
1995-08-31 23:55:00,14
1995-09-01 00:00:00,1
`
	got, err := ReadNASA(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{10, 12, 15}; !equal(got.Values, want, 0) {
		t.Errorf("last minute folded: %v, want %v", got.Values, want)
	}
	gap := "timestamp_edt,requests\n1995-07-01 00:00:00,1\n1995-07-01 00:05:00,2\n1995-07-01 00:20:00,3\n"
	got, err = ReadNASA(strings.NewReader(gap))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{1, 2, math.NaN(), math.NaN(), 3}; !equal(got.Values, want, 0) {
		t.Errorf("gap: %v, want %v", got.Values, want)
	}
	for _, bad := range []string{
		"t,r\n1995-07-01 00:00:00,1\n1995-07-01 00:00:00,2\n",
		"t,r\nyesterday,1\n1995-07-01 00:00:00,2\n",
	} {
		if _, err := ReadNASA(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("ReadNASA(%q): error %v, want one naming the line", bad, err)
		}
	}
}

// TestRun scores pure seasonal series: Naive2 has OWA 1 by definition, and
// seasonal naive and auto are (nearly) exact.
func TestRun(t *testing.T) {
	var series []Series
	for k := range 6 {
		v := make([]float64, 24*12)
		for i := range v {
			v[i] = 100 + 30*math.Sin(2*math.Pi*float64(i)/24) + float64(k)
		}
		series = append(series, Series{ID: string(rune('a' + k)), Values: v})
	}
	task := Task{Name: "sine", Series: series, Horizon: 24, Lag: 24, Origins: 2, ClipZero: true}
	res, err := Run(context.Background(), task, []string{model.NameSeasonalNaive, model.NameAuto}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Model != NameNaive2 || res[0].OWA != 1 {
		t.Errorf("first result %+v, want naive2 with OWA 1", res[0])
	}
	if res[1].SMAPE > 1e-9 || res[1].Fits != 12 || res[1].Failed != 0 {
		t.Errorf("seasonal naive on a pure season: %+v", res[1])
	}
	if res[2].SMAPE > 0.01 || res[2].Chosen == nil {
		t.Errorf("auto on a pure season: %+v", res[2])
	}
	var b strings.Builder
	if err := WriteTable(&b, res); err != nil || !strings.Contains(b.String(), "seasonal-naive") {
		t.Errorf("WriteTable: %v\n%s", err, b.String())
	}
}

func TestDataDir(t *testing.T) {
	if _, err := DataDir("/nonexistent/presage-data"); !errors.Is(err, ErrNoData) {
		t.Errorf("missing folder: %v, want ErrNoData", err)
	}
	t.Setenv("PRESAGE_DATA", "")
	if _, err := DataDir(""); !errors.Is(err, ErrNoData) {
		t.Errorf("no folder: %v, want ErrNoData", err)
	}
}

// dataDir returns the shared data folder or skips the test.
func dataDir(t testing.TB) string {
	dir, err := DataDir(os.Getenv("PRESAGE_DATA"))
	if err != nil {
		t.Skipf("skipping: %v (set PRESAGE_DATA to ../shared/data)", err)
	}
	return dir
}

// TestM4Hourly checks the M4 Hourly data and the benchmarks on the last 48
// hours of the training series against the published test-set results
// (their test set is not here, so only roughly).
func TestM4Hourly(t *testing.T) {
	dir := dataDir(t)
	series, err := LoadM4Hourly(dir)
	if errors.Is(err, ErrNoData) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	lengths := map[int]int{}
	for _, s := range series {
		lengths[len(s.Values)]++
	}
	if len(series) != 414 || lengths[700] != 169 || lengths[960] != 245 {
		t.Fatalf("%d series, lengths %v; want 414: 169 of 700, 245 of 960", len(series), lengths)
	}
	if testing.Short() {
		t.Skip("-short: not scoring")
	}
	task := Task{Name: "m4", Series: series, Horizon: 48, Lag: 24, Periods: []int{168}, Origins: 1, ClipZero: true}
	res, err := Run(context.Background(), task, []string{model.NameSeasonalNaive, model.NameAuto}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Published: Naive2 sMAPE 18.383, MASE 2.395; seasonal naive OWA 0.627.
	if n2 := res[0]; !scalar.EqualWithinRel(n2.SMAPE, 18.383, 0.15) || !scalar.EqualWithinRel(n2.MASE, 2.395, 0.15) {
		t.Errorf("naive2 %.3f / %.3f, published 18.383 / 2.395", n2.SMAPE, n2.MASE)
	}
	if sn := res[1]; !scalar.EqualWithinAbs(sn.OWA, 0.627, 0.05) {
		t.Errorf("seasonal naive OWA %.3f, published 0.627", sn.OWA)
	}
	if auto := res[2]; auto.OWA > 0.5 {
		t.Errorf("auto OWA %.3f, want far below seasonal naive's", auto.OWA)
	}
	var b strings.Builder
	WriteTable(&b, res)
	t.Logf("M4 Hourly, last 48 hours held out:\n%s", b.String())
}

func TestNASA(t *testing.T) {
	dir := dataDir(t)
	s, err := LoadNASA(dir)
	if errors.Is(err, ErrNoData) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var missing, zeros int
	for _, v := range s.Values {
		switch {
		case math.IsNaN(v):
			missing++
		case v == 0:
			zeros++
		}
	}
	// 1995-07-01 00:00 to 08-31 23:55 in 5 minutes; 07-28 13:35 to 07-31
	// 23:55 missing; the outage as zeros.
	if len(s.Values) != 62*288 || missing != 989 || zeros < 400 {
		t.Errorf("%d steps, %d missing, %d zeros; want %d, 989, the outage's zeros", len(s.Values), missing, zeros, 62*288)
	}
}

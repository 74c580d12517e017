package replay

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/policy"
)

// chromium returns the path of a Chromium binary, skipping the test when
// there is none.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (Debian: apt-get install -y --no-install-recommends chromium; scripts/test.sh installs it): the report is not rendered")
	return ""
}

// headless runs chromium headless on the page with the extra flags and
// returns its standard output.
func headless(t *testing.T, bin, page string, flags ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, stderr.String())
	}
	return stdout.Bytes()
}

// renderCheck writes a page with write, opens it in headless Chromium and
// checks, from the DOM Chromium built, that it holds charts SVGs, each
// drawing something in colour, and a scorecard of scoreRows rows, and, from
// a screenshot, that each of the colours want covers some of the screen.
func renderCheck(t *testing.T, write func(io.Writer) error, charts, scoreRows int, want ...color.RGBA) {
	t.Helper()
	bin := chromium(t)
	page := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	dom := string(headless(t, bin, page, "--dump-dom"))
	if got := strings.Count(dom, "<svg"); got != charts {
		t.Errorf("the DOM has %d <svg> elements, want %d (one per chart)", got, charts)
	}
	// Every chart draws data: a line of many points, or shapes in colour
	// (axes, ticks and grid are short, black and grey).
	colour := regexp.MustCompile(`(?:stroke|fill):#([0-9A-F]{6})`)
	line := regexp.MustCompile(`<path d="M[^"]{400,}"`)
	for i, svg := range strings.Split(dom, "<svg")[1:] {
		svg = svg[:strings.Index(svg, "</svg>")]
		data := len(line.FindAllString(svg, -1))
		for _, m := range colour.FindAllStringSubmatch(svg, -1) {
			if r, g, b := m[1][0:2], m[1][2:4], m[1][4:6]; r != g || g != b {
				data++
			}
		}
		if data == 0 {
			t.Errorf("chart %d draws no data: no long line, nothing in colour", i+1)
		}
	}
	table := dom[strings.Index(dom, `id="scorecard"`):]
	table = table[:strings.Index(table, "</table>")]
	if got := strings.Count(table, "<tr>") - 1; got != scoreRows {
		t.Errorf("the scorecard has %d rows, want %d", got, scoreRows)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	headless(t, bin, page, "--window-size=1200,3000", "--hide-scrollbars", "--screenshot="+shot)
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range want {
		if n := countNear(img, c); n < 200 {
			t.Errorf("the screenshot has %d pixels of the chart colour %v, want ≥ 200: the charts did not draw", n, c)
		}
	}
}

// countNear counts the pixels within a small distance of c.
func countNear(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	near := func(a uint32, v uint8) bool { d := int(a>>8) - int(v); return d > -24 && d < 24 }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r, c.R) && near(g, c.G) && near(bl, c.B) {
				n++
			}
		}
	}
	return n
}

// TestReportRendersInChromium is the report as a person sees it: the
// short replay's page in headless Chromium has its four charts (load,
// latency, forecast band, actions) and one scorecard row per policy, and
// the plan, predictive and reactive lines and the threshold are on the
// screen.
func TestReportRendersInChromium(t *testing.T) {
	t.Parallel()
	rep := replay(t, loadTestConfig(t, "testdata/replay.short.yaml"))
	renderCheck(t, rep.WriteHTML, 4, 4, colorOf(policy.Plan), colorOf(policy.Predictive), colorOf(policy.Reactive), thresholdRed)
}

// thresholdRed is the colour of the threshold line.
var thresholdRed = color.RGBA{R: 0xcc, A: 0xff}

// TestSignalsReportRendersInChromium does the same for a replay of
// recorded signals: three charts per service, one scorecard row.
func TestSignalsReportRendersInChromium(t *testing.T) {
	t.Parallel()
	rep := replaySignals(t, loadTestConfig(t, "testdata/replay.short.yaml"))
	renderCheck(t, rep.WriteHTML, 3, 1, thresholdRed)
}
